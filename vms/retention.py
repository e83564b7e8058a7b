"""How long sync runs are kept."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from lib.pruning import delete_in_batches
from vms.models import SyncRun


def sync_runs_prune(*, older_than: timedelta) -> int:
    """Runs started before `older_than`, except each partner's latest successful run of each kind.

    That run stays however old it is: the incremental sync resumes from its watermark (without it
    the next run would be a full reconciliation) and the inventory's "last synced" reads it.
    """
    newer_success = SyncRun.objects.filter(
        partner=OuterRef("partner"),
        kind=OuterRef("kind"),
        status=SyncRun.Status.SUCCEEDED,
        started_at__gt=OuterRef("started_at"),
    )
    latest_success = SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).exclude(Exists(newer_success))
    old = SyncRun.objects.filter(started_at__lt=timezone.now() - older_than)
    return delete_in_batches(old.exclude(pk__in=latest_success.values("pk")))
