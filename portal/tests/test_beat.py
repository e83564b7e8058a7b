from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import Any


def test_every_beat_entry_expires_so_a_worker_back_from_downtime_does_not_replay_a_backlog(
    settings: Any,
) -> None:
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert 0 < entry["options"]["expires"] <= entry["schedule"], name


def test_every_beat_entry_names_a_real_task(settings: Any) -> None:
    from django.apps import apps

    from portal.celery import app

    # What the worker's autodiscovery imports: each app's tasks module (entries may name an AppConfig).
    for app_name in (config.name for config in apps.get_app_configs()):
        if find_spec(app_name) and find_spec(f"{app_name}.tasks"):
            import_module(f"{app_name}.tasks")
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
