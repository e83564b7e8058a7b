"""`manage.py import_partners`: create or update partners from NovaCron's credential list (JSON).

The JSON is what `python -m sandbox partner-credentials --json` prints: a list of
{partner_id, name, tier, api_key, api_secret}. Each partner gets a webhook secret the first time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from partners.services import partner_import

DEFAULT_PARTNERS = "partner-acme,partner-globex"


class Command(BaseCommand):
    help = "Import partners and their HMAC credentials from JSON (a file, or - for standard input)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="path of the JSON list, or - to read standard input")
        parser.add_argument(
            "--only",
            default=DEFAULT_PARTNERS,
            help=f"comma-separated partner ids to import, or 'all' (default: {DEFAULT_PARTNERS})",
        )

    def handle(self, *args: Any, source: str, only: str, **options: Any) -> None:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"not JSON: {error}") from error
        if isinstance(rows, dict):
            rows = rows.get("data") or rows.get("partners") or []
        wanted = None if only == "all" else {p.strip() for p in only.split(",") if p.strip()}
        imported = 0
        for row in rows:
            if wanted is not None and row["partner_id"] not in wanted:
                continue
            partner = partner_import(
                partner_id=row["partner_id"],
                name=row.get("name", ""),
                api_key=row["api_key"],
                api_secret=row["api_secret"],
                tier=row.get("tier", ""),
                type=row.get("type", ""),
            )
            imported += 1
            self.stdout.write(f"partner {partner.partner_id} ({partner.name}) ready")
        missing = (wanted or set()) - {row["partner_id"] for row in rows}
        if missing:
            raise CommandError(f"no credentials found for: {', '.join(sorted(missing))}")
        self.stdout.write(self.style.SUCCESS(f"{imported} partner(s) imported"))
