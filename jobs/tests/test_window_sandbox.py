"""A scheduled bulk migration against the real sandbox: started by the tick once its time comes, with
the job's downtime window and verify options as NovaCron accepted and reported them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services, windows
from jobs.models import Job, JobItem
from jobs.tests.test_jobs_sandbox import acme  # noqa: F401  (the synced sandbox partner)
from partners.clients import partner_client
from vms.models import VM, Cluster, Migration

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_scheduled_migration_starts_on_the_tick_with_its_options(acme, operator, monkeypatch):  # noqa: F811
    queue: list[tuple[str, int]] = []
    monkeypatch.setattr(services, "queue_advance", lambda pk, countdown=0: queue.append(("advance", pk)))
    monkeypatch.setattr(services, "_queue_item", lambda pk, countdown=0, tries=0: queue.append(("item", pk)))
    monkeypatch.setattr("jobs.publishing.job_changed_soon", lambda job: None)
    vm = VM.objects.filter(partner=acme, status="running", cloud_provider="aws").order_by("vm_id").first()
    assert vm is not None
    target = (
        Cluster.objects.filter(partner=acme, cloud_provider=vm.cloud_provider)
        .exclude(cluster_id=vm.cluster)
        .first()
    )
    assert target is not None
    starts_at = timezone.now() + timedelta(minutes=30)
    job = services.job_create(
        partner=acme,
        user=operator,
        kind="migrate",
        vms=[vm],
        filters={},
        selection="picked",
        parameters={
            "target_cluster": target.cluster_id,
            "migration_type": "live",
            "verify_after_migration": False,
            "downtime_window_minutes": 20,
        },
        schedule=windows.Schedule(time_zone="Europe/Berlin", starts_at=starts_at),
        estimates={vm.vm_id: 120.0},
    )
    services.jobs_tick(now=timezone.now())
    assert queue == [] and Job.objects.get(pk=job.pk).status == Job.Status.SCHEDULED

    services.jobs_tick(now=starts_at)
    client = partner_client(acme, max_retries=0)
    while queue:
        task, pk = queue.pop(0)
        if task == "advance":
            services.job_advance(pk)
        else:
            assert services.item_run(pk, client=client) == "migrating"

    item = JobItem.objects.get(job=job)
    migration = Migration.objects.get(partner=acme, migration_id=item.migration_id)
    assert migration.options == {"verify_after_migration": False, "downtime_window_minutes": 20}
