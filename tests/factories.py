from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.fakes import T0
from vms.models import VM, Cluster, Migration, SyncRun


def make_vm(partner: Any, n: int, **fields: Any) -> VM:
    values = {
        "vm_id": f"vm-{n:05d}",
        "name": f"web-{n:05d}",
        "status": "running",
        "template": "ubuntu-22.04",
        "cpu_cores": 2,
        "memory_gb": 4,
        "disk_size_gb": 50,
        "network_id": "net-1",
        "cloud_provider": "aws",
        "region": "us-east-1",
        "cluster": "cl-aws-use1-a",
        "ip_address": f"10.0.0.{n % 250}",
        "tags": {"env": "prod"},
        "created_at": T0 + timedelta(minutes=n),
        "updated_at": T0 + timedelta(minutes=n),
        "synced_at": T0,
    }
    values.update(fields)
    return VM.objects.create(partner=partner, **values)


def make_vms(partner: Any, count: int, start: int = 1, **fields: Any) -> list[VM]:
    rows = []
    for n in range(start, start + count):
        vm = VM(
            partner=partner,
            vm_id=f"vm-{n:05d}",
            name=f"bulk-{n:05d}",
            status="running",
            cloud_provider="aws",
            region="us-east-1",
            cluster="cl-aws-use1-a",
            tags={"env": "prod"},
            created_at=T0 + timedelta(minutes=n),
            updated_at=T0,
            synced_at=T0,
        )
        for key, value in fields.items():
            setattr(vm, key, value)
        rows.append(vm)
    return VM.objects.bulk_create(rows)


def make_cluster(partner: Any, cluster_id: str, cloud: str, region: str) -> Cluster:
    return Cluster.objects.create(
        partner=partner,
        cluster_id=cluster_id,
        name=cluster_id.upper(),
        cloud_provider=cloud,
        region=region,
        synced_at=T0,
    )


def make_migration(partner: Any, migration_id: str, vm_id: str, **fields: Any) -> Migration:
    values = {
        "source_vm_id": vm_id,
        "source_cluster": "cl-aws-use1-a",
        "target_cluster": "cl-aws-use1-b",
        "migration_type": "live",
        "status": "in_progress",
        "phase": "data_sync",
        "progress_percentage": 40,
        "created_at": T0,
        "updated_at": T0,
        "synced_at": T0,
    }
    values.update(fields)
    return Migration.objects.create(partner=partner, migration_id=migration_id, **values)


def record_sync(partner: Any, *, finished_at: Any, kind: str = SyncRun.Kind.VMS_INCREMENTAL) -> SyncRun:
    return SyncRun.objects.create(
        partner=partner,
        kind=kind,
        status=SyncRun.Status.SUCCEEDED,
        started_at=finished_at,
        finished_at=finished_at,
        watermark=finished_at,
    )


def make_job(partner: Any, job_id: str, vm_ids: list[str], *, kind: str = "stop", **fields: Any) -> Any:
    """A bulk job of `kind` over these VMs, its items pending (jobs app)."""
    from jobs.models import Job, JobItem

    job = Job.objects.create(partner=partner, job_id=job_id, kind=kind, created_at=T0, **fields)
    JobItem.objects.bulk_create(
        JobItem(job=job, vm_id=vm_id, vm_name=vm_id, position=n) for n, vm_id in enumerate(vm_ids)
    )
    return job


def form_key() -> dict[str, str]:
    """The hidden Idempotency-Key field a portal form carries, as a rendered form would post it."""
    import uuid

    return {"idempotency_key": uuid.uuid4().hex}
