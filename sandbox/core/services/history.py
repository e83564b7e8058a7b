"""The ground truth of VM state changes (`VMStateChange`), written by every service that changes one."""

from __future__ import annotations

from datetime import datetime

from sandbox.core.models import VM, VMStateChange


def _change(vm: VM, at: datetime) -> VMStateChange:
    return VMStateChange(
        partner_id=vm.partner_id,
        vm_id=vm.vm_id,
        at=at,
        status=vm.status,
        cpu_cores=vm.cpu_cores,
        memory_gb=vm.memory_gb,
        cloud_provider=vm.cloud_provider,
        region=vm.region,
        cluster_id=vm.cluster_id,
        tags=dict(vm.tags or {}),
    )


def state_changed(vm: VM, *, at: datetime) -> None:
    _change(vm, at).save()
