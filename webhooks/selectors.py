from __future__ import annotations

from django.db.models import QuerySet

from partners.models import Partner
from webhooks.models import Notification


def notification_list(*, partner: Partner, open_only: bool = True) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(partner=partner).select_related("acknowledged_by")
    return notifications.filter(acknowledged_at__isnull=True) if open_only else notifications


def notifications_open(*, partner: Partner, limit: int = 3) -> tuple[list[Notification], int]:
    """The newest unacknowledged notifications for the banner, and how many there are in all."""
    open_ones = notification_list(partner=partner)
    return list(open_ones[:limit]), open_ones.count()
