"""When NovaCron stops answering, every page that shows cached data says so in one line."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import novacron
import pytest
from django.utils import timezone
from novacron.config import SDKConfig

from partners import reachability
from tests.factories import make_vms, record_sync
from tests.fakes import FakeNovaCron
from vms import sync
from vms.models import SyncRun

CACHED_PAGES = ("/", "/vms/")
OUTAGE_LINE = "NovaCron has not answered since"


@pytest.fixture
def unreachable_client(partner: Any, clock: Any) -> novacron.Client:
    """The partner's client pointed at a closed port on this machine: every call is refused."""
    config = SDKConfig(
        base_url="http://127.0.0.1:9",
        partner_id=partner.partner_id,
        api_key="nck_acme_test",
        api_secret="acme-test-secret",
        max_retries=0,
        timeout=1,
    )
    return novacron.Client(config, sleep=clock.sleep)


def test_a_sync_that_cannot_reach_novacron_is_said_on_every_cached_page_until_one_succeeds(
    partner: Any,
    owner: Any,
    client_of: Any,
    unreachable_client: Any,
    hmac_client: Any,
    pacer: Any,
    fake_novacron: FakeNovaCron,
) -> None:
    make_vms(partner, 3)
    record_sync(partner, finished_at=timezone.now() - timedelta(minutes=4))

    failed = sync.sync_vms_incremental(partner=partner, client=unreachable_client, pacer=pacer)

    assert failed.status == SyncRun.Status.FAILED
    partner.refresh_from_db()
    assert partner.novacron_unreachable_since == failed.started_at
    browser = client_of(owner)
    for path in CACHED_PAGES:
        page = browser.get(path).content.decode()
        assert OUTAGE_LINE in page, path
        assert "last synced 4 min ago" in page, path

    fake_novacron.add_vms(3)
    assert sync.sync_vms_incremental(partner=partner, client=hmac_client, pacer=pacer).status == "succeeded"

    partner.refresh_from_db()
    assert partner.novacron_unreachable_since is None
    for path in CACHED_PAGES:
        assert OUTAGE_LINE not in browser.get(path).content.decode(), path


def test_only_no_answer_or_a_server_error_counts_as_an_outage() -> None:
    assert reachability.is_outage(novacron.errors.APIConnectionError("refused"))
    assert not reachability.is_outage(novacron.errors.UnauthorizedError("no"))


@pytest.mark.django_db
def test_a_second_failure_does_not_move_the_start_of_the_outage(partner: Any) -> None:
    began = timezone.now() - timedelta(minutes=10)
    reachability.novacron_unreachable(partner_pk=partner.pk, at=began)
    reachability.novacron_unreachable(partner_pk=partner.pk)

    partner.refresh_from_db()
    assert partner.novacron_unreachable_since == began
