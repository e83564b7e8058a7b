from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from lib.fields import EncryptedTextField


class User(AbstractUser):
    """A person who signs in with NovaCron; staff operators may have no partner."""

    class Role(models.TextChoices):
        ADMIN = "admin"
        OPERATOR = "operator"
        VIEWER = "viewer"

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, null=True, blank=True, related_name="users"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    novacron_sub = models.CharField(max_length=255, unique=True, null=True, blank=True)
    full_name = models.CharField(max_length=200, blank=True)
    # The IANA zone every page shows times in (lib/times.py). Empty until the browser's own zone is
    # detected on the first sign-in; from then on only the person changes it (accounts page).
    time_zone = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return self.full_name or self.email or self.username


class OAuthToken(models.Model):
    """The user's NovaCron tokens, encrypted at rest.

    `version` goes up with every write of new tokens: a refresh writes back only if it is still
    the version it read (compare-and-swap), so no lock is held while NovaCron is called.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="oauth_token")
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField(blank=True)
    token_type = models.CharField(max_length=20, default="Bearer")
    expires_at = models.DateTimeField()
    scopes = models.JSONField(default=list)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"token of {self.user} (expires {self.expires_at:%Y-%m-%d %H:%M})"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
