"""The RSA key that signs ID tokens: from the environment, or generated once into a local file.

The file lives under var/ (git-ignored), so every clone gets its own key and none is committed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_ENV_VAR = "SANDBOX_OIDC_RSA_KEY"


def oidc_rsa_private_key(key_file: Path) -> str:
    """The PEM of the signing key: $SANDBOX_OIDC_RSA_KEY if set, else key_file, created when missing."""
    from_env = os.environ.get(KEY_ENV_VAR, "").strip()
    if from_env:
        return from_env
    if not key_file.exists():
        _write_new_key(key_file)
    return key_file.read_text()


def _write_new_key(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    # Several processes (server, workers, test runs) may start at once: write aside, then link into
    # place, which fails if another process won the race — and then its key is the one everyone uses.
    fd, temp_name = tempfile.mkstemp(dir=key_file.parent, prefix=".oidc-key-")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(pem)
        os.link(temp_name, key_file)
    except FileExistsError:
        pass
    finally:
        os.unlink(temp_name)
