"""Bench: the webhook receiver under a flood of unsigned deliveries, on the embedded default.

A fresh portal under uvicorn (SQLite, the filesystem broker) and a real Celery worker, all on
loopback. First a quiet run: 500 valid signed deliveries alone. Then the flood: 5,000 unsigned
deliveries and 500 valid ones interleaved (ten unsigned, one valid, ...), sent by a few concurrent
senders. The unsigned ones come from 127.0.0.2 (the client socket is bound to it), the valid ones
from 127.0.0.1, as an attacker and NovaCron have different addresses; the flood bound is per
address (WEBHOOK_REFUSALS_PER_MINUTE).

Prints the rows the refused deliveries wrote (after 1,000 and after 5,000), the valid events
accepted, lost and processed, and the valid deliveries' p95 answer time during the flood next to
the quiet run's.

Run: .venv/bin/python bench/receiver_flood.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "sdk"))

from bench.live_latency import _percentile  # noqa: E402
from bench.webhooks import SECRET, _payload  # noqa: E402
from tests.live_harness import (  # noqa: E402
    create_partner,
    portal_python,
    start_live_portal,
    start_live_worker,
    wait_until_processed,
)

VALID = 500
UNSIGNED = 5_000
FIRST_CHECK = 1_000  # unsigned deliveries after which the rows are counted the first time
SENDERS = 4
NOVACRON_ADDR = "127.0.0.1"
FLOOD_ADDR = "127.0.0.2"
P95_RATIO_GOAL = 2.0
PROCESS_TIMEOUT = 180


class SourceAddressAdapter(HTTPAdapter):
    """Connections from a chosen local address (any 127.x.y.z is this machine's loopback)."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def _session(source: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(source))
    return session


class Run:
    """One batch of deliveries sent by SENDERS threads in order; what came back."""

    def __init__(self, receiver: str, items: list[tuple[str, int]]) -> None:
        self.receiver = receiver
        self.items = items
        self.next = 0
        self.stop = 0
        self.lock = threading.Lock()
        self.valid_latencies: list[float] = []
        self.valid_accepted: list[str] = []
        self.valid_sent: list[str] = []
        self.statuses: Counter[str] = Counter()

    def _take(self) -> tuple[str, int] | None:
        with self.lock:
            if self.next >= self.stop:
                return None
            item = self.items[self.next]
            self.next += 1
            return item

    def _sender(self) -> None:
        sessions = {"valid": _session(NOVACRON_ADDR), "unsigned": _session(FLOOD_ADDR)}
        while (item := self._take()) is not None:
            kind, n = item
            body, signature, event_id = _payload(n)
            headers = {"Content-Type": "application/json"}
            if kind == "valid":
                headers["X-Webhook-Signature"] = signature
            started = time.perf_counter()
            try:
                status = str(
                    sessions[kind].post(self.receiver, data=body, headers=headers, timeout=15).status_code
                )
            except requests.RequestException as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - started
            with self.lock:
                self.statuses[f"{kind} {status}"] += 1
                if kind == "valid":
                    self.valid_sent.append(event_id)
                    self.valid_latencies.append(elapsed)
                    if status == "202":
                        self.valid_accepted.append(event_id)

    def send(self, count: int) -> None:
        """Send the next `count` items."""
        self.stop = min(len(self.items), self.next + count)
        threads = [threading.Thread(target=self._sender) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _rows(portal: Any) -> tuple[int, int]:
    """Refusal rows in the database, and the refusals they count."""
    out = portal_python(
        portal,
        "from django.db.models import Sum; from webhooks.models import WebhookRejection as R; "
        "print(R.objects.count(), R.objects.aggregate(n=Sum('count'))['n'] or 0)",
    ).split()
    return int(out[-2]), int(out[-1])


def _interleaved(valid_from: int) -> list[tuple[str, int]]:
    items: list[tuple[str, int]] = []
    per_valid = UNSIGNED // VALID
    for v in range(VALID):
        items += [("unsigned", 900_000 + v * per_valid + u) for u in range(per_valid)]
        items.append(("valid", valid_from + v))
    return items


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-receiver-flood-") as tmpdir:
        tmp = Path(tmpdir)
        portal = start_live_portal(tmp)
        worker = None
        try:
            create_partner(portal, partner_id="partner-bench", webhook_secret=SECRET)
            worker = start_live_worker(portal, tmp, concurrency=4, beat=False)
            receiver = f"{portal.url}/webhooks/novacron/partner-bench/"
            limit = portal_python(
                portal, "from django.conf import settings; print(settings.WEBHOOK_REFUSALS_PER_MINUTE)"
            ).split()[-1]

            warm = Run(receiver, [("valid", n) for n in range(10)])
            warm.send(10)  # imports, connections, the writer thread

            quiet = Run(receiver, [("valid", n) for n in range(100, 100 + VALID)])
            quiet.send(VALID)

            flood = Run(receiver, _interleaved(valid_from=10_000))
            first = FIRST_CHECK + FIRST_CHECK // (UNSIGNED // VALID)
            started = time.monotonic()
            flood.send(first)
            rows_first, counted_first = _rows(portal)
            minute_first = int(time.time() // 60)
            flood.send(len(flood.items))
            rows_all, counted_all = _rows(portal)
            minutes_crossed = int(time.time() // 60) - minute_first
            flood_seconds = time.monotonic() - started

            valid_sent = quiet.valid_sent + flood.valid_sent
            accepted = set(quiet.valid_accepted + flood.valid_accepted)
            wait_until_processed(portal, timeout=PROCESS_TIMEOUT)
            report = portal_python(
                portal,
                f"""
import json
from webhooks.models import WebhookEvent
sent = set(json.loads({json.dumps(json.dumps(valid_sent))}))
stored = set(WebhookEvent.objects.filter(event_id__in=sent).values_list("event_id", flat=True))
processed = WebhookEvent.objects.filter(event_id__in=sent, status="processed").count()
print(len(sent - stored), processed)
""",
            ).split()
            lost, processed = int(report[-2]), int(report[-1])

            print(f"refusal bound: {limit} per source address per minute")
            print(
                f"flood: {UNSIGNED} unsigned from {FLOOD_ADDR} and {VALID} valid from {NOVACRON_ADDR} in {flood_seconds:.1f} s"
            )
            print(f"answers during the flood: {dict(sorted(flood.statuses.items()))}")
            print(f"answers of the quiet run: {dict(sorted(quiet.statuses.items()))}")
            print(
                f"refused-delivery rows: {rows_first} after {FIRST_CHECK} unsigned (counting {counted_first} refusals), "
                f"{rows_all} after {UNSIGNED} (counting {counted_all}); minute boundaries crossed between: {minutes_crossed}"
            )
            print(
                f"valid events: sent {len(valid_sent)}, accepted {len(accepted)}, lost {lost}, "
                f"processed by the worker {processed}"
            )
            quiet_p95 = _percentile(quiet.valid_latencies, 0.95)
            flood_p95 = _percentile(flood.valid_latencies, 0.95)
            ratio = flood_p95 / quiet_p95
            print(
                f"valid answer time p95: quiet {quiet_p95 * 1000:.1f} ms, during the flood {flood_p95 * 1000:.1f} ms "
                f"(ratio {ratio:.2f})"
            )
            bounded = rows_all <= rows_first + minutes_crossed
            print(
                f"target refused-delivery rows bounded: {rows_all} after {UNSIGNED} vs {rows_first} after {FIRST_CHECK} "
                f"(goal <= {rows_first} + {minutes_crossed} minute boundaries) {'met' if bounded else 'missed'}"
            )
            print(f"target valid events lost: {lost} (goal 0) {'met' if lost == 0 else 'missed'}")
            print(
                f"target valid p95 during flood vs quiet: {ratio:.2f} (goal <= {P95_RATIO_GOAL:.2f}) "
                f"{'met' if ratio <= P95_RATIO_GOAL else 'missed'}"
            )
            return 0
        finally:
            if worker is not None:
                worker.stop()
            portal.process.stop()


if __name__ == "__main__":
    raise SystemExit(main())
