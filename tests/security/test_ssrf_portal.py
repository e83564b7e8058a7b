"""URLs a person gives the portal for a server to post to (webhook subscriptions, integration
endpoints) must be http(s) to a public address: every forbidden range is refused with a clear form
error, before NovaCron is called. Validation only: no test resolves a name or sends a request.
"""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django import forms

from integrations.forms import EndpointForm
from integrations.tests.test_integrations import endpoint_rows
from lib.forms import public_http_url
from lib.netguard import url_refusal
from tests.partner_api import PARTNER_API, admin_client, api, page
from webhooks.forms import SubscriptionForm

FORBIDDEN = {
    "loopback": "http://127.0.0.1:8000/hook",
    "loopback elsewhere in 127/8": "http://127.8.9.10/",
    "localhost": "http://localhost:8000/hook",
    "a localhost subdomain": "https://portal.localhost/hook",
    "RFC 1918 10/8": "http://10.0.0.5/",
    "RFC 1918 172.16/12": "http://172.16.3.4/",
    "RFC 1918 192.168/16": "https://192.168.1.1/admin",
    "link-local": "http://169.254.10.20/",
    "cloud metadata": "http://169.254.169.254/latest/meta-data/",
    "CGNAT 100.64/10": "http://100.64.0.1/",
    "multicast": "http://224.0.0.1/",
    "unspecified": "http://0.0.0.0:8000/",
    "this network 0/8": "http://0.1.2.3/",
    "reserved 240/4": "http://240.0.0.1/",
    "broadcast": "http://255.255.255.255/",
    "documentation range": "http://192.0.2.1/",
    "decimal loopback": "http://2130706433/",
    "hex loopback": "http://0x7f.1/",
    "octal loopback": "http://0177.0.0.1/",
    "short loopback": "http://127.1/",
    "IPv6 loopback": "http://[::1]:8000/",
    "IPv6 unspecified": "http://[::]/",
    "IPv4-mapped loopback": "http://[::ffff:127.0.0.1]/",
    "IPv4-mapped metadata": "http://[::ffff:169.254.169.254]/",
    "6to4 of loopback": "http://[2002:7f00:1::]/",
    "IPv6 metadata": "http://[fd00:ec2::254]/",
    "IPv6 unique local": "http://[fc00::1]/",
    "IPv6 link-local": "http://[fe80::1]/",
    "IPv6 multicast": "http://[ff02::1]/",
}
__all__ = ["admin_client", "api"]  # fixtures of the pages that call NovaCron

ALLOWED = [
    "https://hooks.acme.example/novacron",
    "http://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://93.184.216.34:8443/path?q=1",
]


@pytest.fixture(autouse=True)
def _no_local_exceptions(settings: Any) -> None:
    # The tests' receiver host (127.0.0.1) is allowed by default; here nothing is.
    settings.OUTGOING_URL_ALLOWED_HOSTS = []


@pytest.mark.parametrize("name", list(FORBIDDEN))
def test_every_forbidden_range_is_refused_with_a_clear_error(name: str) -> None:
    url = FORBIDDEN[name]

    assert url_refusal(url) is not None
    with pytest.raises(forms.ValidationError) as refused:
        public_http_url(url)
    assert refused.value.code == "forbidden_address"
    assert "Enter a URL on a public address." in str(refused.value.messages)


@pytest.mark.parametrize("url", ALLOWED)
def test_public_addresses_and_names_are_accepted(url: str) -> None:
    assert url_refusal(url) is None
    public_http_url(url)


@pytest.mark.parametrize(
    "url", ["ftp://hooks.acme.example/", "file:///etc/passwd", "gopher://8.8.8.8/", "http://"]
)
def test_only_http_and_https_with_a_host(url: str) -> None:
    assert url_refusal(url) is not None
    with pytest.raises(forms.ValidationError):
        public_http_url(url)


def test_hosts_in_the_allow_list_are_accepted_for_local_setups(settings: Any) -> None:
    settings.OUTGOING_URL_ALLOWED_HOSTS = ["127.0.0.1", "receiver.localhost"]

    assert url_refusal("http://127.0.0.1:8000/webhooks/novacron/partner-acme/") is None
    assert url_refusal("http://receiver.localhost/") is None
    assert url_refusal("http://127.0.0.2/") == "loopback address"


def test_after_resolution_every_address_must_be_public() -> None:
    # A fake resolver: a name is allowed only when all its addresses are public (DNS rebinding, nip.io).
    answers = {
        "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "rebind.example": ["93.184.216.34", "10.0.0.1"],
        "metadata.example": ["169.254.169.254"],
        "v6local.example": ["fe80::1%eth0"],
    }

    def resolve(host: str) -> list[str]:
        return answers[host]

    assert url_refusal("https://public.example/", resolve=True, resolver=resolve) is None
    assert (
        url_refusal("https://rebind.example/", resolve=True, resolver=resolve)
        == "it resolves to a private address"
    )
    assert url_refusal("https://metadata.example/", resolve=True, resolver=resolve) is not None
    assert url_refusal("https://v6local.example/", resolve=True, resolver=resolve) is not None


def test_a_name_that_does_not_resolve_is_refused_at_delivery_time() -> None:
    def fail(host: str) -> list[str]:
        raise OSError("no such host")

    assert url_refusal("https://gone.example/", resolve=True, resolver=fail) == "the name does not resolve"


def test_both_forms_refuse_a_metadata_url() -> None:
    subscription = SubscriptionForm(data={"url": "http://169.254.169.254/latest/", "events": ["vm.created"]})
    endpoint = EndpointForm(
        data={
            "name": "x",
            "url": "http://[::ffff:10.0.0.1]/",
            "method": "POST",
            "auth_type": "none",
            "timeout_seconds": 30,
        }
    )

    assert not subscription.is_valid()
    assert "link-local address" in subscription.errors["url"][0]
    assert not endpoint.is_valid()
    assert "private address" in endpoint.errors["url"][0]


def test_the_subscription_page_refuses_a_private_url_without_calling_novacron(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    api.get(f"{PARTNER_API}/webhooks", json=page([]))

    response = admin_client.post(
        "/partner/webhooks/new/", {"url": "http://10.1.2.3/hook", "events": ["vm.created"]}
    )

    assert response.status_code == 400
    assert "private address" in response.context["form"].errors["url"][0]
    assert not any(call.request.method == "POST" for call in api.calls)


def test_the_integration_page_refuses_a_loopback_endpoint_without_calling_novacron(
    api: responses.RequestsMock, admin_client: Any
) -> None:
    row = {
        "name": "internal",
        "url": "http://2130706433:6379/",
        "method": "POST",
        "auth_type": "none",
        "timeout_seconds": "30",
    }
    data = {"name": "x", "type": "api", "status": "active", "config": "", **endpoint_rows(row)}

    response = admin_client.post("/partner/integrations/new/", data)

    assert response.status_code == 400
    assert "loopback address" in response.text
    assert len(api.calls) == 0
