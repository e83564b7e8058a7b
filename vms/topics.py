"""The live topics the vms app publishes (`live.services.publish`). A page listens to a topic by its
name (webhooks.context_processors gives every page the list), so each name is written only here."""

from __future__ import annotations

VM_TOPIC = "vm"  # a VM's badge, list row, Actions card and specification (vms.publishing)
MIGRATION_TOPIC = "migration"  # a migration's progress panel
QUOTAS_TOPIC = "quotas"  # the overview's quota cards
FLEET_TOPIC = "fleet"  # the overview's counts of VMs by status, cloud and region
