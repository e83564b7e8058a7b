"""The VM list's filter form (a GET form, so every view is a bookmarkable URL) and the create form."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.http import QueryDict

from vms.models import VM, Cluster
from vms.selectors import DEFAULT_SORT, SORTS, FilterChoices, VMFilters

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 25
SORT_LABELS = {
    "name": "Name",
    "status": "Status",
    "created": "Created",
    "region": "Region",
    "cpu": "CPU",
    "memory": "Memory",
}
SORT_CHOICES = [(key, f"{SORT_LABELS[key]} ↑") for key in SORTS] + [
    (f"-{key}", f"{SORT_LABELS[key]} ↓") for key in SORTS
]
STATUS_CHOICES = [("", "Any status")] + [
    (value, label) for value, label in VM.Status.choices if value != VM.Status.DELETED
]

# The contract's templates and clouds (docs/partner-api.md, "VMs").
TEMPLATES = ["ubuntu-22.04", "ubuntu-24.04", "debian-12", "rhel-9", "windows-2022", "rocky-9"]
CLOUD_PROVIDERS = ["aws", "gcp", "azure", "onprem"]


class VMFilterForm(forms.Form):
    """Reads the list's query string; a bad value is ignored rather than breaking a bookmarked URL.

    Cloud, region and cluster accept any value (a VM may sit in a region no synced cluster names);
    the choices offered in the selects come from the synced clusters.
    """

    q = forms.CharField(required=False, max_length=100, label="Name")
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    cloud_provider = forms.CharField(required=False, max_length=32, label="Cloud")
    region = forms.CharField(required=False, max_length=64)
    cluster = forms.CharField(required=False, max_length=64)
    tag = forms.CharField(required=False, max_length=200, help_text="key:value")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)
    per_page = forms.TypedChoiceField(
        required=False, choices=[(size, size) for size in PAGE_SIZES], coerce=int, label="Per page"
    )

    def __init__(self, data: Any, *, choices: FilterChoices) -> None:
        super().__init__(data)
        self.offered = {
            "cloud_provider": self._offer("Any cloud", [(c, c) for c in choices.clouds], "cloud_provider"),
            "region": self._offer("Any region", [(r, r) for r in choices.regions], "region"),
            "cluster": self._offer(
                "Any cluster", [(c.cluster_id, c.name) for c in choices.clusters], "cluster"
            ),
        }

    def _offer(self, any_label: str, options: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
        # A value from a bookmark that no cluster names any more still shows as selected.
        current = (self.data.get(name) or "").strip()
        if current and current not in {value for value, _ in options}:
            options = [*options, (current, current)]
        return [("", any_label), *options]

    def clean_tag(self) -> str:
        tag: str = self.cleaned_data["tag"].strip()
        if tag and (":" not in tag or not tag.split(":", 1)[0].strip()):
            raise forms.ValidationError("Write a tag as key:value.")
        return tag

    def filters(self) -> VMFilters:
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}
        key, _, value = data.get("tag", "").partition(":")
        return VMFilters(
            status=data.get("status", ""),
            cloud_provider=data.get("cloud_provider", ""),
            region=data.get("region", ""),
            cluster=data.get("cluster", ""),
            tag_key=key.strip(),
            tag_value=value.strip(),
            q=data.get("q", "").strip(),
            sort=data.get("sort", DEFAULT_SORT),
        )

    def page_size(self) -> int:
        self.is_valid()
        return self.cleaned_data.get("per_page") or DEFAULT_PAGE_SIZE


def parse_tags(text: str) -> dict[str, str]:
    """`key=value` lines as a dict; raises ValidationError naming the bad line."""
    tags: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise forms.ValidationError(f"Line {number}: write each tag as key=value.")
        tags[key.strip()] = value.strip()
    return tags


class VMCreateForm(forms.Form):
    """Every field of NovaCron's VMSpec, with choices taken from what the sync has cached."""

    name = forms.CharField(max_length=255)
    template = forms.ChoiceField(choices=[(t, t) for t in TEMPLATES])
    cpu_cores = forms.IntegerField(min_value=1, max_value=128, initial=2, label="CPU cores")
    memory_gb = forms.IntegerField(min_value=1, max_value=1024, initial=4, label="Memory (GB)")
    disk_size_gb = forms.IntegerField(min_value=10, max_value=65536, initial=50, label="Disk (GB)")
    network_id = forms.CharField(
        max_length=64, label="Network id", help_text="The NovaCron network to attach, e.g. net-us-east-1-01."
    )
    cloud_provider = forms.ChoiceField(label="Cloud")
    region = forms.ChoiceField()
    cluster = forms.ChoiceField(required=False, help_text="Optional: NovaCron picks one in the region.")
    tags = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One key=value per line."
    )
    # Made when the form is rendered and sent as NovaCron's Idempotency-Key: a double click, or a
    # resubmission after a lost answer, posts the same key and NovaCron creates one VM.
    idempotency_key = forms.RegexField(
        regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex
    )

    def __init__(self, *args: Any, clusters: list[Cluster], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clusters = {cluster.cluster_id: cluster for cluster in clusters}
        clouds = sorted({c.cloud_provider for c in clusters}) or CLOUD_PROVIDERS
        regions = sorted({c.region for c in clusters})
        # Declared ChoiceFields above; `fields` holds them typed as plain Fields.
        cast(forms.ChoiceField, self.fields["cloud_provider"]).choices = [(c, c) for c in clouds]
        cast(forms.ChoiceField, self.fields["region"]).choices = [(r, r) for r in regions]
        cast(forms.ChoiceField, self.fields["cluster"]).choices = [("", "Let NovaCron choose")] + [
            (c.cluster_id, f"{c.name} ({c.cloud_provider} {c.region})") for c in clusters
        ]

    def clean_tags(self) -> dict[str, str]:
        return parse_tags(self.cleaned_data.get("tags") or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cluster_id = cleaned.get("cluster")
        if cluster_id:
            cluster = self._clusters[cluster_id]
            if cleaned.get("cloud_provider") and cluster.cloud_provider != cleaned["cloud_provider"]:
                self.add_error(
                    "cluster",
                    f"{cluster.name} is in {cluster.cloud_provider}, not {cleaned['cloud_provider']}.",
                )
            elif cleaned.get("region") and cluster.region != cleaned["region"]:
                self.add_error("cluster", f"{cluster.name} is in {cluster.region}, not {cleaned['region']}.")
        region = cleaned.get("region")
        cloud = cleaned.get("cloud_provider")
        if (
            region
            and cloud
            and self._clusters
            and not any(c.region == region and c.cloud_provider == cloud for c in self._clusters.values())
        ):
            self.add_error("region", f"No {cloud} cluster in {region}.")
        return cleaned

    def spec(self) -> dict[str, Any]:
        """The VMSpec body for NovaCron; an empty cluster is left out so NovaCron chooses."""
        spec = {
            name: self.cleaned_data[name]
            for name in (
                "name",
                "template",
                "cpu_cores",
                "memory_gb",
                "disk_size_gb",
                "network_id",
                "cloud_provider",
                "region",
                "tags",
            )
        }
        if self.cleaned_data.get("cluster"):
            spec["cluster"] = self.cleaned_data["cluster"]
        return spec

    def renew_idempotency_key(self) -> None:
        """After NovaCron refused this form's VM: the corrected form is another request, with its own key."""
        data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)  # a mutable copy
        data[self.add_prefix("idempotency_key")] = uuid.uuid4().hex
        self.data = data

    def add_api_errors(self, fields: dict[str, list[str]], message: str) -> None:
        """NovaCron's `details.fields` onto the matching form fields; the rest as a form error."""
        placed = False
        for field_name, messages in fields.items():
            target = field_name if field_name in self.fields else None
            for text in messages:
                self.add_error(target, text if target else f"{field_name}: {text}")
                placed = True
        if not placed:
            self.add_error(None, message)
