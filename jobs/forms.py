"""The bulk action's form: which action, on which selection, with which options."""

from __future__ import annotations

from typing import Any

from django import forms

from jobs.models import Job
from lib.forms import IdempotentForm
from vms.models import Cluster

SELECTION_CHOICES = [("filter", "Every VM matching the filter"), ("picked", "The VMs picked")]
MIGRATION_TYPES = [("live", "Live"), ("cold", "Cold")]
# At most this many VMs picked one by one (a bigger selection is a filter). The picked ids travel in
# the preview's URL (the list's bulk bar is a GET form): 500 of them (~12 KB of `vm=` pairs) stay under
# the request line a server takes (uvicorn's h11: 16 KB). The list shows at most 200 rows a page and a
# tick picks a row of the page shown, so only a hand-made URL can pass it: refused with a message,
# never cut short in silence.
MAX_PICKED = 500


class JobForm(forms.Form):
    action = forms.ChoiceField(choices=Job.Kind.choices)
    selection = forms.ChoiceField(choices=SELECTION_CHOICES, required=False)
    target_cluster = forms.ChoiceField(required=False, choices=[])
    migration_type = forms.ChoiceField(required=False, choices=MIGRATION_TYPES, initial="live")
    verify_after_migration = forms.BooleanField(required=False, initial=True)
    downtime_window_minutes = forms.IntegerField(required=False, min_value=1, max_value=1440)
    # Delete: the number of VMs, typed.
    confirm = forms.CharField(required=False, max_length=12)

    def __init__(self, data: Any, *, clusters: list[Cluster]) -> None:
        super().__init__(data)
        self.clusters = {cluster.cluster_id: cluster for cluster in clusters}
        target: forms.ChoiceField = self.fields["target_cluster"]  # type: ignore[assignment]
        target.choices = [("", "Choose a cluster")] + [
            (cluster.cluster_id, f"{cluster.name} ({cluster.cloud_provider}, {cluster.region})")
            for cluster in clusters
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.data.get("migration_options"):
            # Not the job form's own options (the VM list's bulk bar, the planner's link): an absent
            # checkbox there is the default, not "unchecked".
            cleaned["verify_after_migration"] = True
        if cleaned.get("action") == Job.Kind.MIGRATE and not cleaned.get("target_cluster"):
            self.add_error("target_cluster", "Choose the cluster to migrate to.")
        if cleaned.get("selection") != "filter" and len(self._picked()) > MAX_PICKED:
            self.add_error(
                None,
                f"At most {MAX_PICKED} VMs can be picked one by one ({len(self._picked())} were): pick fewer, "
                "or filter the list and use “Select all matching this filter”.",
            )
        return cleaned

    @property
    def verify_checked(self) -> bool:
        """The verify box as the form shows it back: ticked unless the person unticked it."""
        return bool(getattr(self, "cleaned_data", {}).get("verify_after_migration", True))

    def _picked(self) -> list[str]:
        getlist = getattr(self.data, "getlist", None)
        picked = getlist("vm") if getlist else []
        return [vm_id for vm_id in picked if vm_id]

    def picked(self) -> list[str]:
        """The ids picked, at most MAX_PICKED (more make the form invalid, with the message)."""
        return self._picked()[:MAX_PICKED]

    def target(self) -> Cluster | None:
        return self.clusters.get(self.cleaned_data.get("target_cluster") or "")

    def parameters(self) -> dict[str, Any]:
        if self.cleaned_data.get("action") != Job.Kind.MIGRATE:
            return {}
        return {
            "target_cluster": self.cleaned_data["target_cluster"],
            "migration_type": self.cleaned_data.get("migration_type") or "live",
            "verify_after_migration": bool(self.cleaned_data.get("verify_after_migration")),
            "downtime_window_minutes": self.cleaned_data.get("downtime_window_minutes"),
        }


class EvacuationForm(IdempotentForm):
    """ "Evacuate cluster X": the migrations' options, and per VM its target (`target-<vm_id>`: blank
    for the plan's own choice, a cluster id, or `exclude`), read against the plan's candidates."""

    migration_type = forms.ChoiceField(required=False, choices=MIGRATION_TYPES, initial="live")
    verify_after_migration = forms.BooleanField(required=False, initial=True)
    downtime_window_minutes = forms.IntegerField(required=False, min_value=1, max_value=1440)

    CHOICE_PREFIX = "target-"

    def migration_type_value(self) -> str:
        if self.is_bound and self.is_valid():
            return self.cleaned_data.get("migration_type") or "live"
        value = self.data.get("migration_type") if self.is_bound else ""
        return value if value in dict(MIGRATION_TYPES) else "live"

    def verify_checked(self) -> bool:
        """Checked on the first render; as sent afterwards."""
        return not self.is_bound or bool(self.data.get("verify_after_migration"))

    def choices(self) -> dict[str, str]:
        """vm_id -> the target chosen on the plan (values checked by jobs.evacuation)."""
        if not self.is_bound:
            return {}
        return {
            name.removeprefix(self.CHOICE_PREFIX): str(value)[:64]
            for name, value in self.data.items()
            if name.startswith(self.CHOICE_PREFIX) and value
        }

    def parameters(self, *, source_cluster: str) -> dict[str, Any]:
        return {
            "source_cluster": source_cluster,
            "migration_type": self.cleaned_data.get("migration_type") or "live",
            "verify_after_migration": bool(self.cleaned_data.get("verify_after_migration")),
            "downtime_window_minutes": self.cleaned_data.get("downtime_window_minutes"),
        }
