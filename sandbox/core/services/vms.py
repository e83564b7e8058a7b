"""VM lifecycle writes: create (provisioning), start, stop, delete (tombstone)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from sandbox.api.errors import Conflict, NotFound, ValidationFailed
from sandbox.core.ids import new_id
from sandbox.core.models import VM, Cluster, Partner
from sandbox.core.serializers import vm_json
from sandbox.core.services.events import event_emit
from sandbox.core.services.history import state_changed
from sandbox.core.services.quotas import quota_require
from sandbox.engine.clock import real_delta

PROVISIONING_SIMULATED_SECONDS = (20.0, 45.0)


def cluster_for(*, cloud_provider: str, region: str, cluster_id: str | None) -> Cluster:
    if cluster_id:
        cluster = Cluster.objects.filter(cluster_id=cluster_id).first()
        if cluster is None:
            raise ValidationFailed.on("cluster", f"unknown cluster {cluster_id}")
        if (cluster.cloud_provider, cluster.region) != (cloud_provider, region):
            raise ValidationFailed.on("cluster", "is not in that cloud_provider and region")
        return cluster
    cluster = Cluster.objects.filter(cloud_provider=cloud_provider, region=region, status="active").first()
    if cluster is None:
        raise ValidationFailed.on("region", f"no {cloud_provider} cluster in {region}")
    return cluster


def private_ip(rng: random.Random) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"


def vm_create(*, partner: Partner, spec: Mapping[str, Any], now: datetime | None = None) -> VM:
    """`spec` is a VM specification the API's `VMSpecIn` schema has validated."""
    now = now or timezone.now()
    cluster = cluster_for(
        cloud_provider=str(spec["cloud_provider"]), region=str(spec["region"]), cluster_id=spec.get("cluster")
    )
    quota_require(partner=partner, name="vm_create_per_day")
    rng = random.Random()
    with transaction.atomic():
        vm = VM.objects.create(
            vm_id=new_id("vm-", 8),
            partner=partner,
            name=spec["name"],
            status="provisioning",
            template=spec["template"],
            cpu_cores=spec["cpu_cores"],
            memory_gb=spec["memory_gb"],
            disk_size_gb=spec["disk_size_gb"],
            network_id=spec["network_id"],
            cloud_provider=cluster.cloud_provider,
            region=cluster.region,
            cluster=cluster,
            ip_address=private_ip(rng),
            tags=dict(spec.get("tags") or {}),
            created_at=now,
            updated_at=now,
            ready_at=now + real_delta(rng.uniform(*PROVISIONING_SIMULATED_SECONDS)),
        )
        state_changed(vm, at=now)
        event_emit(partner=partner, event_type="vm.created", data=vm_json(vm), now=now)
    return vm


def _transition(vm: VM, *, status: str, event_type: str, now: datetime) -> VM:
    vm.status = status
    vm.updated_at = now
    vm.save(update_fields=["status", "updated_at"])
    state_changed(vm, at=now)
    event_emit(partner=vm.partner_id, event_type=event_type, data=vm_json(vm), now=now)
    return vm


@transaction.atomic
def vm_start(*, vm: VM, now: datetime | None = None) -> VM:
    vm = VM.objects.select_for_update().get(pk=vm.pk)
    if vm.status != "stopped":
        raise Conflict(f"A {vm.status} VM cannot be started.", details={"status": vm.status})
    return _transition(vm, status="running", event_type="vm.started", now=now or timezone.now())


@transaction.atomic
def vm_stop(*, vm: VM, now: datetime | None = None) -> VM:
    vm = VM.objects.select_for_update().get(pk=vm.pk)
    if vm.status != "running":
        raise Conflict(f"A {vm.status} VM cannot be stopped.", details={"status": vm.status})
    return _transition(vm, status="stopped", event_type="vm.stopped", now=now or timezone.now())


@transaction.atomic
def vm_delete(*, vm: VM, now: datetime | None = None) -> VM:
    now = now or timezone.now()
    vm = VM.objects.select_for_update().get(pk=vm.pk)
    if vm.status == "deleted":
        raise NotFound(f"No VM {vm.vm_id}.")
    if vm.status == "migrating":
        raise Conflict("The VM is migrating; cancel the migration first.", details={"status": vm.status})
    vm.deleted_at = now
    vm.save(update_fields=["deleted_at"])
    return _transition(vm, status="deleted", event_type="vm.deleted", now=now)


def vms_finish_provisioning(*, now: datetime | None = None) -> int:
    """The engine's step: provisioning VMs whose time has come are running."""
    now = now or timezone.now()
    ready = list(VM.objects.filter(status="provisioning", ready_at__lte=now)[:500])
    for vm in ready:
        with transaction.atomic():
            updated = VM.objects.filter(pk=vm.pk, status="provisioning").update(
                status="running", updated_at=now
            )
            if updated:
                vm.status, vm.updated_at = "running", now
                state_changed(vm, at=now)
                event_emit(partner=vm.partner_id, event_type="vm.started", data=vm_json(vm), now=now)
    return len(ready)
