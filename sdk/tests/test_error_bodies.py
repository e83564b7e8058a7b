"""Errors keep what the server sent: the raw body (`.body`) and the parsed JSON (`.json`)."""

from __future__ import annotations

import pytest
import responses
from novacron import Client, ConflictError, NotFoundError, ServerError
from sdk_support import API, error_body


def test_an_error_keeps_the_raw_body_and_the_parsed_envelope(
    client: Client, api: responses.RequestsMock
) -> None:
    envelope = {**error_body("conflict", "already migrating"), "extra": {"hint": "wait"}}
    api.post(f"{API}/migrations", status=409, json=envelope)

    with pytest.raises(ConflictError) as caught:
        client.start_migration({"source_vm_id": "vm-1", "target_cluster": "cl-2"})

    assert caught.value.json == envelope
    assert caught.value.json["extra"] == {"hint": "wait"}  # a field the SDK does not model survives
    assert caught.value.body is not None and '"hint":' in caught.value.body.replace(" ", "")


def test_a_body_that_is_not_json_is_kept_as_text(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/clusters", status=500, body="<html>upstream exploded</html>")

    with pytest.raises(ServerError) as caught:
        client.list_clusters()

    assert caught.value.body == "<html>upstream exploded</html>"
    assert caught.value.json is None


def test_an_empty_body_is_an_empty_string(client: Client, api: responses.RequestsMock) -> None:
    api.get(f"{API}/vms/vm-x", status=404, body="")

    with pytest.raises(NotFoundError) as caught:
        client.get_vm("vm-x")

    assert (caught.value.body, caught.value.json) == ("", None)
