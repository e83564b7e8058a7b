"""`manage.py refresh_usage [partner_id ...]`: bring the usage rollups up to date now (beat does it
every USAGE_REFRESH_INTERVAL_SECONDS), e.g. after changing a partner's time zone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from partners.models import Partner
from usage.services import usage_refresh


class Command(BaseCommand):
    help = "Recompute the usage days that changed, for every partner or the ones named."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner_ids", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        partners = Partner.objects.all()
        if options["partner_ids"]:
            partners = partners.filter(partner_id__in=options["partner_ids"])
        for partner in partners:
            days = usage_refresh(partner=partner)
            self.stdout.write(f"{partner.partner_id}: {days} days recomputed")
