from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from lib import broker


def _connection(folder: Path) -> Connection:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
               "control_folder": str(folder / "control")}
    return Connection("filesystem://", transport="lib.broker:Transport", transport_options=options)


def test_a_message_put_on_the_queue_is_read_back_whole(tmp_path: Path) -> None:
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("round-trip")
        queue.put({"task": "sync", "partner": "partner-acme"})
        message = queue.get(timeout=1)
        assert message.payload == {"task": "sync", "partner": "partner-acme"}
        message.ack()
        queue.close()


def test_a_reader_never_sees_a_message_file_before_it_is_fully_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_while_writing: list[list[str]] = []
    real_replace = os.replace

    def replace_after_looking(source: Any, target: Any) -> None:
        # The moment just before the message appears: what a polling worker would find.
        seen_while_writing.append([name for name in os.listdir(tmp_path) if name.endswith(".msg")])
        real_replace(source, target)

    monkeypatch.setattr(broker.os, "replace", replace_after_looking)
    with _connection(tmp_path) as connection:
        # Its own queue name: kombu keeps declared bindings per process, across control folders.
        queue = connection.SimpleQueue("atomic-write")
        queue.put({"n": 1})
        queue.close()

    assert seen_while_writing == [[]]
    [written] = [name for name in os.listdir(tmp_path) if name.endswith(".atomic-write.msg")]
    assert (tmp_path / written).read_bytes().startswith(b"{")
