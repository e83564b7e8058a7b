from __future__ import annotations

from dataclasses import replace

import pytest
from novacron import Client, NotFoundError, UnauthorizedError, ValidationError

pytestmark = pytest.mark.integration


def test_it_reads_the_partner_and_its_quotas(acme: Client) -> None:
    partner = acme.get_partner()
    quotas = {quota.name: quota for quota in acme.get_quotas()}

    assert partner.partner_id == "partner-acme"
    assert partner.tier == "gold"
    assert partner.created_at is not None and partner.created_at.tzinfo is not None
    assert set(quotas) == {"api_calls_per_minute", "vm_create_per_day", "migration_concurrent"}
    assert quotas["migration_concurrent"].reset_at is None
    assert quotas["vm_create_per_day"].limit == partner.quota_limits["vm_create_per_day"]


def test_check_quota_answers_for_an_alias(acme: Client) -> None:
    check = acme.check_quota("vm-create", 1)

    assert check.allowed
    assert check.quota == "vm_create_per_day"
    assert check.remaining <= check.limit


def test_an_unknown_quota_is_a_validation_error(acme: Client) -> None:
    with pytest.raises(ValidationError):
        acme.check_quota("gpu-hours", 1)


def test_every_response_updates_the_rate_limit_budget(acme: Client) -> None:
    acme.get_partner()

    budget = acme.rate_limit
    assert budget is not None
    assert budget.limit == 1000  # gold: 1000 per minute
    assert 0 <= budget.remaining <= 1500
    assert budget.reset.tzinfo is not None


def test_another_partners_vm_is_not_found(acme: Client, globex: Client) -> None:
    acme_vm = acme.list_vms(limit=1).data[0]

    with pytest.raises(NotFoundError):
        globex.get_vm(acme_vm.vm_id)


def test_a_key_used_under_another_partner_id_is_unauthorized(globex: Client) -> None:
    with (
        Client(replace(globex.config, partner_id="partner-acme")) as mismatched,
        pytest.raises(UnauthorizedError),
    ):
        mismatched.get_partner()


def test_a_wrong_secret_is_unauthorized(acme: Client) -> None:
    with (
        Client(replace(acme.config, api_secret="not-the-secret")) as impostor,
        pytest.raises(UnauthorizedError),
    ):
        impostor.get_partner()
