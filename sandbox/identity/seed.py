"""Deterministic demo users: an admin, an operator and a viewer per partner, and one staff account."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from sandbox.identity.models import Role, User

if TYPE_CHECKING:
    from sandbox.core.models import Partner

DEMO_PASSWORD = "novacron"
STAFF_EMAIL = "staff@novacron.example"

# Alliterative names make the role obvious in every screenshot and log line.
_FIRST_NAMES: dict[str, tuple[str, ...]] = {
    Role.ADMIN: ("Alice", "Amira", "Arjun", "Ana"),
    Role.OPERATOR: ("Oscar", "Olivia", "Omar", "Otto"),
    Role.VIEWER: ("Victor", "Vera", "Vikram", "Viola"),
}


def partner_slug(partner: Partner) -> str:
    """`partner-acme` → `acme`: the mail domain of the partner's demo users."""
    return str(partner.partner_id).removeprefix("partner-")


@transaction.atomic
def seed_users(partners: Iterable[Partner]) -> list[dict[str, Any]]:
    """Creates or resets the demo users; returns one row per login, for the seed command to print."""
    # One hash for every demo account: the password is public anyway, and hashing once keeps seeding fast.
    password_hash = make_password(DEMO_PASSWORD)
    rows: list[dict[str, Any]] = []
    for index, partner in enumerate(partners):
        for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
            first_name = _FIRST_NAMES[role][index % len(_FIRST_NAMES[role])]
            email = f"{role.value}@{partner_slug(partner)}.example"
            _upsert(
                email, password_hash, partner=partner, role=role, first_name=first_name, last_name=role.label
            )
            rows.append(
                {"email": email, "password": DEMO_PASSWORD, "partner": partner.partner_id, "role": role.value}
            )
    _upsert(
        STAFF_EMAIL,
        password_hash,
        partner=None,
        role=Role.ADMIN,
        first_name="Sandbox",
        last_name="Staff",
        is_staff=True,
        is_superuser=True,
    )
    rows.append({"email": STAFF_EMAIL, "password": DEMO_PASSWORD, "partner": None, "role": "staff"})
    return rows


def _upsert(email: str, password_hash: str, **fields: Any) -> User:
    user, _ = User.objects.update_or_create(email=email, defaults={"password": password_hash, **fields})
    return user


def demo_logins() -> list[dict[str, str]]:
    """The seeded partner logins present in the database, for the sandbox's sign-in page."""
    users = (
        User.objects.filter(partner__isnull=False, email__endswith=".example")
        .select_related("partner")
        .order_by("partner__partner_id", "email")
    )
    return [
        {"email": user.email, "name": user.get_full_name(), "partner": user.partner.name, "role": user.role}
        for user in users[:30]
        if user.partner is not None  # always, by the filter; said again for the type checker
    ]
