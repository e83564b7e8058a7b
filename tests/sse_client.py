"""A minimal Server-Sent Events reader over `requests`, for integration tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class SSEMessage:
    id: int
    event: str
    data: str


def read_messages(response: requests.Response) -> Iterator[SSEMessage]:
    """Messages as they arrive (comments and keep-alives skipped); multi-line data is rejoined."""
    fields: dict[str, list[str]] = {}
    for raw in response.iter_lines(chunk_size=1, decode_unicode=True):
        line = raw if isinstance(raw, str) else raw.decode()
        if line == "":
            if "id" in fields:
                yield SSEMessage(
                    id=int(fields["id"][-1]),
                    event=fields.get("event", ["message"])[-1],
                    data="\n".join(fields.get("data", [])),
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))


def open_stream(
    base_url: str, session_cookie: tuple[str, str], *, last_event_id: int | None = None, timeout: float = 30
) -> requests.Response:
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    response = requests.get(
        f"{base_url}/live/stream/",
        headers=headers,
        cookies=dict([session_cookie]),
        stream=True,
        timeout=timeout,
    )
    response.raise_for_status()
    return response
