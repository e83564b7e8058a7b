"""How much of a bare requests.Session's call rate the SDK keeps for signed GETs.

A threaded HTTP/1.1 server on 127.0.0.1 (port 0) answers every GET with a small partner JSON object
and the contract's rate-limit headers. Three clients take turns in interleaved rounds, so machine
noise hits them alike:

- sdk: `client.get_partner()` (token bucket, HMAC signing, retry wrapper, rate-limit bookkeeping,
  typed model);
- bare signed: a hand-written signed GET on a bare `requests.Session` (the four partner headers
  computed inline with `hmac`), then `.json()` — what a partner would write without the SDK; the
  target compares against this one;
- bare unsigned: `session.get(url).json()`, shown for reference (no authentication at all).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

# Runs from a clone even where the SDK is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk"))

from novacron import Client, SDKConfig

# Many short rounds: on a shared machine the load shifts within seconds, and each round's ratio
# compares contenders that ran moments apart. The median of those ratios is the figure.
ROUNDS = 20
ROUND_SECONDS = 0.3
GOAL = 0.75

PARTNER_BODY = json.dumps(
    {
        "partner_id": "partner-acme",
        "name": "Acme Corp",
        "type": "technology",
        "tier": "gold",
        "status": "active",
        "entitlements": ["white-label"],
        "created_at": "2026-01-01T00:00:00Z",
        "quota_limits": {"api_calls_per_minute": 1000, "vm_create_per_day": 1000, "migration_concurrent": 50},
    }
).encode()


class PartnerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API behind a load balancer
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds ~40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(PARTNER_BODY)))
        self.send_header("X-Request-ID", "req_bench")
        self.send_header("X-RateLimit-Limit", "1000000")
        self.send_header("X-RateLimit-Remaining", "999999")
        self.send_header("X-RateLimit-Reset", str(int(time.time()) + 60))
        self.end_headers()
        self.wfile.write(PARTNER_BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def run_for(seconds: float, call: object) -> tuple[int, float]:
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        call()  # type: ignore[operator]
        count += 1
    return count, time.perf_counter() - start


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PartnerHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    client = Client(
        SDKConfig(
            base_url=base_url,
            partner_id="partner-acme",
            api_key="key_bench",
            api_secret="secret_bench",
            rate_limit_rps=1_000_000,
        )
    )
    bare = requests.Session()
    path = "/api/v1/partners/partner-acme"
    url = base_url + path

    def sdk_call() -> None:
        client.get_partner()

    def bare_signed_call() -> None:
        timestamp = str(int(time.time()))
        signature = hmac.new(b"secret_bench", f"GET:{path}:{timestamp}".encode(), hashlib.sha256).hexdigest()
        headers = {
            "X-Partner-ID": "partner-acme",
            "X-API-Key": "key_bench",
            "X-Timestamp": timestamp,
            "X-Signature": signature,
        }
        bare.get(url, headers=headers, timeout=30).json()

    def bare_unsigned_call() -> None:
        bare.get(url, timeout=30).json()

    contenders = [("sdk", sdk_call), ("bare signed", bare_signed_call), ("bare unsigned", bare_unsigned_call)]
    totals = {name: [0, 0.0] for name, _ in contenders}
    round_ratios: dict[str, list[float]] = {"bare signed": [], "bare unsigned": []}
    try:
        for _, call in contenders:
            run_for(0.3, call)
        for number in range(ROUNDS):
            # Rotate who goes first, so no contender always runs on a warmer (or busier) machine.
            shift = number % len(contenders)
            round_rates: dict[str, float] = {}
            for name, call in contenders[shift:] + contenders[:shift]:
                count, elapsed = run_for(ROUND_SECONDS, call)
                totals[name][0] += count
                totals[name][1] += elapsed
                round_rates[name] = count / elapsed
            for baseline, ratios in round_ratios.items():
                ratios.append(round_rates["sdk"] / round_rates[baseline])
    finally:
        client.close()
        bare.close()
        server.shutdown()
        server.server_close()

    rates = {name: count / elapsed for name, (count, elapsed) in totals.items()}
    for name, _ in contenders:
        print(f"{name:>14}: {rates[name]:8,.0f} calls/s ({totals[name][0]} calls)")
    ratio = statistics.median(round_ratios["bare signed"])
    unsigned = statistics.median(round_ratios["bare unsigned"])
    print(
        f"SDK / bare signed session: {ratio:.1%} (median of {ROUNDS} rounds; "
        f"totals {rates['sdk'] / rates['bare signed']:.1%})"
    )
    print(f"SDK / bare unsigned session (reference only): {unsigned:.1%}")
    print(f"target sdk_overhead: {ratio:.1%} (goal >= {GOAL:.0%}) {'met' if ratio >= GOAL else 'missed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
