from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from novacron.errors import QuotaExceededError
from novacron.models import VM as ApiVM
from novacron.models import MigrationStatus

from jobs import services
from tests.conftest import sandbox_server  # noqa: F401  (the shared real-sandbox fixture)
from tests.fakes import migration_payload, vm_payload


class FakeClient:
    """NovaCron as the items see it: records every request with its Idempotency-Key, and replays
    the first answer for a repeated key as NovaCron does."""

    rate_limit = None

    def __init__(self, *, migration_limit: int | None = None) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        self.answers: dict[str, Any] = {}
        self.migration_limit = migration_limit
        self.active: set[str] = set()

    def _answer(self, key: str | None, make: Any) -> Any:
        if key and key in self.answers:
            return self.answers[key]
        answer = make()
        if key:
            self.answers[key] = answer
        return answer

    def stop_vm(self, vm_id: str, *, idempotency_key: str | None = None) -> ApiVM:
        self.calls.append(("stop", vm_id, idempotency_key))
        n = int(vm_id.split("-")[1])
        return self._answer(
            idempotency_key,
            lambda: ApiVM.from_dict(vm_payload(n, status="stopped", updated_at="2027-01-01T00:00:00Z")),
        )

    def start_vm(self, vm_id: str, *, idempotency_key: str | None = None) -> ApiVM:
        self.calls.append(("start", vm_id, idempotency_key))
        n = int(vm_id.split("-")[1])
        return self._answer(
            idempotency_key,
            lambda: ApiVM.from_dict(vm_payload(n, status="running", updated_at="2027-01-01T00:00:00Z")),
        )

    def start_migration(self, spec: Any, *, idempotency_key: str | None = None) -> MigrationStatus:
        self.calls.append(("migrate", spec.source_vm_id, idempotency_key))

        def make() -> MigrationStatus:
            if self.migration_limit is not None and len(self.active) >= self.migration_limit:
                raise QuotaExceededError(
                    "quota",
                    status=403,
                    code="quota_exceeded",
                    details={
                        "quota": "migration_concurrent",
                        "limit": self.migration_limit,
                        "used": len(self.active),
                    },
                )
            migration_id = f"mig-{spec.source_vm_id}"
            self.active.add(migration_id)
            return MigrationStatus.from_dict(
                migration_payload(
                    migration_id, source_vm_id=spec.source_vm_id, target_cluster=spec.target_cluster
                )
            )

        return self._answer(idempotency_key, make)

    def per_vm(self) -> Counter[str]:
        """Distinct requests per VM, as NovaCron counts them (a replayed key is not a second one)."""
        return Counter(vm_id for _, vm_id, _ in {(a, v, k) for a, v, k in self.calls})


class Runner:
    """Celery stand-in: queued tasks are collected and run in order by `drain`."""

    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.queue: list[tuple[str, int, int]] = []

    def drain(self, limit: int = 10_000) -> None:
        from jobs.budget import JobsPacer

        for _ in range(limit):
            if not self.queue:
                return
            task, pk, tries = self.queue.pop(0)
            if task == "advance":
                services.job_advance(pk)
            else:
                from jobs.models import JobItem

                item = JobItem.objects.select_related("job__partner").get(pk=pk)
                pacer = JobsPacer(
                    partner=item.job.partner, share=1.0, limit_per_minute=10**9, sleep=lambda s: None
                )
                services.item_run(pk, client=self.client, pacer=pacer, tries=tries)
        raise AssertionError("the queue never emptied")


@pytest.fixture
def fake_client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def runner(fake_client: FakeClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    run = Runner(fake_client)
    monkeypatch.setattr(
        services, "queue_advance", lambda pk, countdown=0: run.queue.append(("advance", pk, 0))
    )
    monkeypatch.setattr(
        services, "_queue_item", lambda pk, countdown=0, tries=0: run.queue.append(("item", pk, tries))
    )
    monkeypatch.setattr("jobs.publishing.job_changed_soon", lambda job: None)
    monkeypatch.setattr("jobs.services.quota_refresh_soon", lambda partner_pk: None)
    yield run
