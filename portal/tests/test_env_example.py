from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ENV_EXAMPLE = Path(settings.BASE_DIR) / ".env.example"
# Read from the environment but not for a production .env: local debugging and the test harness.
NOT_FOR_PRODUCTION = {
    "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_BROKER_POLL_SECONDS",
    "WHITENOISE_USE_FINDERS",
    "PORTAL_ENV_FILE",
}


def _names_read_by_settings() -> set[str]:
    source = (Path(settings.BASE_DIR) / "portal" / "settings.py").read_text()
    return set(
        re.findall(
            r"""(?:env|env_bool|env_list|os\.environ\.get|os\.environ)[\[(]["']([A-Z_]+)["']""", source
        )
    )


def _names_in_example() -> set[str]:
    return set(re.findall(r"^(?:# )?([A-Z_]+)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))


def test_the_example_lists_every_setting_a_production_portal_reads():
    missing = _names_read_by_settings() - NOT_FOR_PRODUCTION - _names_in_example()

    assert not missing, f".env.example does not mention {sorted(missing)}"


def test_the_example_has_no_comment_after_a_value():
    # The portal's .env reader keeps everything after "=", so "KEY=value  # note" would be the value.
    assignments = [line for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line)]

    assert assignments and not [line for line in assignments if "#" in line]
