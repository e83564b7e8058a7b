"""The SSE audience rule, over a real stream (uvicorn on 127.0.0.1): a viewer's stream never carries
admin-only topics or controls it may not use (received-log rows, Cancel buttons), while an admin's
does, and each resumes after its own `Last-Event-ID`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_harness import create_partner, portal_python, signed_in_session, start_live_portal
from tests.servers import PortalServer
from tests.sse_client import SSEMessage, open_stream, read_messages

pytestmark = pytest.mark.integration

PARTNER = "partner-audience"
# Who holds what: (role, scopes granted). The operator lacks migration:execute, so it may not cancel.
PEOPLE = {
    "viewer@audience.example": ("viewer", "openid vm:read migration:execute partner:admin"),
    "operator@audience.example": ("operator", "openid vm:read vm:write"),
    "admin@audience.example": ("admin", "openid vm:read vm:write migration:execute partner:admin"),
}
SENTINEL = 'id="audience-end"'


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    tmp: Path = tmp_path_factory.mktemp("audience")
    server = start_live_portal(tmp)
    create_partner(server, partner_id=PARTNER, webhook_secret="whsec_audience_0123456789abcdef")
    yield server
    server.process.stop()


def _publish_everything(portal: PortalServer) -> int:
    """A cancellable migration, a VM's Actions card, the received log, then a sentinel; the id before them."""
    output = portal_python(
        portal,
        f"""
from django.db.models import Max
from live.models import Event
from live.services import publish
from partners.models import Partner
from tests.factories import make_migration, make_vm
from vms.publishing import _publish_migrations, _publish_vms
from webhooks.delivery_log import webhook_log_publish
partner = Partner.objects.get(partner_id={PARTNER!r})
before = Event.objects.aggregate(m=Max("id"))["m"] or 0
if not partner.vms.exists():
    make_vm(partner, 1, status="running")
    make_migration(partner, "mig-aud-1", "vm-00001", status="in_progress", phase="data_sync")
_publish_migrations(partner, ["mig-aud-1"])
_publish_vms(partner, ["vm-00001"], [])
webhook_log_publish(partner=partner)
publish(partner=partner, topic="notification", html='<div {SENTINEL}></div>')
print(before)
""",
    )
    return int(output.split()[-1])


def _grant_everyone(portal: PortalServer) -> dict[str, tuple[str, str]]:
    cookies = {}
    for email, (role, scopes) in PEOPLE.items():
        cookies[email] = signed_in_session(portal, partner_id=PARTNER, email=email, role=role)
        portal_python(
            portal,
            f"""
from datetime import timedelta
from django.utils import timezone
from accounts.models import OAuthToken, User
OAuthToken.objects.update_or_create(user=User.objects.get(username={email!r}), defaults=dict(
    access_token="a", refresh_token="r", expires_at=timezone.now() + timedelta(hours=1), scopes={scopes.split()!r}))
""",
        )
    return cookies


def _received(portal: PortalServer, cookie: tuple[str, str], after: int) -> list[SSEMessage]:
    """What this person's stream sends after `after`, up to the sentinel."""
    stream = open_stream(portal.url, cookie, last_event_id=after, timeout=20)
    messages = []
    try:
        for message in read_messages(stream):
            messages.append(message)
            if SENTINEL in message.data:
                return messages
    finally:
        stream.close()
    return messages


def test_each_person_receives_only_the_events_and_controls_they_may_see(portal: PortalServer) -> None:
    cookies = _grant_everyone(portal)
    before = _publish_everything(portal)

    seen = {email: _received(portal, cookie, before) for email, cookie in cookies.items()}

    for email, messages in seen.items():
        role = PEOPLE[email][0]
        html = "\n".join(message.data for message in messages)
        topics = {message.event for message in messages}
        ids = [message.id for message in messages]
        assert SENTINEL in html, email
        assert ids == sorted(set(ids)), f"{email}: an event twice or out of order"
        assert 'id="migration-mig-aud-1"' in html and 'id="vm-actions-vm-00001"' in html, email
        # Each panel and card arrives once, in the person's own variant.
        assert html.count('id="migration-mig-aud-1"') == 1 and html.count('id="vm-actions-vm-00001"') == 1
        may_cancel = role == "admin"  # the viewer's role may not; the operator lacks the scope
        assert ("/migrations/mig-aud-1/cancel/" in html) == may_cancel, email
        assert ('data-action="stop"' in html) == (role != "viewer"), email
        assert ('data-action="migrate"' in html) == may_cancel, email
        assert ("webhook-log" in topics) == (role == "admin"), email
        assert ('id="received-rows"' in html) == (role == "admin"), email


def test_a_resumed_stream_starts_after_its_own_last_event_id(portal: PortalServer) -> None:
    cookies = _grant_everyone(portal)
    before = _publish_everything(portal)
    viewer = cookies["viewer@audience.example"]
    first = _received(portal, viewer, before)

    # Resuming after the viewer's first event: everything after it again, nothing before it.
    resumed = _received(portal, viewer, first[0].id)

    assert [message.id for message in resumed] == [message.id for message in first[1:]]
