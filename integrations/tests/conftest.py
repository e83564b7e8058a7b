from __future__ import annotations

from tests.partner_api import admin_client, api

__all__ = ["admin_client", "api"]
