"""Token refreshes on an SQLite file, run as their own processes (pytest's in-memory SQLite has no
real locking, and two processes are the only way to show the cross-process lock).

    python -m tests.security.refresh_scenarios setup
    python -m tests.security.refresh_scenarios webhook-while-refresh-hangs
    python -m tests.security.refresh_scenarios refresh ISSUER THREADS START_AT

Each prints one JSON line. The environment names the database (DATABASE_URL) and NovaCron's
timeout; `refresh` points at a LoopbackNovaCron the calling test runs, so it counts every process.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

PARTNER_ID = "partner-acme"
WEBHOOK_SECRET = "whsec_refresh_scenarios_0123456789"


def setup() -> dict[str, Any]:
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import OAuthToken, User
    from partners.models import Partner

    call_command("migrate", verbosity=0)
    partner, _ = Partner.objects.update_or_create(
        partner_id=PARTNER_ID, defaults={"name": "Acme", "webhook_secret": WEBHOOK_SECRET}
    )
    user, _ = User.objects.update_or_create(
        username="refresher", defaults={"partner": partner, "novacron_sub": "refresher"}
    )
    OAuthToken.objects.update_or_create(
        user=user,
        defaults={
            "access_token": "old-access",
            "refresh_token": "old-refresh",
            "expires_at": timezone.now() + timedelta(seconds=5),  # within the refresh margin
            "scopes": ["openid", "vm:read"],
        },
    )
    return {"user": user.pk}


def _signed_delivery() -> tuple[bytes, dict[str, str]]:
    from novacron.webhooks import sign_payload

    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    event_id = f"evt_refresh_{time.time_ns()}"
    payload = {
        "event_id": event_id,
        "event_type": "vm.started",
        "timestamp": now,
        "partner_id": PARTNER_ID,
        "data": {"vm_id": "vm-0001", "partner_id": PARTNER_ID, "status": "running", "updated_at": now},
    }
    body = json.dumps(payload).encode()
    headers = {
        "HTTP_X_WEBHOOK_SIGNATURE": sign_payload(body, WEBHOOK_SECRET),
        "HTTP_X_WEBHOOK_EVENT": "vm.started",
        "HTTP_X_WEBHOOK_ID": event_id,
        "HTTP_X_WEBHOOK_TIMESTAMP": str(int(time.time())),
    }
    return body, headers


def webhook_while_refresh_hangs() -> dict[str, Any]:
    """A refresh waits on a NovaCron that never answers; meanwhile a delivery reaches the receiver."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from accounts import oauth, services
    from accounts.models import User
    from tests.security.loopback_novacron import running

    user = User.objects.get(username="refresher")
    refresh_outcome: list[str] = []

    def refresh() -> None:
        try:
            services.token_fresh(user=user)
            refresh_outcome.append("refreshed")
        except Exception as error:
            refresh_outcome.append(type(error).__name__)
        finally:
            connection.close()

    with (
        running(token_delay=settings.NOVACRON_TIMEOUT + 5) as novacron,
        override_settings(NOVACRON_OAUTH_ISSUER=novacron.issuer, NOVACRON_CLIENT_ID="portal"),
    ):
        oauth.reset()
        refresher = threading.Thread(target=refresh)
        refresher.start()
        if not novacron.token_request_seen.wait(10):
            raise RuntimeError("the refresh never reached NovaCron")
        time.sleep(0.1)  # the refresh is now inside its HTTP call
        body, headers = _signed_delivery()
        started = time.monotonic()
        response = Client().post(
            f"/webhooks/novacron/{PARTNER_ID}/", data=body, content_type="application/json", **headers
        )
        elapsed = time.monotonic() - started
        still_refreshing = refresher.is_alive()
        refresher.join(timeout=settings.NOVACRON_TIMEOUT + 10)
        oauth.reset()
    return {
        "status": response.status_code,
        "elapsed": elapsed,
        "refresh_was_hanging": still_refreshing,
        "refresh_outcome": refresh_outcome,
    }


def refresh(issuer: str, threads: int, start_at: float) -> dict[str, Any]:
    """`threads` threads of this process refresh the same user's token, starting at `start_at`."""
    from django.db import connection
    from django.test.utils import override_settings

    from accounts import oauth, services
    from accounts.models import OAuthToken, User

    user = User.objects.get(username="refresher")
    results: list[str] = []
    errors: list[str] = []

    def worker() -> None:
        try:
            time.sleep(max(0.0, start_at - time.time()))
            results.append(services.token_fresh(user=user).access_token)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    with override_settings(NOVACRON_OAUTH_ISSUER=issuer, NOVACRON_CLIENT_ID="portal"):
        oauth.reset()
        oauth.novacron_app().load_server_metadata()  # discovery before the start
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=60)
    stored = OAuthToken.objects.get(user=user)
    return {"results": results, "errors": errors, "stored": [stored.access_token, stored.refresh_token]}


def main() -> None:
    import django

    django.setup()
    command, *args = sys.argv[1:]
    if command == "setup":
        outcome = setup()
    elif command == "webhook-while-refresh-hangs":
        outcome = webhook_while_refresh_hangs()
    else:
        outcome = refresh(args[0], int(args[1]), float(args[2]))
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
