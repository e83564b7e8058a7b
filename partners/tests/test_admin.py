"""The Django admin of every app: write-only credentials, actions, read-only mirrors, tenant isolation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.models import User
from live.models import Event
from partners.models import Partner
from tests.partner_api import PARTNER_API
from vms.models import VM, Migration, SyncRun
from webhooks.models import Notification, WebhookEvent, WebhookRejection

ACME_SECRETS = ("nck_acme_test", "acme-test-secret", "whsec_acme_test_secret_0123456789")


@pytest.fixture
def superuser(db: None) -> User:
    # No password: hashing one would cost a second per test, and force_login needs none.
    return User.objects.create_user("root", "root@portal.example", is_staff=True, is_superuser=True)


@pytest.fixture
def acme_staff(partner: Partner) -> User:
    """Staff of Acme, not a superuser, allowed to view and change everything the admin shows."""
    user = User.objects.create_user(
        "staff@acme.example", "staff@acme.example", partner=partner, role="admin", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["accounts", "partners", "vms", "webhooks", "live"]
        ).exclude(codename__startswith="delete")
    )
    return user


def admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def a_vm(partner: Partner, vm_id: str, name: str) -> VM:
    now = timezone.now()
    return VM.objects.create(
        partner=partner,
        vm_id=vm_id,
        name=name,
        status="running",
        cloud_provider="aws",
        region="us-east-1",
        created_at=now,
        updated_at=now,
        synced_at=now,
    )


def a_migration(partner: Partner, migration_id: str) -> Migration:
    now = timezone.now()
    return Migration.objects.create(
        partner=partner,
        migration_id=migration_id,
        source_vm_id="vm-1",
        target_cluster="cluster-2",
        migration_type="live",
        status="in_progress",
        phase="data_sync",
        created_at=now,
        updated_at=now,
        synced_at=now,
    )


def an_event(partner: Partner, event_id: str, **fields: Any) -> WebhookEvent:
    payload = {
        "event_id": event_id,
        "event_type": "quota.exceeded",
        "partner_id": partner.partner_id,
        "timestamp": "2026-01-15T10:30:00Z",
        "data": {"quota": "vm_create_per_day", "limit": 10, "used": 10, "requested": 1, "message": "full"},
    }
    return WebhookEvent.objects.create(
        partner=partner,
        event_id=event_id,
        event_type="quota.exceeded",
        payload=payload,
        received_at=timezone.now(),
        **fields,
    )


# --- partners: write-only credentials --------------------------------------------------------


def test_credentials_are_never_shown_back_in_the_list_or_the_change_page(
    partner: Partner, superuser: User
) -> None:
    client = admin_client(superuser)

    listing = client.get("/admin/partners/partner/")
    change = client.get(f"/admin/partners/partner/{partner.pk}/change/")

    assert listing.status_code == change.status_code == 200
    for secret in ACME_SECRETS:
        assert secret not in listing.text
        assert secret not in change.text
    assert 'type="password"' in change.text


def _partner_form(partner: Partner, **credentials: str) -> dict[str, str]:
    data = {
        "partner_id": partner.partner_id,
        "name": partner.name,
        "type": partner.type,
        "tier": partner.tier,
        "status": partner.status,
        "entitlements": "[]",
        "quota_limits": "{}",
        "api_key": "",
        "api_secret": "",
        "webhook_secret": "",
        "quotas-TOTAL_FORMS": "0",
        "quotas-INITIAL_FORMS": "0",
        "quotas-MIN_NUM_FORMS": "0",
        "quotas-MAX_NUM_FORMS": "1000",
    }
    data.update(credentials)
    return data


def test_blank_credentials_leave_the_stored_ones_unchanged(partner: Partner, superuser: User) -> None:
    response = admin_client(superuser).post(
        f"/admin/partners/partner/{partner.pk}/change/", _partner_form(partner, name="Acme Corporation")
    )

    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.name == "Acme Corporation"
    assert (partner.api_key, partner.api_secret, partner.webhook_secret) == ACME_SECRETS


def test_a_typed_credential_replaces_the_stored_one(partner: Partner, superuser: User) -> None:
    response = admin_client(superuser).post(
        f"/admin/partners/partner/{partner.pk}/change/",
        _partner_form(partner, api_secret="rotated-secret-value"),
    )

    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.api_secret == "rotated-secret-value"
    assert partner.api_key == "nck_acme_test"


def test_a_new_webhook_secret_keeps_the_old_one_valid_for_a_day(partner: Partner, superuser: User) -> None:
    response = admin_client(superuser).post(
        f"/admin/partners/partner/{partner.pk}/change/",
        _partner_form(partner, webhook_secret="whsec_typed_in_admin_0123456789"),
    )

    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.webhook_secret == "whsec_typed_in_admin_0123456789"
    assert partner.previous_webhook_secret == "whsec_acme_test_secret_0123456789"
    assert (
        timedelta(hours=23)
        < partner.previous_webhook_secret_expires_at - timezone.now()
        <= timedelta(hours=24)
    )


def test_test_connection_reports_what_novacron_answered(
    partner: Partner, other_partner: Partner, superuser: User, settings: Any
) -> None:
    settings.NOVACRON_API_URL = "http://127.0.0.1:8001"
    with responses.RequestsMock() as api:
        api.get(
            PARTNER_API,
            json={
                "partner_id": "partner-acme",
                "name": "Acme Corp",
                "type": "technology",
                "tier": "gold",
                "status": "active",
                "entitlements": [],
                "quota_limits": {},
                "created_at": "2026-01-01T00:00:00Z",
            },
        )
        api.get(
            "http://127.0.0.1:8001/api/v1/partners/partner-globex",
            status=401,
            json={
                "error": {"code": "unauthorized", "message": "bad signature", "details": {}},
                "request_id": "req_1",
            },
        )

        response = admin_client(superuser).post(
            "/admin/partners/partner/",
            {"action": "test_connection", "_selected_action": [partner.pk, other_partner.pk]},
            follow=True,
        )
        signed = api.calls[0].request.headers

    texts = [str(message) for message in response.context["messages"]]
    assert any("Acme Corp: connected: NovaCron knows it as Acme Corp (gold, active)" in t for t in texts)
    assert any("Globex: failed:" in t and "bad signature" in t for t in texts)
    assert signed["X-Partner-ID"] == "partner-acme" and signed["X-API-Key"] == "nck_acme_test"


def test_sync_now_queues_the_inventory_sync(
    partner: Partner,
    superuser: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from vms import tasks

    queued: list[tuple[str, int]] = []
    monkeypatch.setattr(tasks.sync_partner, "delay", lambda pk: queued.append(("partner", pk)))
    monkeypatch.setattr(tasks.sync_vms_incremental, "delay", lambda pk: queued.append(("vms", pk)))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client(superuser).post(
            "/admin/partners/partner/", {"action": "sync_now", "_selected_action": [partner.pk]}, follow=True
        )

    assert sorted(queued) == [("partner", partner.pk), ("vms", partner.pk)]
    assert "Sync queued for Acme Corp." in [str(m) for m in response.context["messages"]]


# --- users: never token values ---------------------------------------------------------------


def test_users_show_role_scopes_and_token_expiry_but_never_the_tokens(
    owner: User, superuser: User, grant: Callable[..., Any]
) -> None:
    token = grant(owner, "openid vm:read partner:admin")
    client = admin_client(superuser)

    listing = client.get("/admin/accounts/user/")
    change = client.get(f"/admin/accounts/user/{owner.pk}/change/")

    for page in (listing, change):
        assert page.status_code == 200
        assert token.access_token not in page.text
        assert token.refresh_token not in page.text
    assert "partner:admin" in listing.text
    assert "partner:admin" in change.text
    assert "admin@acme.example" in listing.text


# --- read-only mirrors -----------------------------------------------------------------------


def test_vms_and_migrations_are_searchable_read_only_mirrors(partner: Partner, superuser: User) -> None:
    vm = a_vm(partner, "vm-web-1", "web-1")
    a_vm(partner, "vm-db-1", "db-1")
    migration = a_migration(partner, "mig-1")
    client = admin_client(superuser)

    found = client.get("/admin/vms/vm/?q=web&status__exact=running")
    assert "vm-web-1" in found.text and "vm-db-1" not in found.text
    assert client.get("/admin/vms/migration/?status__exact=in_progress").status_code == 200
    assert client.get("/admin/vms/vm/add/").status_code == 403
    vm_page = client.get(f"/admin/vms/vm/{vm.pk}/change/")
    assert vm_page.status_code == 200
    assert 'name="name"' not in vm_page.text  # shown, not editable
    assert client.post(f"/admin/vms/migration/{migration.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Migration.objects.filter(pk=migration.pk).exists()


def test_webhook_events_are_found_by_id_and_type(partner: Partner, superuser: User) -> None:
    an_event(partner, "evt_findme_1")
    an_event(partner, "evt_other_2")

    response = admin_client(superuser).get("/admin/webhooks/webhookevent/?q=findme")

    assert "evt_findme_1" in response.text and "evt_other_2" not in response.text


def test_the_reprocess_action_applies_the_events_again(
    partner: Partner, superuser: User, django_capture_on_commit_callbacks: Any
) -> None:
    from portal.celery import app

    event = an_event(partner, "evt_admin_retry", status=WebhookEvent.Status.FAILED, error="boom")
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            admin_client(superuser).post(
                "/admin/webhooks/webhookevent/", {"action": "reprocess", "_selected_action": [event.pk]}
            )
    finally:
        app.conf.task_always_eager = False

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert Notification.objects.filter(source_event_id="evt_admin_retry").exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/vms/syncrun/",
        "/admin/live/event/",
        "/admin/webhooks/webhookrejection/",
        "/admin/webhooks/notification/",
        "/admin/vms/cluster/",
    ],
)
def test_every_mirror_list_opens(url: str, partner: Partner, superuser: User) -> None:
    now = timezone.now()
    SyncRun.objects.create(partner=partner, kind="vms_full", started_at=now)
    Event.objects.create(partner=partner, topic="vm", html="<div></div>", created_at=now)
    WebhookRejection.objects.create(partner=partner, minute=now, last_at=now, reason="bad_signature", count=1)
    Notification.objects.create(
        partner=partner, kind="quota.exceeded", source_event_id="evt_n", title="Quota hit", created_at=now
    )

    assert admin_client(superuser).get(url).status_code == 200


# --- tenant isolation ------------------------------------------------------------------------


def _seed_both(partner: Partner, other_partner: Partner) -> dict[str, Any]:
    now = timezone.now()
    return {
        "vm": a_vm(other_partner, "vm-globex-1", "globex-web"),
        "mine": a_vm(partner, "vm-acme-1", "acme-web"),
        "migration": a_migration(other_partner, "mig-globex-1"),
        "event": an_event(other_partner, "evt_globex_1"),
        "rejection": WebhookRejection.objects.create(
            partner=other_partner,
            minute=now,
            last_at=now,
            reason="bad_signature",
            count=4,
            last_addresses=["10.66.66.66"],
        ),
        "notification": Notification.objects.create(
            partner=other_partner,
            kind="alert.critical",
            source_event_id="evt_g",
            title="Globex alert",
            created_at=now,
        ),
        "sync": SyncRun.objects.create(
            partner=other_partner, kind="partner", started_at=now, error="globex-err"
        ),
        "live": Event.objects.create(partner=other_partner, topic="globex-topic", html="x", created_at=now),
    }


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("/admin/vms/vm/", "vm-globex-1"),
        ("/admin/vms/migration/", "mig-globex-1"),
        ("/admin/webhooks/webhookevent/", "evt_globex_1"),
        ("/admin/webhooks/webhookrejection/", "10.66.66.66"),
        ("/admin/webhooks/notification/", "Globex alert"),
        ("/admin/live/event/", "globex-topic"),
        ("/admin/partners/partner/", "partner-globex"),
        ("/admin/accounts/user/", "admin@globex.example"),
    ],
)
def test_staff_of_one_partner_see_none_of_anothers_rows(
    url: str, hidden: str, partner: Partner, other_partner: Partner, acme_staff: User, outsider: User
) -> None:
    _seed_both(partner, other_partner)

    response = admin_client(acme_staff).get(url)

    assert response.status_code == 200
    assert hidden not in response.text
    assert "Globex" not in response.text  # not even in a filter


def test_staff_see_their_own_partners_rows(
    partner: Partner, other_partner: Partner, acme_staff: User
) -> None:
    _seed_both(partner, other_partner)

    assert "vm-acme-1" in admin_client(acme_staff).get("/admin/vms/vm/").text


def test_another_partners_objects_are_404_for_staff(
    partner: Partner, other_partner: Partner, acme_staff: User, outsider: User
) -> None:
    rows = _seed_both(partner, other_partner)
    client = admin_client(acme_staff)

    for url in (
        f"/admin/vms/vm/{rows['vm'].pk}/change/",
        f"/admin/vms/migration/{rows['migration'].pk}/change/",
        f"/admin/webhooks/webhookevent/{rows['event'].pk}/change/",
        f"/admin/vms/syncrun/{rows['sync'].pk}/change/",
        f"/admin/live/event/{rows['live'].pk}/change/",
        f"/admin/partners/partner/{other_partner.pk}/change/",
        f"/admin/accounts/user/{outsider.pk}/change/",
    ):
        assert client.get(url).status_code == 404, url


def test_staff_cannot_change_another_partners_credentials(
    partner: Partner, other_partner: Partner, acme_staff: User
) -> None:
    response = admin_client(acme_staff).post(
        f"/admin/partners/partner/{other_partner.pk}/change/",
        _partner_form(other_partner, api_secret="hijacked"),
    )

    assert response.status_code == 404
    other_partner.refresh_from_db()
    assert other_partner.api_secret == "globex-test-secret"


def test_staff_can_replace_their_own_partners_credentials_but_not_its_identity(
    partner: Partner, acme_staff: User
) -> None:
    response = admin_client(acme_staff).post(
        f"/admin/partners/partner/{partner.pk}/change/",
        _partner_form(
            partner, partner_id="partner-globex", tier="platinum", webhook_secret="whsec_new_value_0123456789"
        ),
    )

    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.webhook_secret == "whsec_new_value_0123456789"
    assert (partner.partner_id, partner.tier) == ("partner-acme", "gold")


def test_staff_actions_only_reach_their_own_partner(
    partner: Partner, other_partner: Partner, acme_staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partners import operations

    tested: list[str] = []
    monkeypatch.setattr(
        operations,
        "partner_connection_test",
        lambda *, partner: (
            tested.append(partner.partner_id) or operations.ConnectionCheck(partner, True, "ok")
        ),
    )

    admin_client(acme_staff).post(
        "/admin/partners/partner/",
        {"action": "test_connection", "_selected_action": [partner.pk, other_partner.pk]},
    )

    assert tested == ["partner-acme"]


def test_staff_cannot_make_anyone_a_superuser_or_move_them_to_another_partner(
    partner: Partner, other_partner: Partner, acme_staff: User, viewer: User
) -> None:
    change = admin_client(acme_staff).get(f"/admin/accounts/user/{viewer.pk}/change/")

    assert 'name="is_superuser"' not in change.text
    assert 'name="partner"' not in change.text
    assert change.status_code == 200


def test_the_previous_secret_expiry_is_shown_without_the_secret(partner: Partner, superuser: User) -> None:
    partner.previous_webhook_secret = "whsec_previous_secret_value_999"
    partner.previous_webhook_secret_expires_at = timezone.now() + timedelta(hours=3)
    partner.save()

    change = admin_client(superuser).get(f"/admin/partners/partner/{partner.pk}/change/")

    assert "whsec_previous_secret_value_999" not in change.text
    assert "Previous webhook secret accepted until" in change.text
