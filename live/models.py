"""The outbox of live updates: one row per rendered fragment, streamed to the partner's open pages."""

from __future__ import annotations

from django.db import models

from partners.models import Partner

# Who of the partner may receive an event: everyone, or only users whose role allows an action
# (an action name of `accounts.roles`, e.g. "partner:admin" for the admins' pages), or a variant of
# the controls a person may use (live/audiences.py).
EVERYONE = "partner"


class Event(models.Model):
    """A rendered fragment for one partner's pages; its id is the SSE event id (so pages resume)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="live_events")
    topic = models.CharField(max_length=64)
    # The same rule as the page the fragment belongs to: a fragment of an admins-only page is
    # streamed only to viewers whose role may open that page. Space-separated when a variant of a
    # fragment with controls goes to several audiences (live/audiences.py).
    audience = models.CharField(max_length=255, default=EVERYONE)
    html = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["partner", "id"], name="live_event_partner_id")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"

    def reaches(self, audiences: frozenset[str]) -> bool:
        """True when a viewer holding `audiences` may receive this event."""
        return not audiences.isdisjoint(self.audience.split())
