"""Sign-in, token storage and refresh, and the per-user NovaCron client."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import novacron
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def user_client(*, user: User | AnonymousUser) -> novacron.Client:
    raise NotImplementedError("the per-user client arrives with the sign-in flow")
