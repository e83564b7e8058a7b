"""Forms for integrations and webhook subscriptions, and the mapping of NovaCron's field errors."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from django import forms

from partners import services

INTEGRATION_TYPES = [("api", "API"), ("webhook", "Webhook"), ("oauth", "OAuth"), ("saml", "SAML")]
INTEGRATION_STATUSES = [("active", "Active"), ("disabled", "Disabled")]
ENDPOINT_METHODS = [(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")]
ENDPOINT_AUTH_TYPES = [(a, a) for a in ("none", "basic", "bearer", "hmac", "oauth2")]

# The reference's event types plus migration.progress (docs/partner-api.md, "Event types").
WEBHOOK_EVENT_TYPES = list(services.WEBHOOK_EVENT_TYPES)

def http_url(value: str) -> None:
    """An http(s) URL with a host. Lenient on the host on purpose: internal names such as
    `portal` or `testserver` are valid receivers; NovaCron has the last word."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise forms.ValidationError("Enter an http:// or https:// URL.", code="invalid")


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


class IntegrationForm(StyledForm):
    name = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=INTEGRATION_TYPES)
    status = forms.ChoiceField(choices=INTEGRATION_STATUSES, initial="active")
    config = forms.CharField(
        label="Configuration",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "font-monospace", "spellcheck": "false"}),
        help_text='One key = value per line (retention_days = 30), or a JSON object '
        '({"backup_schedule": "0 2 * * *", "retention_days": 30}).',
    )

    def clean_config(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("config") or "").strip()
        if not text:
            return {}
        if text[0] in "{[":
            return _config_from_json(text)
        return _config_from_lines(text)


def _config_from_json(text: str) -> dict[str, Any]:
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc
    if not isinstance(config, dict):
        raise forms.ValidationError("The configuration must be a JSON object ({...}), not a list or a value.")
    return config


def _config_value(raw: str) -> Any:
    """`30` is a number, `true` a boolean, `"x"` or `x` a string: what a person means on a key/value line."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _config_from_lines(text: str) -> dict[str, Any]:
    """`key = value` lines (or `key: value`); blank lines and `#` comments are skipped."""
    config: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^([^=:]+?)\s*[=:]\s*(.*)$", line)
        if match is None or not match.group(1).strip():
            raise forms.ValidationError(
                f"Line {number}: write key = value, or give the whole configuration as a JSON object."
            )
        key = match.group(1).strip()
        if key in config:
            raise forms.ValidationError(f"Line {number}: the key “{key}” appears twice.")
        config[key] = _config_value(match.group(2).strip())
    return config


class EndpointForm(StyledForm):
    name = forms.CharField(max_length=200)
    url = forms.CharField(label="URL", max_length=1000, validators=[http_url])
    method = forms.ChoiceField(choices=ENDPOINT_METHODS, initial="POST")
    auth_type = forms.ChoiceField(label="Auth", choices=ENDPOINT_AUTH_TYPES, initial="none")
    timeout_seconds = forms.IntegerField(label="Timeout (s)", min_value=1, max_value=120, initial=30)

    def has_changed(self) -> bool:
        # A row is filled in when it has a name or a URL; the method, auth and timeout selects
        # always carry a default, so comparing them with the initial values says nothing.
        if not self.is_bound:
            return False
        return any((self.data.get(self.add_prefix(name)) or "").strip() for name in ("name", "url"))


class BaseEndpointFormSet(forms.BaseFormSet):
    def submitted_forms(self) -> list[forms.Form]:
        """The rows sent to NovaCron, in order: filled in and not marked for deletion."""
        # Rows loaded from NovaCron count even when untouched; blank extra rows do not.
        return [
            form
            for index, form in enumerate(self.forms)
            if (index < self.initial_form_count() or form.has_changed())
            and not (self.can_delete and self._should_delete_form(form))
        ]


EndpointFormSet = forms.formset_factory(
    EndpointForm, formset=BaseEndpointFormSet, extra=2, can_delete=True, max_num=50, validate_max=True
)


def integration_body(form: IntegrationForm, endpoints: BaseEndpointFormSet) -> dict[str, Any]:
    """The request body for create or update, from valid forms."""
    return {
        "name": form.cleaned_data["name"],
        "type": form.cleaned_data["type"],
        "status": form.cleaned_data["status"],
        "config": form.cleaned_data["config"],
        "endpoints": [
            {key: row.cleaned_data[key] for key in ("name", "url", "method", "auth_type", "timeout_seconds")}
            for row in endpoints.submitted_forms()
        ],
    }


def integration_initial(integration: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Initial data for the edit forms from an SDK Integration."""
    main = {
        "name": integration.name,
        "type": integration.type,
        "status": integration.status or "active",
        "config": json.dumps(integration.config or {}, indent=2, sort_keys=True),
    }
    rows = [
        {
            "name": e.name,
            "url": e.url,
            "method": e.method,
            "auth_type": e.auth_type,
            "timeout_seconds": e.timeout_seconds,
        }
        for e in integration.endpoints
    ]
    return main, rows


_ENDPOINT_FIELD = re.compile(r"^endpoints(?:\.|\[)(\d+)\]?(?:\.(\w+))?$")


def apply_api_field_errors(
    fields: dict[str, list[str]], form: forms.Form, endpoints: BaseEndpointFormSet | None = None
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


class SubscriptionForm(StyledForm):
    url = forms.CharField(
        label="Delivery URL",
        max_length=1000,
        validators=[http_url],
        help_text="Where NovaCron posts the events. The portal's own receiver is offered by default.",
    )
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in WEBHOOK_EVENT_TYPES], widget=forms.CheckboxSelectMultiple
    )


class ConfirmForm(forms.Form):
    """An empty form: the POST of a confirmation page (CSRF does the rest)."""
