from __future__ import annotations

import pytest
import requests

from tests.factories import form_key, make_cluster, make_migration, make_vm
from tests.fakes import ROOT, error_body, vm_payload
from vms.models import VM

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(partner):
    make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1")
    return make_vm(partner, 1, name="alpha", status="running", tags={"env": "prod", "team": "web"})


def _serve_vm(mocked_api, **fields):
    fields.setdefault("tags", {"env": "prod", "team": "web"})
    fields.setdefault("updated_at", "2026-06-01T00:00:00Z")  # newer than the cached copy
    mocked_api.get(f"{ROOT}/vms/vm-00001", json=vm_payload(1, name="alpha", **fields))


def test_the_page_shows_spec_tags_cluster_and_the_state_novacron_reports_now(
    vm, writer, client_of, mocked_api
):
    _serve_vm(mocked_api, status="stopped", updated_at="2026-02-01T00:00:00Z")

    response = client_of(writer).get("/vms/vm-00001/")

    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-vm-status="stopped"' in body
    assert "CL-AWS-USE1-A" in body and "us-east-1" in body and "team:web" in body and "ubuntu-22.04" in body
    assert VM.objects.get(pk=vm.pk).status == "stopped"
    assert 'data-metrics-url="/vms/vm-00001/metrics.json"' in body


def test_when_novacron_is_unreachable_the_cached_vm_is_shown_with_its_age(vm, writer, client_of, mocked_api):
    mocked_api.get(f"{ROOT}/vms/vm-00001", body=requests.ConnectionError("refused"))

    response = client_of(writer).get("/vms/vm-00001/")

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="stale-banner"' in body and "NovaCron is unreachable right now." in body
    assert 'data-vm-status="running"' in body


def test_a_vm_novacron_no_longer_has_leaves_the_cache(vm, writer, client_of, mocked_api):
    mocked_api.get(f"{ROOT}/vms/vm-00001", status=404, body=error_body("not_found", "no such VM"))

    response = client_of(writer).get("/vms/vm-00001/")

    assert response.status_code == 302 and response["Location"] == "/vms/"
    assert not VM.objects.filter(pk=vm.pk).exists()


def test_an_active_migration_is_listed_on_the_vm_page(vm, writer, client_of, mocked_api):
    _serve_vm(mocked_api, status="migrating")
    make_migration(vm.partner, "mig-1", "vm-00001")

    body = client_of(writer).get("/vms/vm-00001/").content.decode()

    assert 'id="vm-migrations-vm-00001"' in body and "mig-1" in body


# --- actions and why they are disabled ------------------------------------------------------


def _reasons(body: str) -> str:
    start = body.index('id="vm-action-reasons"')
    return body[start : body.index("</ul>", start)]


def test_a_running_vm_offers_stop_and_delete_but_not_start(vm, writer, client_of, mocked_api):
    _serve_vm(mocked_api, status="running")

    body = client_of(writer).get("/vms/vm-00001/").content.decode()

    assert "Start: A running VM can&#x27;t be started." in _reasons(body)
    assert 'data-reason-for="stop"' not in body and 'data-reason-for="delete"' not in body


def test_a_stopped_vm_cannot_be_stopped(vm, writer, client_of, mocked_api):
    _serve_vm(mocked_api, status="stopped")

    body = client_of(writer).get("/vms/vm-00001/").content.decode()

    assert "Stop: A stopped VM can&#x27;t be stopped." in _reasons(body)


def test_a_migrating_vm_cannot_be_deleted_started_or_stopped(vm, writer, client_of, mocked_api):
    _serve_vm(mocked_api, status="migrating")

    reasons = _reasons(client_of(writer).get("/vms/vm-00001/").content.decode())

    assert "Delete: A migrating VM can&#x27;t be deleted." in reasons
    assert (
        "A migrating VM can&#x27;t be started." in reasons
        and "A migrating VM can&#x27;t be stopped." in reasons
    )


def test_a_provisioning_vm_can_be_neither_started_nor_stopped(vm, writer, client_of, mocked_api):
    _serve_vm(mocked_api, status="provisioning")

    reasons = _reasons(client_of(writer).get("/vms/vm-00001/").content.decode())

    assert reasons.count("The VM is still provisioning.") == 2


def _permission_note(body: str) -> str:
    start = body.index('id="vm-permission-note"')
    return body[start : body.index("</p>", start)]


def _body_tag(body: str) -> str:
    return body[body.index("<body") : body.index(">", body.index("<body"))]


def test_a_viewer_is_told_the_role_cannot_change_vms_and_the_page_draws_no_controls(
    vm, viewer, grant, api_settings, client_of, mocked_api
):
    grant(viewer, "openid profile email vm:read")
    _serve_vm(mocked_api, status="running")

    body = client_of(viewer).get("/vms/vm-00001/").content.decode()

    assert "Your role (viewer) can&#x27;t start, stop or delete VMs." in _permission_note(body)
    assert 'data-can-write-vms="0"' in _body_tag(body)
    card = body[body.index('id="vm-actions-vm-00001"') : body.index('id="vm-permission-note"')]
    assert "data-action=" not in card and "<form" not in card


def test_a_missing_vm_write_scope_offers_the_grant_link(vm, reader, client_of, mocked_api):
    _serve_vm(mocked_api, status="running")

    body = client_of(reader).get("/vms/vm-00001/").content.decode()

    note = _permission_note(body)
    assert 'data-grant-scope="vm:write"' in note
    assert "/accounts/grant/?scope=vm%3Awrite&amp;next=%2Fvms%2Fvm-00001%2F" in note
    assert 'data-can-write-vms="0"' in _body_tag(body)


def test_someone_who_may_change_vms_gets_no_permission_note(vm, writer, client_of, mocked_api):
    _serve_vm(mocked_api, status="running")

    body = client_of(writer).get("/vms/vm-00001/").content.decode()

    assert 'id="vm-permission-note"' not in body
    assert 'data-can-write-vms="1"' in _body_tag(body)


def test_stopping_a_running_vm_goes_through_novacron_and_updates_the_cache(vm, writer, client_of, mocked_api):
    stop = mocked_api.post(
        f"{ROOT}/vms/vm-00001/stop",
        json=vm_payload(1, name="alpha", status="stopped", updated_at="2026-03-01T00:00:00Z"),
    )

    response = client_of(writer).post("/vms/vm-00001/stop/", form_key())

    assert response.status_code == 302 and response["Location"] == "/vms/vm-00001/"
    assert stop.call_count == 1
    assert stop.calls[0].request.headers["Authorization"] == f"Bearer access-{writer.pk}"
    assert VM.objects.get(pk=vm.pk).status == "stopped"


def test_starting_a_stopped_vm_updates_the_cache(partner, writer, client_of, mocked_api):
    vm = make_vm(partner, 1, status="stopped")
    mocked_api.post(
        f"{ROOT}/vms/vm-00001/start",
        json=vm_payload(1, status="provisioning", updated_at="2026-03-01T00:00:00Z"),
    )

    client_of(writer).post("/vms/vm-00001/start/", form_key())

    assert VM.objects.get(pk=vm.pk).status == "provisioning"


def test_an_action_that_does_not_apply_is_refused_without_calling_novacron(vm, writer, client_of, mocked_api):
    response = client_of(writer).post("/vms/vm-00001/start/", form_key(), follow=True)

    assert "A running VM can&#x27;t be started." in response.content.decode()
    assert not [call for call in mocked_api.calls if call.request.method == "POST"]


def test_a_viewer_cannot_act_even_by_posting_directly(vm, viewer, grant, api_settings, client_of, mocked_api):
    grant(viewer, "openid profile email vm:read vm:write")

    client_of(viewer).post("/vms/vm-00001/stop/", form_key())

    assert len(mocked_api.calls) == 0
    assert VM.objects.get(pk=vm.pk).status == "running"


def test_a_conflict_from_novacron_is_explained(vm, writer, client_of, mocked_api):
    mocked_api.post(f"{ROOT}/vms/vm-00001/stop", status=409, body=error_body("conflict", "VM is migrating"))
    _serve_vm(mocked_api, status="migrating")

    response = client_of(writer).post("/vms/vm-00001/stop/", form_key(), follow=True)

    assert "Could not stop alpha: VM is migrating" in response.content.decode()


def test_delete_asks_for_confirmation_first(vm, writer, client_of, mocked_api):
    response = client_of(writer).get("/vms/vm-00001/delete/")

    assert response.status_code == 200
    assert 'data-action="confirm-delete"' in response.content.decode()
    assert len(mocked_api.calls) == 0 and VM.objects.filter(pk=vm.pk).exists()


def test_confirming_delete_removes_the_vm(vm, writer, client_of, mocked_api):
    delete = mocked_api.delete(f"{ROOT}/vms/vm-00001", status=204)

    response = client_of(writer).post("/vms/vm-00001/delete/", form_key())

    assert response.status_code == 302 and response["Location"] == "/vms/"
    assert delete.call_count == 1
    assert not VM.objects.filter(pk=vm.pk).exists()


def test_the_confirmation_page_refuses_a_migrating_vm(partner, writer, client_of):
    make_vm(partner, 1, status="migrating")

    body = client_of(writer).get("/vms/vm-00001/delete/").content.decode()

    assert "A migrating VM can&#x27;t be deleted." in body and "confirm-delete" not in body


# --- tenant isolation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/vms/vm-00001/"),
        ("get", "/vms/vm-00001/metrics.json"),
        ("post", "/vms/vm-00001/start/"),
        ("post", "/vms/vm-00001/stop/"),
        ("get", "/vms/vm-00001/delete/"),
        ("post", "/vms/vm-00001/delete/"),
    ],
)
def test_an_outsider_gets_a_404_for_another_partners_vm(
    vm, outsider, grant, api_settings, client_of, mocked_api, method, path
):
    grant(outsider, "openid profile email vm:read vm:write")

    response = getattr(client_of(outsider), method)(path)

    assert response.status_code == 404
    assert len(mocked_api.calls) == 0
    assert VM.objects.filter(pk=vm.pk, status="running").exists()


def test_an_outsider_with_the_same_vm_id_sees_only_their_own(
    vm, other_partner, outsider, grant, api_settings, client_of, mocked_api
):
    grant(outsider, "openid profile email vm:read")
    make_vm(other_partner, 1, name="globex-box")
    mocked_api.get(f"{ROOT}/vms/vm-00001", json=vm_payload(1, name="globex-box", partner_id="partner-globex"))

    body = client_of(outsider).get("/vms/vm-00001/").content.decode()

    assert "globex-box" in body and "alpha" not in body


def test_the_status_badge_is_the_live_one_a_webhook_replaces(vm, writer, client_of, mocked_api):
    from django.template.loader import render_to_string

    _serve_vm(mocked_api, status="stopped", updated_at="2026-02-01T00:00:00Z")

    body = client_of(writer).get("/vms/vm-00001/").content.decode()

    assert body.count('id="vm-status-vm-00001"') == 1
    vm.refresh_from_db()
    assert render_to_string("vms/_vm_status.html", {"vm": vm}).strip() in body
