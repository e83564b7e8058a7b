"""Kombu's filesystem transport, made safe for several processes writing at once.

Kombu's own `_put` creates the message file in the queue folder first and writes it afterwards
(under an advisory lock that `_get` never looks at). A worker polling that folder can move and
read the file in between, gets an empty payload, and the JSON error kills the whole worker — which
`make run` hits within seconds, when the web process receives the start-up burst of webhooks.
Here a message is written in full beside the queue folder and then renamed into it: a rename on
one filesystem is atomic, so a reader sees either no file or the whole message.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        # Same name as kombu's (time-ordered, so `_get` keeps delivering in order).
        filename = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        target = os.path.join(self.data_folder_out, filename)
        try:
            # The temporary name has no `.msg` suffix, so a reader listing the folder skips it.
            fd, partial = tempfile.mkstemp(dir=self.data_folder_out, prefix=".partial-")
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(str_to_bytes(dumps(payload)))
                os.replace(partial, target)
            except BaseException:
                os.unlink(partial)
                raise
        except OSError as exc:
            raise ChannelError(f"Cannot add file {target!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
