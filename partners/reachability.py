"""Whether NovaCron answers this partner's calls, as the portal last saw it.

The background sync and the pages' own calls report what happened; every page that shows cached data
reads it from the partner row it has loaded anyway, so an outage is said in one line ("unreachable
since …") instead of staying silent until the inventory's badge turns "Sync is late".
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from novacron import errors

from partners.models import Partner

OUTAGE_ERRORS = (errors.APIConnectionError, errors.APITimeoutError, errors.ServerError)


def is_outage(error: BaseException) -> bool:
    """NovaCron did not answer, or answered with a server error (not: it refused us)."""
    return isinstance(error, OUTAGE_ERRORS)


def novacron_unreachable(*, partner_pk: int, at: datetime | None = None) -> None:
    """Record a failed call; the first failure of an outage is its start."""
    Partner.objects.filter(pk=partner_pk, novacron_unreachable_since__isnull=True).update(
        novacron_unreachable_since=at or timezone.now()
    )


def novacron_reachable(*, partner_pk: int) -> None:
    Partner.objects.filter(pk=partner_pk, novacron_unreachable_since__isnull=False).update(
        novacron_unreachable_since=None
    )
