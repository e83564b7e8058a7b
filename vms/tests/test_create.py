from __future__ import annotations

import json
import uuid

import pytest
import requests

from partners.models import Quota
from tests.factories import make_cluster
from tests.fakes import ROOT, T0, error_body, vm_payload
from vms.models import VM

pytestmark = pytest.mark.django_db

URL = "/vms/new/"
CHECK = f"{ROOT}/partners/partner-acme/quotas/check"


@pytest.fixture
def clusters(partner):
    return [
        make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1"),
        make_cluster(partner, "cl-gcp-euw1-a", "gcp", "europe-west1"),
    ]


@pytest.fixture
def quota_left(mocked_api):
    return mocked_api.post(
        CHECK,
        json={"allowed": True, "quota": "vm_create_per_day", "limit": 200, "used": 12, "remaining": 188},
    )


@pytest.fixture
def quota_spent(partner, mocked_api):
    Quota.objects.create(
        partner=partner,
        name="vm_create_per_day",
        limit=200,
        used=200,
        remaining=0,
        reset_at=T0.replace(day=16, hour=0),
        synced_at=T0,
    )
    return mocked_api.post(
        CHECK,
        json={"allowed": False, "quota": "vm_create_per_day", "limit": 200, "used": 200, "remaining": 0},
    )


def valid_form(**overrides):
    data = {
        "name": "api-01",
        "template": "ubuntu-24.04",
        "cpu_cores": "4",
        "memory_gb": "8",
        "disk_size_gb": "80",
        "network_id": "net-1",
        "cloud_provider": "aws",
        "region": "us-east-1",
        "cluster": "",
        "tags": "env:prod\nteam : api\n",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def test_the_form_offers_templates_clouds_regions_and_clusters_from_the_cache(
    clusters, writer, client_of, quota_left
):
    body = client_of(writer).get(URL).content.decode()

    for option in (
        "ubuntu-22.04",
        "windows-2022",
        "rocky-9",
        "gcp",
        "europe-west1",
        "cl-aws-use1-a",
        "CL-GCP-EUW1-A",
    ):
        assert f'value="{option}"' in body or option in body
    assert "188 of 200 VM creations left today" in body
    assert 'id="create-vm"' in body and 'id="create-vm" disabled' not in body


def test_a_valid_form_creates_the_vm_through_novacron_and_caches_it(
    clusters, writer, client_of, quota_left, mocked_api
):
    create = mocked_api.post(
        f"{ROOT}/vms",
        status=201,
        json=vm_payload(
            77,
            name="api-01",
            status="provisioning",
            cpu_cores=4,
            memory_gb=8,
            updated_at="2026-06-01T00:00:00Z",
        ),
    )

    response = client_of(writer).post(URL, valid_form(cluster="cl-aws-use1-a"))

    assert response.status_code == 302 and response["Location"] == "/vms/vm-00077/"
    sent = json.loads(create.calls[0].request.body)
    assert sent == {
        "name": "api-01",
        "template": "ubuntu-24.04",
        "cpu_cores": 4,
        "memory_gb": 8,
        "disk_size_gb": 80,
        "network_id": "net-1",
        "cloud_provider": "aws",
        "region": "us-east-1",
        "cluster": "cl-aws-use1-a",
        "tags": {"env": "prod", "team": "api"},
    }
    assert VM.objects.get(vm_id="vm-00077").status == "provisioning"
    assert quota_left.call_count == 1  # the quota is checked before the create call


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"cpu_cores": "0"}, "cpu_cores", "greater than or equal to 1"),
        ({"memory_gb": "2048"}, "memory_gb", "less than or equal to 1024"),
        ({"disk_size_gb": "5"}, "disk_size_gb", "greater than or equal to 10"),
        ({"template": "windows-95"}, "template", "Select a valid choice"),
        ({"tags": "env:prod\nbroken"}, "tags", "“broken”: write each tag as key:value, e.g. env:prod."),
        ({"cluster": "cl-gcp-euw1-a"}, "cluster", "CL-GCP-EUW1-A is in gcp, not aws."),
        ({"cloud_provider": "gcp"}, "region", "No gcp cluster in us-east-1."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_an_invalid_form_is_shown_again_with_the_error_on_its_field(
    clusters, writer, client_of, quota_left, mocked_api, overrides, field, message
):
    response = client_of(writer).post(URL, valid_form(**overrides))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors.get(field, []))
    assert not [call for call in mocked_api.calls if call.request.url == f"{ROOT}/vms"]


def test_novacrons_validation_errors_land_on_the_matching_fields(
    clusters, writer, client_of, quota_left, mocked_api
):
    mocked_api.post(
        f"{ROOT}/vms",
        status=400,
        body=error_body(
            "validation_error",
            "invalid VM spec",
            fields={"network_id": ["unknown network"], "flavor": ["no such thing"]},
        ),
    )

    response = client_of(writer).post(URL, valid_form())

    form = response.context["form"]
    assert form.errors["network_id"] == ["unknown network"]
    assert form.non_field_errors() == ["flavor: no such thing"]
    assert 'data-error-for="network_id"' in response.content.decode()


def test_an_exhausted_quota_disables_the_button_with_the_numbers_and_reset_time(
    clusters, writer, client_of, quota_spent
):
    body = client_of(writer).get(URL).content.decode()

    assert 'id="create-vm" disabled' in body
    assert (
        "200 of 200 VMs created today" in body
        and 'resets at <time datetime="2026-01-16T00:00:00Z">16 Jan 2026, 00:00 UTC</time>' in body
    )


def test_an_exhausted_quota_refuses_a_post_without_calling_create(
    clusters, writer, client_of, quota_spent, mocked_api
):
    response = client_of(writer).post(URL, valid_form())

    assert response.status_code == 200
    assert not [call for call in mocked_api.calls if call.request.url == f"{ROOT}/vms"]


def test_a_quota_exceeded_answer_to_create_shows_the_numbers(
    clusters, writer, client_of, quota_left, mocked_api
):
    mocked_api.post(
        f"{ROOT}/vms",
        status=403,
        body=error_body(
            "quota_exceeded",
            "daily VM quota reached",
            quota="vm_create_per_day",
            limit=200,
            used=200,
            requested=1,
            reset_at="2026-01-16T00:00:00Z",
        ),
    )

    body = client_of(writer).post(URL, valid_form()).content.decode()

    assert "200 of 200 VMs created today" in body and "16 Jan 2026, 00:00 UTC" in body
    assert 'id="create-vm" disabled' in body


def test_an_unreachable_quota_check_still_lets_the_person_try(clusters, writer, client_of, mocked_api):
    mocked_api.post(CHECK, body=requests.ConnectionError("refused"))

    body = client_of(writer).get(URL).content.decode()

    assert "Couldn't check the quota" in body and 'id="create-vm" disabled' not in body


def test_a_viewer_is_told_their_role_cannot_create(
    clusters, viewer, grant, api_settings, client_of, mocked_api
):
    grant(viewer, "openid profile email vm:read vm:write")

    response = client_of(viewer).post(URL, valid_form())

    assert "Your role (viewer) can&#x27;t create VMs." in response.content.decode()
    assert len(mocked_api.calls) == 0


def test_a_missing_scope_offers_the_grant_link(clusters, reader, client_of, mocked_api):
    body = client_of(reader).get(URL).content.decode()

    assert 'data-grant-scope="vm:write"' in body and 'id="create-vm" disabled' in body


def test_an_outsider_is_offered_only_their_own_clusters(
    clusters, outsider, grant, api_settings, client_of, quota_left
):
    grant(outsider, "openid profile email vm:read vm:write")

    response = client_of(outsider).get(URL)

    assert response.status_code == 200
    assert "cl-aws-use1-a" not in response.content.decode()


def test_a_created_vm_has_the_open_overviews_quota_cards_refreshed_soon(
    clusters, writer, client_of, quota_left, mocked_api, monkeypatch
):
    from django.core.cache import cache

    from vms import tasks
    from vms.quota_gauges import QUOTA_REFRESH_DELAY_SECONDS

    cache.clear()
    queued: list[tuple[int, float]] = []
    monkeypatch.setattr(
        tasks.refresh_quotas, "apply_async", lambda args, countdown: queued.append((args[0], countdown))
    )
    mocked_api.post(f"{ROOT}/vms", status=201, json=vm_payload(78, name="api-02", status="provisioning"))

    client_of(writer).post(URL, valid_form(cluster="cl-aws-use1-a"))

    assert queued == [(writer.partner.pk, QUOTA_REFRESH_DELAY_SECONDS)]
