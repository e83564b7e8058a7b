"""Form helpers shared by the pages that send a form on to NovaCron: Bootstrap styling, the URL rule,
and NovaCron's field errors put back on the fields they name."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from django import forms
from django.core.cache import cache

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


IDEMPOTENCY_FIELD = "idempotency_key"
_IDEMPOTENCY_KEY = r"^[0-9a-f]{32}$"


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class IdempotentForm(forms.Form):
    """A form that carries its own Idempotency-Key for NovaCron, made when the form is rendered.

    A double click, or a resubmission after a lost answer, posts the same key, so NovaCron does the
    work once and replays its answer. A form posted without a well-formed key is invalid: it never
    reaches NovaCron with a key the portal made up on the spot.
    """

    idempotency_key = forms.RegexField(
        regex=_IDEMPOTENCY_KEY,
        widget=forms.HiddenInput,
        initial=new_idempotency_key,
        error_messages={
            "invalid": "This form is out of date: reload the page and try again.",
            "required": "This form is out of date: reload the page and try again.",
        },
    )

    def full_clean(self) -> None:
        super().full_clean()
        # A hidden field's error would show nowhere: say it above the form.
        errors = self.errors  # filled by the full_clean above
        if self.is_bound and IDEMPOTENCY_FIELD in errors:
            for message in errors.pop(IDEMPOTENCY_FIELD):
                self.add_error(None, message)

    def renew_idempotency_key(self) -> None:
        """After NovaCron refused the request: the corrected form is another request, with its own key."""
        data = self.data.copy() if hasattr(self.data, "copy") else dict(self.data)  # a mutable copy
        data[self.add_prefix(IDEMPOTENCY_FIELD)] = new_idempotency_key()
        self.data = data


class ActionKeyForm(IdempotentForm):
    """The key of a one-button form (start, stop, cancel, send a test event …), checked server-side."""


def action_idempotency_key(data: Mapping[str, Any]) -> str | None:
    """The well-formed key a one-button form posted, or None (an out-of-date page: refuse it)."""
    form = ActionKeyForm(data)
    return form.cleaned_data[IDEMPOTENCY_FIELD] if form.is_valid() else None


# As long as NovaCron keeps a key (docs/partner-api.md, seed fidelity 6).
_OUTCOME_SECONDS = 24 * 3600


def form_outcome(*, partner_pk: int, path: str, key: str) -> str | None:
    """Where the portal sent the person after NovaCron acted on this form key, if it has.

    A repeat of a finished form (the second of a double click, arriving after the first was
    answered) is sent to the same place, instead of meeting the checks the first one's success now
    fails ("already migrating", "a stopped VM can't be stopped").
    """
    outcome = cache.get(_outcome_name(partner_pk, path, key))
    return outcome if isinstance(outcome, str) else None


def form_outcome_remember(*, partner_pk: int, path: str, key: str, location: str) -> None:
    """`path`: the URL the form posted to, so a key counts only for the action it was made for."""
    cache.set(_outcome_name(partner_pk, path, key), location, _OUTCOME_SECONDS)


def _outcome_name(partner_pk: int, path: str, key: str) -> str:
    digest = hashlib.sha256(f"{partner_pk}\x1f{path}\x1f{key}".encode()).hexdigest()
    return f"form-outcome:{digest}"


class StyledForm(forms.Form):
    """Bootstrap classes on every widget, and `is-invalid` on the ones with errors when rendered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if widget.is_hidden:
                continue
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
