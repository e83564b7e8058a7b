"""The VM page's charts take their range and aggregate from the URL, so a bookmark opens the same charts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from vms.tests import test_detail
from vms.tests.test_detail import _serve_vm

vm = test_detail.vm  # the fixture, shared

pytestmark = pytest.mark.django_db


def _charts(page: str) -> tuple[str, str, list[str]]:
    section = re.search(
        r'<section[^>]*id="vm-metrics"[^>]*data-range="([^"]*)" data-aggregate="([^"]*)"', page
    )
    assert section
    pressed = re.findall(r'data-(?:range|aggregate)="([^"]+)" aria-pressed="true"', page)
    return section.group(1), section.group(2), pressed


def test_the_url_chooses_the_range_and_aggregate(
    vm: Any, writer: Any, client_of: Any, mocked_api: Any
) -> None:
    _serve_vm(mocked_api)

    page = client_of(writer).get("/vms/vm-00001/?range=7d&aggregate=max").content.decode()

    assert _charts(page) == ("7d", "max", ["7d", "max"])


def test_an_unknown_range_in_a_bookmark_falls_back_to_the_default(
    vm: Any,
    writer: Any,
    client_of: Any,
    mocked_api: Any,
) -> None:
    _serve_vm(mocked_api)

    page = client_of(writer).get("/vms/vm-00001/?range=99y&aggregate=median").content.decode()

    assert _charts(page) == ("1h", "avg", ["1h", "avg"])
