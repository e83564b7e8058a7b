"""The usage page's choices: which month, which breakdown (bookmarkable GET parameters)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms


class UsageFilterForm(forms.Form):
    month = forms.RegexField(
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        error_messages={"invalid": "Choose a month as YYYY-MM, e.g. 2026-11."},
        widget=forms.TextInput(attrs={"type": "month"}),
    )
    by = forms.ChoiceField(required=False, label="Breakdown")

    def __init__(self, *args: Any, dimensions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["by"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(d, d.removeprefix("tag:")) for d in dimensions]

    def chosen_month(self, default: date) -> date:
        value = self.cleaned_data.get("month") if self.is_valid() else None
        # An invalid month is reported by the form and the default month shown meanwhile.
        if not value:
            return default
        year, month = value.split("-")
        return date(int(year), int(month), 1)
