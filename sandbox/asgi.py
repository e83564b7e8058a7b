"""ASGI entry point of the sandbox (served by uvicorn through `python -m sandbox serve`)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")

application = get_asgi_application()
