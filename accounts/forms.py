"""The account page's form: the person's time zone."""

from __future__ import annotations

from typing import Any

from django import forms

from lib.times import time_zone_names


class TimeZoneForm(forms.Form):
    """An IANA zone name; the same check for the browser's report and for the person's choice."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        error_messages={"invalid_choice": "“%(value)s” is not a time zone of the IANA database."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(name, name.replace("_", " ")) for name in time_zone_names()]
