"""Per-scope consent: what a user already approved for an application, and what a request adds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from sandbox.identity.models import ScopeConsent
from sandbox.identity.scopes import SCOPE_DESCRIPTIONS, scopes_allowed_for

if TYPE_CHECKING:
    from collections.abc import Iterable

    from oauth2_provider.models import AbstractApplication

    from sandbox.identity.models import User


@dataclass(frozen=True)
class ConsentPlan:
    """An authorization request split by what the user must still decide.

    Each list keeps the order the client asked in, so the screen reads like the request.
    """

    already_granted: list[str]
    new: list[str]
    refused_by_role: list[str]

    @property
    def scopes_to_issue(self) -> list[str]:
        """What the token carries if the user allows: everything requested that the role permits."""
        return [*self.already_granted, *self.new]

    @property
    def needs_screen(self) -> bool:
        # A refused scope is shown even when nothing is new, so the user learns why it is missing.
        return bool(self.new or self.refused_by_role)


def consent_plan(*, user: User, application: AbstractApplication, requested: Iterable[str]) -> ConsentPlan:
    allowed = scopes_allowed_for(user)
    granted = granted_scopes(user=user, application=application)
    already_granted: list[str] = []
    new: list[str] = []
    refused: list[str] = []
    for scope in dict.fromkeys(requested):  # de-duplicated, order kept
        if scope not in allowed:
            refused.append(scope)
        elif scope in granted:
            already_granted.append(scope)
        else:
            new.append(scope)
    return ConsentPlan(already_granted=already_granted, new=new, refused_by_role=refused)


def granted_scopes(*, user: User, application: AbstractApplication) -> set[str]:
    consent = ScopeConsent.objects.filter(user=user, application=application).first()
    return consent.scopes if consent else set()


@transaction.atomic
def consent_record(*, user: User, application: AbstractApplication, scopes: Iterable[str]) -> ScopeConsent:
    """Adds the approved scopes to what the user had already granted this application."""
    consent, _ = ScopeConsent.objects.select_for_update().get_or_create(user=user, application=application)
    merged = consent.scopes | set(scopes)
    consent.scope = " ".join(sorted(merged))
    consent.save(update_fields=["scope", "updated_at"])
    return consent


def consent_withdraw(*, user: User, application: AbstractApplication) -> None:
    """Forgets every approval, so the next sign-in asks again (the client disconnected)."""
    ScopeConsent.objects.filter(user=user, application=application).delete()


def describe(scopes: Iterable[str]) -> list[tuple[str, str]]:
    return [(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in scopes]
