"""The background engine: one step moves provisioning VMs, migrations, alerts and webhook deliveries."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from sandbox.core.services.alerts import cpu_alerts_scan
from sandbox.core.services.migrations import migrations_advance_all
from sandbox.core.services.vms import vms_finish_provisioning
from sandbox.engine.delivery import deliver_due

log = logging.getLogger("sandbox.engine")
ALERT_SCAN_EVERY_SECONDS = 30.0


def engine_step(*, now: datetime | None = None, scan_alerts: bool = True) -> dict[str, int]:
    now = now or timezone.now()
    done = {
        "vms_ready": vms_finish_provisioning(now=now),
        "migrations": migrations_advance_all(now=now),
        "alerts": cpu_alerts_scan(now=now) if scan_alerts else 0,
    }
    done["deliveries"] = deliver_due(now=timezone.now())
    return done


class EngineThread(threading.Thread):
    def __init__(self, interval: float | None = None) -> None:
        super().__init__(name="sandbox-engine", daemon=True)
        self.interval = float(interval if interval is not None else settings.SANDBOX_ENGINE_INTERVAL)
        self.stopping = threading.Event()
        self._last_alert_scan = 0.0

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            scan = started - self._last_alert_scan >= ALERT_SCAN_EVERY_SECONDS
            try:
                engine_step(scan_alerts=scan)
                if scan:
                    self._last_alert_scan = started
            except Exception:  # the engine must outlive one bad step (e.g. a locked database)
                log.exception("engine step failed")
            finally:
                close_old_connections()
            self.stopping.wait(max(0.05, self.interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stopping.set()
