"""The VM list's filter form (a GET form, so every view is a bookmarkable URL) and the create form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django import forms

from lib.forms import IdempotentForm
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
# How a tag is written everywhere: the VM list's filter, the create form and the pages that show one
# (the API's own query syntax, `tag=key:value`).
TAG_SYNTAX = "key:value"


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
    tag = forms.CharField(required=False, max_length=200, help_text=TAG_SYNTAX)
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
        if tag:
            try:
                parse_tag(tag)
            except ValueError:
                raise forms.ValidationError(f"Write a tag as {TAG_SYNTAX}, e.g. env:prod.") from None
        return tag

    def filters(self) -> VMFilters:
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}
        key, value = parse_tag(data["tag"]) if data.get("tag") else ("", "")
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


def parse_tag(text: str) -> tuple[str, str]:
    """One tag as the API writes it (`tag=key:value` in a VM query): split at the first colon, so a
    value may hold colons; raises ValueError when there is no colon or no key."""
    key, sep, value = text.partition(":")
    if not sep or not key.strip():
        raise ValueError(text)
    return key.strip(), value.strip()


def parse_tags(text: str) -> dict[str, str]:
    """`key:value` lines as a dict; raises ValidationError naming the bad one. Not split at commas:
    like the API's repeated `tag=` parameter, a value may hold `:` and `,`."""
    tags: dict[str, str] = {}
    for entry in filter(None, (line.strip() for line in text.splitlines())):
        try:
            key, value = parse_tag(entry)
        except ValueError:
            raise forms.ValidationError(
                f"“{entry}”: write each tag as {TAG_SYNTAX}, e.g. env:prod.", code="tag_syntax"
            ) from None
        tags[key] = value
    return tags


@dataclass(frozen=True)
class Placement:
    """What the create form offers: the clouds, each cloud's regions, and the networks of each region."""

    clouds: list[str]
    regions: dict[str, list[str]]  # cloud -> regions
    networks: dict[str, list[str]]  # region -> network ids in use there

    @classmethod
    def of(cls, clusters: list[Cluster], networks: dict[str, list[str]]) -> Placement:
        regions: dict[str, list[str]] = {}
        for cluster in clusters:
            regions.setdefault(cluster.cloud_provider, [])
            if cluster.region not in regions[cluster.cloud_provider]:
                regions[cluster.cloud_provider].append(cluster.region)
        return cls(
            clouds=sorted(regions), regions={c: sorted(r) for c, r in regions.items()}, networks=networks
        )


class VMCreateForm(IdempotentForm):
    """Every field of NovaCron's VMSpec, with choices taken from what the sync has cached.

    Region follows the cloud and cluster follows both (static/js/vm-create.js narrows the selects;
    `clean` refuses a mismatch for a browser without JavaScript). The defaults are the first cloud,
    its first region and that region's first known network, which always go together.
    """

    name = forms.CharField(max_length=255)
    template = forms.ChoiceField(choices=[(t, t) for t in TEMPLATES])
    cpu_cores = forms.IntegerField(min_value=1, max_value=128, initial=2, label="CPU cores")
    memory_gb = forms.IntegerField(min_value=1, max_value=1024, initial=4, label="Memory (GB)")
    disk_size_gb = forms.IntegerField(min_value=10, max_value=65536, initial=50, label="Disk (GB)")
    cloud_provider = forms.ChoiceField(label="Cloud")
    region = forms.ChoiceField()
    cluster = forms.ChoiceField(required=False, help_text="Optional: NovaCron picks one in the region.")
    network_id = forms.RegexField(
        regex=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        max_length=64,
        label="Network",
        help_text="A network of the region: the ones your VMs there use are listed, or type another id.",
        error_messages={
            "invalid": "A network id is letters, digits, “-”, “_”, “.” or “:”, e.g. net-us-east-1-01."
        },
    )
    tags = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"One {TAG_SYNTAX} per line, as in the VM list's tag filter.",
    )

    def __init__(
        self, *args: Any, clusters: list[Cluster], networks: dict[str, list[str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._clusters = {cluster.cluster_id: cluster for cluster in clusters}
        self.placement = Placement.of(clusters, networks or {})
        clouds = self.placement.clouds or CLOUD_PROVIDERS
        # Declared ChoiceFields above; `fields` holds them typed as plain Fields.
        cast(forms.ChoiceField, self.fields["cloud_provider"]).choices = [(c, c) for c in clouds]
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            (cloud, [(region, region) for region in regions])
            for cloud, regions in self.placement.regions.items()
        ]
        cast(forms.ChoiceField, self.fields["cluster"]).choices = [("", "Let NovaCron choose")] + [
            (c.cluster_id, f"{c.name} ({c.cloud_provider} {c.region})") for c in clusters
        ]
        if self.placement.clouds:
            cloud = self.placement.clouds[0]
            region = self.placement.regions[cloud][0]
            self.fields["cloud_provider"].initial = cloud
            self.fields["region"].initial = region
            known = self.placement.networks.get(region)
            if known:
                self.fields["network_id"].initial = known[0]

    def cluster_options(self) -> list[tuple[str, str, str, str]]:
        """(value, label, cloud, region) of each cluster option, for the select's data- attributes."""
        return [("", "Let NovaCron choose", "", "")] + [
            (c.cluster_id, f"{c.name} ({c.cloud_provider} {c.region})", c.cloud_provider, c.region)
            for c in self._clusters.values()
        ]

    def network_options(self) -> list[tuple[str, str]]:
        """(network id, region) of every network the cache knows, for the picker's datalist."""
        return [(network, region) for region, ids in self.placement.networks.items() for network in ids]

    def clean_tags(self) -> dict[str, str]:
        return parse_tags(self.cleaned_data.get("tags") or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cluster_id = cleaned.get("cluster")
        region = cleaned.get("region")
        cloud = cleaned.get("cloud_provider")
        if region and cloud and self._clusters and region not in self.placement.regions.get(cloud, []):
            offered = ", ".join(self.placement.regions.get(cloud, [])) or "none"
            self.add_error("region", f"No {cloud} cluster in {region}. {cloud} regions: {offered}.")
        elif cluster_id:
            cluster = self._clusters[cluster_id]
            if cloud and cluster.cloud_provider != cloud:
                self.add_error("cluster", f"{cluster.name} is in {cluster.cloud_provider}, not {cloud}.")
            elif region and cluster.region != region:
                self.add_error("cluster", f"{cluster.name} is in {cluster.region}, not {region}.")
        network = cleaned.get("network_id")
        if network and region:
            elsewhere = [r for r, ids in self.placement.networks.items() if network in ids and r != region]
            if elsewhere and network not in self.placement.networks.get(region, []):
                self.add_error("network_id", f"{network} is a network of {elsewhere[0]}, not {region}.")
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
