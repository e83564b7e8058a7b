from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from live.selectors import latest_event_id
from vms.topics import FLEET_TOPIC, MIGRATION_TOPIC, QUOTAS_TOPIC, VM_TOPIC
from webhooks.selectors import notifications_open
from webhooks.topics import NOTIFICATION_TOPIC, WEBHOOK_LOG_TOPIC

# Every topic a page may show: the stream sends only these events (static/js/live-stream.js).
LIVE_TOPICS = ",".join(
    [MIGRATION_TOPIC, VM_TOPIC, FLEET_TOPIC, NOTIFICATION_TOPIC, WEBHOOK_LOG_TOPIC, QUOTAS_TOPIC]
)


def live_and_notifications(request: HttpRequest) -> dict[str, Any]:
    """For every page's banner: open notifications and the live stream's resume point.

    Lazy, so a page that does not render the banner costs no query.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "partner_id", None):
        return {}
    partner = user.partner
    open_notifications = SimpleLazyObject(lambda: notifications_open(partner=partner))
    return {
        "open_notifications": open_notifications,
        # Events newer than this page's render are streamed, so nothing between render and connect is lost.
        "live_topics": LIVE_TOPICS,
        "live_last_event_id": SimpleLazyObject(lambda: str(latest_event_id(partner_pk=partner.pk))),
    }
