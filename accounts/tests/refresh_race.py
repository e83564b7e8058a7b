"""Two threads find the same token about to expire and refresh at once.

Run in-process on PostgreSQL (the test database is shared by threads) and as a subprocess on an
SQLite file (pytest's in-memory SQLite cannot show real locking):
`python -m accounts.tests.refresh_race` prints the outcome as JSON.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import responses


def race(*, threads: int = 2) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone

    from accounts import oauth, services
    from accounts.models import OAuthToken, User
    from accounts.tests import fake_novacron
    from partners.models import Partner

    partner, _ = Partner.objects.get_or_create(partner_id="partner-race", defaults={"name": "Race"})
    user, _ = User.objects.get_or_create(
        username="race", defaults={"partner": partner, "novacron_sub": "race"}
    )
    OAuthToken.objects.update_or_create(
        user=user,
        defaults={
            "access_token": "old-access",
            "refresh_token": "old-refresh",
            "expires_at": timezone.now() + timedelta(seconds=5),
            "scopes": ["openid", "vm:read"],
        },
    )

    spent: list[str] = []
    counter = iter(range(1, 100))

    def token_endpoint(request: Any) -> tuple[int, dict[str, str], str]:
        form = dict(pair.split("=", 1) for pair in request.body.split("&"))
        time.sleep(0.3)  # a slow authorization server widens the window for a race
        if form["refresh_token"] in spent:
            return 400, {}, json.dumps({"error": "invalid_grant"})
        spent.append(form["refresh_token"])
        n = next(counter)
        return (
            200,
            {},
            json.dumps(
                {
                    "access_token": f"new-access-{n}",
                    "refresh_token": f"new-refresh-{n}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "openid vm:read",
                }
            ),
        )

    results: list[str] = []
    errors: list[str] = []
    barrier = threading.Barrier(threads)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(services.token_fresh(user=user).access_token)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    with (
        override_settings(
            NOVACRON_OAUTH_ISSUER=fake_novacron.ISSUER,
            NOVACRON_CLIENT_ID=fake_novacron.CLIENT_ID,
            NOVACRON_CLIENT_SECRET=fake_novacron.CLIENT_SECRET,
            NOVACRON_TOKEN_REFRESH_MARGIN=60,
        ),
        responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
    ):
        oauth.reset()
        fake_novacron.install(mock)
        mock.add_callback(responses.POST, fake_novacron.TOKEN_URL, callback=token_endpoint)
        oauth.novacron_app().load_server_metadata()  # discovery once, before the race
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=30)
        token_calls = len(mock.calls) - 1  # minus the discovery request
        oauth.reset()
    stored = OAuthToken.objects.get(user=user)
    return {
        "token_calls": token_calls,
        "results": sorted(results),
        "errors": errors,
        "stored_access": stored.access_token,
        "stored_refresh": stored.refresh_token,
    }


def main() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    print(json.dumps(race()))


if __name__ == "__main__":
    main()
