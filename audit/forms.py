"""The audit page's filters: GET parameters, so a filtered view is a link someone can bookmark."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from audit.selectors import AuditFilters
from audit.services import PRUNE_ACTION
from audit.trail import DECLARED_ACTIONS

ADMIN_ACTIONS = ("admin.add", "admin.change", "admin.delete", "admin.action")


def action_choices() -> list[tuple[str, str]]:
    actions = sorted({*DECLARED_ACTIONS, *ADMIN_ACTIONS, PRUNE_ACTION})
    return [("", "Any action"), *((action, action) for action in actions)]


class AuditFilterForm(forms.Form):
    person = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(required=False)
    object = forms.CharField(required=False, max_length=128, label="Object id")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data: Any, *, people: list[tuple[int, str]]) -> None:
        super().__init__(data)
        person = self.fields["person"]
        assert isinstance(person, forms.TypedChoiceField)
        person.choices = [("", "Anyone"), *people]
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = action_choices()
        for field in self.fields.values():
            kind = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", f"{kind} {kind}-sm")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The end of the range is before its start.")
        return cleaned

    def filters(self) -> AuditFilters:
        """The valid filters (an invalid field is left out and shown with its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        since, until = data.get("since"), data.get("until")
        zone = timezone.get_current_timezone()
        return AuditFilters(
            person=data.get("person"),
            action=data.get("action") or "",
            object_id=(data.get("object") or "").strip(),
            since=datetime.combine(since, time.min, zone) if since else None,
            # The whole last day: up to the start of the next.
            until=datetime.combine(until + timedelta(days=1), time.min, zone) if until else None,
        )
