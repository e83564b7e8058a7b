"""The live topics the webhooks app publishes (`live.services.publish`); see vms/topics.py."""

from __future__ import annotations

NOTIFICATION_TOPIC = "notification"  # a toast and the notifications banner
WEBHOOK_LOG_TOPIC = "webhook-log"  # the rows of the received-webhooks log
