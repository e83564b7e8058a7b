from __future__ import annotations

from typing import Any, cast

from django import forms

from lib.forms import IdempotentForm
from vms.models import Cluster


class MigrationStartForm(IdempotentForm):
    target_cluster = forms.ChoiceField(label="Target cluster")
    migration_type = forms.ChoiceField(
        label="Type",
        choices=[("live", "Live (the VM keeps running)"), ("cold", "Cold (the VM is shut down and booted)")],
        initial="live",
        widget=forms.RadioSelect,
    )
    downtime_window_minutes = forms.IntegerField(
        label="Downtime window (minutes)", min_value=1, max_value=1440, required=False
    )
    verify_after_migration = forms.BooleanField(label="Verify after migration", required=False, initial=True)

    def __init__(self, *args: Any, clusters: list[Cluster], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A ChoiceField (declared above); `fields` types it as a plain Field.
        cast(forms.ChoiceField, self.fields["target_cluster"]).choices = [
            (cluster.cluster_id, f"{cluster.name} · {cluster.cloud_provider} {cluster.region}")
            for cluster in clusters
        ]
