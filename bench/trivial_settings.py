"""The portal's settings with one extra URL, /bench/trivial/: a 200 with no database or template work,
the yardstick bench/webhooks.py compares the receiver with under identical server settings."""

from __future__ import annotations

from portal.settings import *  # noqa: F403  (the same settings, one override)

ROOT_URLCONF = "bench.trivial_urls"
