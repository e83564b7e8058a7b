"""The create-VM form: region and cluster follow the cloud, the defaults go together, a network
picker of the region, and tags written `key:value` as the VM list's filter and the API write them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.factories import make_cluster, make_vm
from vms.forms import VMCreateForm, VMFilterForm, parse_tags
from vms.selectors import FilterChoices
from vms.tests.test_create import URL, quota_left, valid_form  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def clusters(partner: Any) -> list[Any]:
    # Sorted, "aws" comes first, but dc1 is an onprem region: aws + dc1 must never be the default.
    return [
        make_cluster(partner, "cl-onprem-dc1-a", "onprem", "dc1"),
        make_cluster(partner, "cl-aws-usw2-a", "aws", "us-west-2"),
        make_cluster(partner, "cl-aws-use1-a", "aws", "us-east-1"),
        make_cluster(partner, "cl-gcp-euw1-a", "gcp", "europe-west1"),
    ]


@pytest.fixture
def networks(partner: Any) -> None:
    make_vm(partner, 1, region="us-east-1", network_id="net-us-east-1-02")
    make_vm(partner, 2, region="us-east-1", network_id="net-us-east-1-01")
    make_vm(partner, 3, region="dc1", network_id="net-dc1-07", cloud_provider="onprem")


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert select, name
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(0))
    assert chosen, f"nothing selected in {name}"
    return chosen.group(1)


def test_the_defaults_are_a_cloud_its_region_and_that_regions_network(
    clusters: Any,
    networks: Any,
    writer: Any,
    client_of: Any,
    quota_left: Any,  # noqa: F811
) -> None:
    page = client_of(writer).get(URL).content.decode()

    assert _selected(page, "cloud_provider") == "aws"
    assert _selected(page, "region") == "us-east-1"
    assert 'name="network_id"' in page and 'value="net-us-east-1-01"' in page


def test_regions_are_grouped_by_cloud_and_clusters_name_theirs(
    clusters: Any,
    networks: Any,
    writer: Any,
    client_of: Any,
    quota_left: Any,  # noqa: F811
) -> None:
    page = client_of(writer).get(URL).content.decode()

    aws = re.search(r'<optgroup label="aws" data-cloud="aws">(.*?)</optgroup>', page, re.S)
    assert aws and "us-east-1" in aws.group(1) and "us-west-2" in aws.group(1) and "dc1" not in aws.group(1)
    assert 'value="cl-onprem-dc1-a" data-cloud="onprem" data-region="dc1"' in page
    assert '<option value="net-dc1-07" data-region="dc1">' in page


def test_a_region_of_another_cloud_is_refused_without_javascript(
    clusters: Any,
    writer: Any,
    client_of: Any,
    quota_left: Any,  # noqa: F811
) -> None:
    page = client_of(writer).post(URL, valid_form(cloud_provider="aws", region="dc1")).content.decode()

    assert "No aws cluster in dc1. aws regions: us-east-1, us-west-2." in page


def test_a_network_of_another_region_is_refused(
    clusters: Any,
    networks: Any,
    writer: Any,
    client_of: Any,
    quota_left: Any,  # noqa: F811
) -> None:
    page = client_of(writer).post(URL, valid_form(network_id="net-dc1-07")).content.decode()

    assert "net-dc1-07 is a network of dc1, not us-east-1." in page


def test_a_network_id_that_is_not_an_id_is_refused(clusters: Any) -> None:
    form = VMCreateForm(valid_form(network_id="net 1; drop"), clusters=clusters)

    assert not form.is_valid() and "network_id" in form.errors


def test_tags_are_written_key_colon_value_and_values_keep_their_colons_and_commas() -> None:
    assert parse_tags("env:prod\n team : api \n\nurl:https://x.example:8443/a,b") == {
        "env": "prod",
        "team": "api",
        "url": "https://x.example:8443/a,b",
    }


@pytest.mark.parametrize("text", ["env=prod", ":prod", "env"])
def test_a_tag_without_key_colon_value_is_refused_in_the_form_and_in_the_filter(
    clusters: Any, text: str
) -> None:
    form = VMCreateForm(valid_form(tags=text), clusters=clusters)
    listing = VMFilterForm({"tag": text}, choices=FilterChoices(clouds=[], regions=[], clusters=[]))

    assert not form.is_valid() and "write each tag as key:value" in form.errors["tags"][0]
    assert not listing.is_valid() and "key:value" in listing.errors["tag"][0]


def test_the_filter_reads_a_tag_as_the_form_does() -> None:
    filters = VMFilterForm(
        {"tag": "url:https://x.example:8443"}, choices=FilterChoices(clouds=[], regions=[], clusters=[])
    ).filters()

    assert (filters.tag_key, filters.tag_value) == ("url", "https://x.example:8443")
