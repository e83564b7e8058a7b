"""Opaque identifiers with a type prefix, as the contract wants (`vm-…`, `mig-…`, `evt_…`)."""

from __future__ import annotations

import secrets


def new_id(prefix: str, nbytes: int = 8) -> str:
    return f"{prefix}{secrets.token_hex(nbytes)}"
