"""Webhook targets: only public http(s) addresses, checked when given and again after resolving.

No traffic leaves loopback: refused URLs use literal addresses or names answered by a substituted
resolver, and a refused delivery is recorded without any connection being made.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.core import egress
from sandbox.core.egress import ForbiddenTarget, check_url, resolve_target
from sandbox.core.models import Delivery, Partner
from sandbox.core.services.events import event_emit
from sandbox.engine import delivery as delivery_module
from sandbox.engine.delivery import EXCERPT_CHARS, deliver_due
from sandbox.tests.conftest import PartnerClient
from sandbox.tests.receiver import Receiver

pytestmark = pytest.mark.django_db
BASE = "/api/v1/partners/partner-acme/webhooks"
SECRET = "whsec-0123456789abcdef"

# One address of each range a webhook may never reach.
FORBIDDEN = {
    "loopback": "127.0.0.1",
    "loopback, elsewhere in 127/8": "127.45.6.7",
    "private 10/8": "10.1.2.3",
    "private 172.16/12": "172.20.0.5",
    "private 192.168/16": "192.168.1.10",
    "link-local": "169.254.10.20",
    "cloud metadata": "169.254.169.254",
    "CGNAT 100.64/10": "100.100.1.1",
    "multicast": "224.0.0.251",
    "multicast, globally scoped": "233.252.0.1",
    "unspecified": "0.0.0.0",
    "this network 0/8": "0.1.2.3",
    "reserved 240/4": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "benchmarking 198.18/15": "198.18.0.1",
    "IPv6 loopback": "::1",
    "IPv6 unspecified": "::",
    "IPv6 link-local": "fe80::1",
    "IPv6 ULA fc00::/7": "fd12:3456::1",
    "IPv6 cloud metadata": "fd00:ec2::254",
    "IPv6 multicast": "ff02::1",
    "IPv4-mapped loopback": "::ffff:127.0.0.1",
    "IPv4-mapped metadata": "::ffff:169.254.169.254",
    "NAT64 of a private address": "64:ff9b::a00:1",
    "6to4 of loopback": "2002:7f00:1::1",
}


def _url(address: str, port: int | None = None) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}{f':{port}' if port else ''}/hooks"


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """Names the test declares, and no others: nothing is looked up on the network."""
    answers: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(f"{host} is not known to this test")
        return answers[host]

    monkeypatch.setattr(egress, "resolver", resolve)
    yield answers


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError("a refused target must not be connected to")

    monkeypatch.setattr(delivery_module, "_post", refuse)
    return attempts


@pytest.mark.parametrize("address", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_a_subscription_to_a_forbidden_address_is_refused_with_a_400(
    acme_api: PartnerClient, address: str
) -> None:
    response = acme_api.post(BASE, {"url": _url(address), "events": ["vm.created"], "secret": SECRET})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "public address" in " ".join(error["details"]["fields"]["url"])


@pytest.mark.parametrize("address", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_an_integration_endpoint_on_a_forbidden_address_is_refused(
    acme_api: PartnerClient, address: str
) -> None:
    endpoint = {"name": "backup", "url": _url(address), "method": "POST"}
    response = acme_api.post(
        "/api/v1/partners/partner-acme/integrations", {"name": "x", "type": "api", "endpoints": [endpoint]}
    )
    assert response.status_code == 400
    assert "endpoints.0.url" in response.json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/hooks",
        "http://LOCALHOST./hooks",
        "http://api.localhost/hooks",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://printer.local/hooks",
        "http://127.1/hooks",
        "http://2130706433/hooks",
        "http://0x7f.0.0.1/hooks",
        "http://017700000001/hooks",
        "http://user:pw@10.0.0.1/hooks",
        "ftp://example.com/hooks",
        "gopher://example.com/",
        "http:///hooks",
        "http://example.com:99999/hooks",
    ],
)
def test_local_names_legacy_address_forms_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenTarget):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/novacron", "http://93.184.216.34/hooks", "https://[2606:4700::1111]/hooks"],
)
def test_public_addresses_and_names_are_accepted_without_looking_them_up(url: str, resolver: dict) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize("address", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_a_name_that_resolves_to_a_forbidden_address_is_refused_at_delivery(
    resolver: dict[str, list[str]], address: str
) -> None:
    resolver["hooks.example.com"] = ["93.184.216.34", address]  # one bad answer is enough
    with pytest.raises(ForbiddenTarget, match="resolves to"):
        resolve_target("https://hooks.example.com/novacron")


def test_a_delivery_connects_to_the_address_it_checked(resolver: dict[str, list[str]]) -> None:
    resolver["hooks.example.com"] = ["93.184.216.34"]
    target = resolve_target("https://hooks.example.com:8443/novacron?x=1")
    assert (target.address, target.host, target.port, target.path) == (
        "93.184.216.34", "hooks.example.com", 8443, "/novacron?x=1"
    )  # fmt: skip


def test_a_name_rebound_to_a_private_address_after_subscribing_gets_no_delivery(
    acme_api: PartnerClient, acme: Partner, resolver: dict[str, list[str]], no_connections: list[Any]
) -> None:
    resolver["hooks.example.com"] = ["93.184.216.34"]
    assert acme_api.post(
        BASE, {"url": "https://hooks.example.com/n", "events": ["vm.created"], "secret": SECRET}
    ).status_code == 201  # fmt: skip
    resolver["hooks.example.com"] = ["10.0.0.5"]
    event_emit(partner=acme, event_type="vm.created", data={"vm_id": "vm-1"})

    assert deliver_due() == 1

    (attempt,) = Delivery.objects.get().attempts.all()
    assert attempt.response_status is None and attempt.response_excerpt == ""
    assert attempt.error == "refused: hooks.example.com resolves to 10.0.0.5, which is private"
    assert no_connections == []


def test_the_test_delivery_to_a_forbidden_address_shows_no_reply(
    acme_api: PartnerClient, acme: Partner, resolver: dict[str, list[str]], no_connections: list[Any]
) -> None:
    resolver["hooks.example.com"] = ["93.184.216.34"]
    sid = acme_api.post(
        BASE, {"url": "https://hooks.example.com/n", "events": ["vm.created"], "secret": SECRET}
    ).json()["subscription_id"]
    resolver["hooks.example.com"] = ["169.254.169.254"]
    assert acme_api.post(f"{BASE}/{sid}/test").status_code == 202
    deliver_due()
    (delivery,) = acme_api.get(f"{BASE}/{sid}/deliveries").json()["data"]
    (attempt,) = delivery["attempts"]
    assert attempt["response_status"] is None and attempt["response_excerpt"] == ""
    assert "169.254.169.254" in attempt["error"] and no_connections == []


def test_only_the_allowed_host_and_port_are_exempt(settings: Any, acme_api: PartnerClient) -> None:
    settings.SANDBOX_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:8000"]
    assert check_url("http://127.0.0.1:8000/webhooks/novacron/partner-acme/")
    with pytest.raises(ForbiddenTarget):
        check_url("http://127.0.0.1:8001/api/v1/vms")
    with pytest.raises(ForbiddenTarget):
        check_url("http://127.0.0.2:8000/hooks")


def test_an_allowed_local_receiver_gets_the_delivery_but_no_redirect_is_followed(
    acme_api: PartnerClient, acme: Partner
) -> None:
    with Receiver(statuses=[302]) as receiver:
        assert (
            acme_api.post(BASE, {"url": receiver.url, "events": ["vm.created"], "secret": SECRET}).status_code
            == 201
        )
        event_emit(partner=acme, event_type="vm.created", data={"vm_id": "vm-1"})
        deliver_due()
    assert len(receiver.received) == 1
    (attempt,) = Delivery.objects.get().attempts.all()
    assert attempt.response_status == 302  # recorded as a failure, not followed
    assert Delivery.objects.get().status == "retrying"


def test_a_long_reply_is_cut_to_the_excerpt_cap(acme_api: PartnerClient, acme: Partner) -> None:
    with Receiver() as receiver:
        receiver.reply = b"x" * 100_000
        acme_api.post(BASE, {"url": receiver.url, "events": ["vm.created"], "secret": SECRET})
        event_emit(partner=acme, event_type="vm.created", data={"vm_id": "vm-1"})
        deliver_due()
    (attempt,) = Delivery.objects.get().attempts.all()
    assert attempt.response_status == 200
    assert attempt.response_excerpt == "x" * EXCERPT_CHARS == "x" * 500
