"""`manage.py sync_now [--full] [--partner ID]`: run the inventory sync in this process, now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from partners.models import Partner
from vms import sync
from vms.models import SyncRun


class Command(BaseCommand):
    help = "Sync partner info, quotas, clusters, VMs and migrations from NovaCron now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="full reconciliation instead of incremental")
        parser.add_argument("--partner", help="NovaCron partner id (default: every partner with credentials)")

    def handle(self, *args: Any, full: bool = False, partner: str | None = None, **options: Any) -> None:
        if partner:
            partners = list(Partner.objects.filter(partner_id=partner))
            if not partners:
                raise CommandError(f"no partner {partner!r} in the portal")
        else:
            partners = sync.partners_to_sync()
        vm_sync = sync.sync_vms_full if full else sync.sync_vms_incremental
        failed = False
        for tenant in partners:
            for run in (sync.sync_partner(partner=tenant), vm_sync(partner=tenant)):
                self.stdout.write(_describe(tenant, run))
                failed |= run.status == SyncRun.Status.FAILED
        if failed:
            raise CommandError("at least one sync run failed (see above)")


def _describe(partner: Partner, run: SyncRun) -> str:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    text = (
        f"{partner.partner_id} {run.kind}: {run.status}, {run.items} items, {run.deleted} deleted, "
        f"{run.api_calls} API calls in {seconds:.1f}s"
    )
    return f"{text} — {run.error}" if run.error else text
