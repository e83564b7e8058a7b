"""Form helpers shared by the pages that send a form on to NovaCron: Bootstrap styling, the URL rule,
and NovaCron's field errors put back on the fields they name."""

from __future__ import annotations

import re
from typing import Any, Protocol
from urllib.parse import urlsplit

from django import forms

from lib.netguard import url_refusal


class SubmittedRows(Protocol):
    """A formset of rows NovaCron receives as a list (the integration endpoints)."""

    def submitted_forms(self) -> list[forms.Form]: ...


def http_url(value: str) -> None:
    """An http(s) URL with a host. Lenient on the host on purpose: internal names such as
    `portal` or `testserver` are valid receivers; NovaCron has the last word."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise forms.ValidationError("Enter an http:// or https:// URL.", code="invalid")


def public_http_url(value: str) -> None:
    """`http_url`, and the host must be a public address: a server will post to it (lib/netguard.py).

    Checked as typed (an address in any spelling, `localhost`); NovaCron checks again after DNS
    resolution when it delivers.
    """
    http_url(value)
    reason = url_refusal(value)
    if reason is not None:
        raise forms.ValidationError(
            "This URL points to a %(reason)s, which the server that sends to it must not reach. "
            "Enter a URL on a public address.",
            code="forbidden_address",
            params={"reason": reason},
        )


class StyledForm(forms.Form):
    """Bootstrap classes on every widget, and `is-invalid` on the ones with errors when rendered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        if field and field in self.fields:
            widget = self.fields[field].widget
            if "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


_ENDPOINT_FIELD = re.compile(r"^endpoints(?:\.|\[)(\d+)\]?(?:\.(\w+))?$")


def apply_api_field_errors(
    fields: dict[str, list[str]], form: forms.Form, endpoints: SubmittedRows | None = None
) -> None:
    """Put NovaCron's `details.fields` messages on the fields they name.

    `endpoints.0.url` (or `endpoints[0].url`) is the first endpoint *sent*, which is the first
    submitted row of the formset, not necessarily the first row on screen.
    """
    sent_rows = endpoints.submitted_forms() if endpoints is not None else []
    for raw_name, messages in fields.items():
        name = raw_name.removeprefix("body.")
        match = _ENDPOINT_FIELD.match(name)
        if match and endpoints is not None:
            index, sub_field = int(match.group(1)), match.group(2)
            if index < len(sent_rows):
                row = sent_rows[index]
                for message in messages:
                    row.add_error(sub_field if sub_field in row.fields else None, message)
                continue
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message if target else f"{raw_name}: {message}")
