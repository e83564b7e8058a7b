"""HMAC signing with ids full of reserved and non-ASCII characters, end to end against a running
sandbox: the SDK signs the decoded path the sandbox verifies, so a missing id is 404, never 401."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from novacron import Client, NotFoundError, SDKConfig

from tests.servers import SandboxServer

pytestmark = pytest.mark.integration

ODD_IDS = ["vm odd", "a/b", "ü", "vm-ü-😀", "100%", "%41", "why?", "tag#1", "a+b", "semi;colon", "x..y"]


@pytest.fixture
def acme(sandbox_server: SandboxServer) -> Iterator[Client]:
    credential = sandbox_server.credentials["partner-acme"]
    config = SDKConfig(
        base_url=sandbox_server.url,
        partner_id=credential["partner_id"],
        api_key=credential["api_key"],
        api_secret=credential["api_secret"],
        max_retries=0,
    )
    with Client(config) as client:
        yield client


@pytest.mark.parametrize("vm_id", ODD_IDS)
def test_an_odd_vm_id_is_not_found_rather_than_a_bad_signature(acme: Client, vm_id: str) -> None:
    with pytest.raises(NotFoundError) as raised:
        acme.get_vm(vm_id)
    assert raised.value.status == 404


@pytest.mark.parametrize("migration_id", ODD_IDS)
def test_an_odd_migration_id_is_not_found_rather_than_a_bad_signature(
    acme: Client, migration_id: str
) -> None:
    with pytest.raises(NotFoundError):
        acme.get_migration_status(migration_id)


def test_an_existing_vm_is_found_through_the_same_signing(acme: Client) -> None:
    vm = acme.list_vms(limit=1).data[0]
    assert acme.get_vm(vm.vm_id).vm_id == vm.vm_id
