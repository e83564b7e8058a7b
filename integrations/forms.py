"""The integration form and its endpoints formset, and the body NovaCron receives from them."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME

from lib.forms import IdempotentForm, StyledForm, public_http_url

INTEGRATION_TYPES = [("api", "API"), ("webhook", "Webhook"), ("oauth", "OAuth"), ("saml", "SAML")]
INTEGRATION_STATUSES = [("active", "Active"), ("disabled", "Disabled")]
ENDPOINT_METHODS = [(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")]
ENDPOINT_AUTH_TYPES = [(a, a) for a in ("none", "basic", "bearer", "hmac", "oauth2")]


class IntegrationForm(StyledForm):
    name = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=INTEGRATION_TYPES)
    status = forms.ChoiceField(choices=INTEGRATION_STATUSES, initial="active")
    config = forms.CharField(
        label="Configuration",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "font-monospace", "spellcheck": "false"}),
        help_text="One key = value per line (retention_days = 30), or a JSON object "
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
        raise forms.ValidationError(
            f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
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


class IntegrationCreateForm(IntegrationForm, IdempotentForm):
    """The new-integration form carries its own Idempotency-Key: posted twice, it creates one integration."""


class EndpointForm(StyledForm):
    name = forms.CharField(max_length=200)
    url = forms.CharField(label="URL", max_length=1000, validators=[public_http_url])
    method = forms.ChoiceField(choices=ENDPOINT_METHODS, initial="POST")
    auth_type = forms.ChoiceField(label="Auth", choices=ENDPOINT_AUTH_TYPES, initial="none")
    timeout_seconds = forms.IntegerField(label="Timeout (s)", min_value=1, max_value=120, initial=30)

    def has_changed(self) -> bool:
        # A row is filled in when it has a name or a URL; the method, auth and timeout selects
        # always carry a default, so comparing them with the initial values says nothing.
        if not self.is_bound:
            return False
        return any((self.data.get(self.add_prefix(name)) or "").strip() for name in ("name", "url"))


if TYPE_CHECKING:
    # Generic only in django-stubs: Django's formset classes cannot be subscripted at run time.
    _FormSet = forms.BaseFormSet[forms.Form]
else:
    _FormSet = forms.BaseFormSet


class BaseEndpointFormSet(_FormSet):
    def submitted_forms(self) -> list[forms.Form]:
        """The rows sent to NovaCron, in order: filled in and not marked for deletion."""
        # Rows loaded from NovaCron count even when untouched; blank extra rows do not.
        return [
            form
            for index, form in enumerate(self.forms)
            if (index < self.initial_form_count() or form.has_changed())
            and not (self.can_delete and form.cleaned_data.get(DELETION_FIELD_NAME, False))
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
