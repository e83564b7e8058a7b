from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection

from lib import broker


def _connection(folder: Path) -> Connection:
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }
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


# A consumer in its own process that takes one message, maybe acknowledges it, and is then killed
# the way the OOM killer or `kill -9` would: no clean-up of any kind runs.
TAKE_AND_DIE = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from lib.tests.test_broker import _connection
connection = _connection(Path(sys.argv[2]))
message = connection.SimpleQueue(sys.argv[3]).get(timeout=5)
print(message.payload["n"], flush=True)
if sys.argv[4] == "ack":
    message.ack()
os.kill(os.getpid(), signal.SIGKILL)
"""


def _take_in_a_process_that_dies(folder: Path, queue: str, *, ack: bool) -> str:
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, "-c", TAKE_AND_DIE, root, str(folder), queue, "ack" if ack else "no-ack"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    return done.stdout.strip()


def _messages_on_disk(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*.msg"))


def test_a_message_whose_worker_was_killed_before_acking_is_delivered_again(tmp_path: Path) -> None:
    with _connection(tmp_path) as connection:
        connection.SimpleQueue("killed-worker").put({"n": 1})

    assert _take_in_a_process_that_dies(tmp_path, "killed-worker", ack=False) == "1"

    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("killed-worker")
        message = queue.get(timeout=1)
        assert message.payload == {"n": 1}
        message.ack()
        queue.close()
    assert _messages_on_disk(tmp_path) == []


def test_a_message_acknowledged_before_its_worker_died_is_not_delivered_again(tmp_path: Path) -> None:
    with _connection(tmp_path) as connection:
        connection.SimpleQueue("acked-then-killed").put({"n": 2})

    assert _take_in_a_process_that_dies(tmp_path, "acked-then-killed", ack=True) == "2"

    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("acked-then-killed")
        with pytest.raises(Empty):
            queue.get(timeout=0.3)
        queue.close()
    assert _messages_on_disk(tmp_path) == []


def test_a_message_a_live_consumer_holds_goes_to_nobody_else_until_it_is_requeued(tmp_path: Path) -> None:
    with _connection(tmp_path) as first, _connection(tmp_path) as second:
        taking = first.SimpleQueue("held")
        waiting = second.SimpleQueue("held")
        taking.put({"n": 3})
        held = taking.get(timeout=1)
        with pytest.raises(Empty):
            waiting.get(timeout=0.3)

        held.requeue()

        again = waiting.get(timeout=1)
        assert again.payload == {"n": 3}
        again.ack()
        taking.close()
        waiting.close()
    assert _messages_on_disk(tmp_path) == []


def test_a_clean_shutdown_puts_unacknowledged_messages_back(tmp_path: Path) -> None:
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("shutdown")
        queue.put({"n": 4})
        assert queue.get(timeout=1).payload == {"n": 4}
        queue.close()  # closing the channel restores what it had not acknowledged

    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("shutdown")
        message = queue.get(timeout=1)
        assert message.payload == {"n": 4}
        message.ack()
        queue.close()
