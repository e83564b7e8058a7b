"""Deterministic demo data: partners, credentials, clusters, VMs and a few running migrations.

Re-running adds nothing twice: ids come from seeded generators and rows are inserted with
ignore_conflicts; secrets are generated once and kept.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from sandbox.core.models import VM, APICredential, Cluster, Migration, Partner
from sandbox.core.tiers import default_quota_limits

SEED = 20260115
BATCH = 2000
ENTITLEMENTS = ["vm_management", "live_migration", "cold_migration", "webhooks", "metrics"]
PARTNERS = [
    ("partner-acme", "Acme Corp", "technology", "gold", 0.55),
    ("partner-globex", "Globex", "managed_service", "silver", 0.35),
    ("partner-initech", "Initech", "reseller", "bronze", 0.10),
]
CLUSTERS = [
    ("cl-aws-use1-a", "AWS us-east-1 A", "aws", "us-east-1", 10000),
    ("cl-aws-use1-b", "AWS us-east-1 B", "aws", "us-east-1", 10000),
    ("cl-aws-usw2-a", "AWS us-west-2 A", "aws", "us-west-2", 10000),
    ("cl-aws-euw1-a", "AWS eu-west-1 A", "aws", "eu-west-1", 10000),
    ("cl-gcp-euw1-a", "GCP europe-west1 A", "gcp", "europe-west1", 10000),
    ("cl-azr-weu-a", "Azure westeurope A", "azure", "westeurope", 5000),
    ("cl-onprem-dc1-a", "On-prem DC1 A", "onprem", "dc1", 1000),
    ("cl-onprem-dc1-b", "On-prem DC1 B", "onprem", "dc1", 2500),
]
TEMPLATES = (["ubuntu-22.04"] * 5 + ["ubuntu-24.04"] * 4 + ["debian-12"] * 3 + ["rhel-9"] * 2
             + ["windows-2022"] * 2 + ["rocky-9"])  # fmt: skip
SIZES = [(1, 2), (2, 4), (2, 4), (2, 8), (4, 8), (4, 8), (4, 16), (8, 16), (8, 32), (16, 64), (32, 128)]
DISKS = [20, 40, 40, 50, 80, 100, 100, 200, 250, 500, 1000, 2000]
ROLES = [
    "web",
    "api",
    "db",
    "cache",
    "worker",
    "batch",
    "kafka",
    "search",
    "ci-runner",
    "gateway",
    "etl",
    "auth",
]
ENVIRONMENTS = ["prod"] * 4 + ["staging"] * 2 + ["dev", "qa"]
TEAMS = ["payments", "search", "platform", "data", "web", "identity", "billing"]
STATUSES = ["running"] * 85 + ["stopped"] * 10 + ["error"] * 2 + ["deleted"] * 3


@dataclass(frozen=True)
class SeedReport:
    partners: list[Partner]
    vms_created: int
    migrations_started: int
    logins: Any


def seed_partners(now: datetime) -> list[Partner]:
    partners = []
    for partner_id, name, kind, tier, _share in PARTNERS:
        partner, _ = Partner.objects.get_or_create(
            partner_id=partner_id,
            defaults={"name": name, "type": kind, "tier": tier, "entitlements": ENTITLEMENTS,
                      "quota_limits": default_quota_limits(tier), "created_at": now - timedelta(days=400)},
        )  # fmt: skip
        if not partner.credentials.exists():
            APICredential.objects.create(
                partner=partner, api_key=f"nck_{secrets.token_hex(12)}", api_secret=secrets.token_urlsafe(32)
            )
        partners.append(partner)
    return partners


def seed_clusters() -> list[Cluster]:
    for cluster_id, name, cloud, region, link in CLUSTERS:
        Cluster.objects.get_or_create(
            cluster_id=cluster_id,
            defaults={"name": name, "cloud_provider": cloud, "region": region, "link_speed_mbps": link,
                      "vcpus_total": 20000, "memory_gb_total": 80000},
        )  # fmt: skip
    return list(Cluster.objects.order_by("cluster_id"))


def _special_tags(index: int, rng: random.Random) -> dict[str, str]:
    # The first VMs of each partner are the demo's known cases; a sprinkle elsewhere keeps lists honest.
    if index == 1 or (index > 10 and rng.random() < 0.004):
        return {"sandbox.fail": "migration"}
    if index == 2 or (index > 10 and rng.random() < 0.01):
        return {"sandbox.dirty": "high"}
    if index == 3 or (index > 10 and rng.random() < 0.003):
        return {"sandbox.cpu": "hot"}
    return {}


def generate_vms(partner: Partner, count: int, clusters: list[Cluster], now: datetime) -> list[VM]:
    rng = random.Random(f"{SEED}:{partner.partner_id}")
    vms = []
    for index in range(count):
        cluster = clusters[rng.randrange(len(clusters))]
        cpu, memory = SIZES[rng.randrange(len(SIZES))]
        env, role, team = rng.choice(ENVIRONMENTS), rng.choice(ROLES), rng.choice(TEAMS)
        status = rng.choice(STATUSES) if index > 10 else "running"
        created = now - timedelta(days=1, seconds=rng.randrange(365 * 86400))
        updated = created + timedelta(
            seconds=rng.randrange(max(1, int((now - created).total_seconds()) - 86400))
        )
        tags = {"env": env, "team": team, "role": role, "cost-center": f"cc-{rng.randint(100, 999)}"}
        tags.update(_special_tags(index, rng))
        vms.append(VM(
            vm_id=f"vm-{rng.getrandbits(64):016x}", partner=partner, name=f"{env}-{role}-{index % 97:02d}-{index:05d}",
            status=status, template=rng.choice(TEMPLATES), cpu_cores=cpu, memory_gb=memory,
            disk_size_gb=rng.choice(DISKS), network_id=f"net-{cluster.region}-{rng.randint(1, 12):02d}",
            cloud_provider=cluster.cloud_provider, region=cluster.region, cluster=cluster,
            ip_address=f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}", tags=tags,
            created_at=created, updated_at=updated, deleted_at=updated if status == "deleted" else None,
        ))  # fmt: skip
    return vms


def seed_vms(
    partners: list[Partner], clusters: list[Cluster], total: int, only: str | None, now: datetime
) -> int:
    created = 0
    shares = {pid: share for pid, _n, _k, _t, share in PARTNERS}
    for partner in partners:
        count = (
            total
            if only == partner.partner_id
            else (0 if only else round(total * shares[partner.partner_id]))
        )
        vms = generate_vms(partner, count, clusters, now)
        before = VM.objects.filter(partner=partner).count()
        for start in range(0, len(vms), BATCH):
            with transaction.atomic():
                VM.objects.bulk_create(vms[start : start + BATCH], ignore_conflicts=True)
        created += VM.objects.filter(partner=partner).count() - before
    return created


def _target_for(vm: VM, clusters: list[Cluster]) -> Cluster:
    """Another region of the same cloud when there is one: a believable, demo-length move (about 30 s)."""
    others = [c for c in clusters if c.cluster_id != vm.cluster_id]
    same_cloud = [c for c in others if c.cloud_provider == vm.cloud_provider]
    other_region = [c for c in same_cloud if c.region != vm.region]
    return (other_region or same_cloud or others)[0]


def seed_migrations(partners: list[Partner], clusters: list[Cluster]) -> int:
    from sandbox.core.services.migrations import migration_create

    started = 0
    for partner, wanted in zip(partners, (3, 1, 0), strict=True):
        if wanted == 0 or Migration.objects.filter(partner=partner).exists():
            continue
        candidates = VM.objects.filter(
            partner=partner, status="running", cloud_provider="aws", memory_gb__lte=16, disk_size_gb__lte=100
        )
        chosen = [
            vm for vm in candidates.order_by("created_at", "vm_id")[:50] if not vm.tags.get("sandbox.fail")
        ]
        for vm in chosen[:wanted]:
            migration_create(partner=partner, spec={"source_vm_id": vm.vm_id, "migration_type": "live",
                                                    "target_cluster": _target_for(vm, clusters).cluster_id})  # fmt: skip
            started += 1
    return started


def size_clusters(clusters: list[Cluster]) -> None:
    """Capacity a third above what the seeded VMs use, so the figures look like a healthy fleet."""
    from sandbox.core.selectors import cluster_capacity

    for cluster, vcpus_used, memory_used in cluster_capacity():
        cluster.vcpus_total = max(cluster.vcpus_total, -(-int(vcpus_used * 1.35) // 1000) * 1000)
        cluster.memory_gb_total = max(cluster.memory_gb_total, -(-int(memory_used * 1.35) // 1000) * 1000)
        cluster.save(update_fields=["vcpus_total", "memory_gb_total"])


def seed_logins(partners: list[Partner]) -> Any:
    try:
        from sandbox.identity.seed import seed_users
    except ImportError:
        return []
    return seed_users(partners)


def seed(*, vms: int = 2000, only_partner: str | None = None) -> SeedReport:
    now = timezone.now()
    partners = seed_partners(now)
    clusters = seed_clusters()
    created = seed_vms(partners, clusters, vms, only_partner, now)
    size_clusters(clusters)
    started = seed_migrations(partners, clusters)
    return SeedReport(
        partners=partners, vms_created=created, migrations_started=started, logins=seed_logins(partners)
    )
