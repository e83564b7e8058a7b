from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from jobs.topics import JOB_TOPIC
from webhooks.context_processors import LIVE_TOPICS


def live_topics(request: HttpRequest) -> dict[str, Any]:
    """Every page also listens to the jobs' topic (after webhooks' processor, which names the others)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "partner_id", None):
        return {}
    return {"live_topics": f"{LIVE_TOPICS},{JOB_TOPIC}"}
