"""Sandbox users (partner staff who sign in through the OAuth consent flow) and their consents."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from oauth2_provider.settings import APPLICATION_MODEL


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"


class UserManager(BaseUserManager["User"]):
    """Users sign in with their email address; there is no separate username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("role", Role.ADMIN)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    # Null for NovaCron's own staff, who administer the sandbox but act for no partner.
    partner = models.ForeignKey(
        "core.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # AbstractUser's stubs fix `objects` to Django's username-based manager; this one takes an email.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.email


class ScopeConsent(models.Model):
    """The scopes a user has approved for one client application, accumulated over every consent.

    A later authorization request for scopes inside this set is approved without asking again;
    a request with more scopes asks only about the new ones.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scope_consents"
    )
    application = models.ForeignKey(
        APPLICATION_MODEL, on_delete=models.CASCADE, related_name="scope_consents"
    )
    scope = models.TextField(blank=True, help_text="Space-separated scopes the user approved.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "application"], name="identity_one_consent_per_app"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.application}: {self.scope}"

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())


class SpentAuthorizationCode(models.Model):
    """An authorization code already exchanged, and the tokens it gave (RFC 6749 §4.1.2).

    Presenting it again revokes them. Only the code's SHA-256 is kept: a spent code is still a
    credential while its tokens live.
    """

    code_checksum = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+")
    # The refresh-token family the exchange started: every later refresh token and its access token.
    token_family = models.UUIDField(null=True, blank=True)
    access_token_checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"spent code #{self.pk}"
