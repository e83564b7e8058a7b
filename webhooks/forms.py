"""The form of a new webhook subscription."""

from __future__ import annotations

from django import forms

from lib.forms import IdempotentForm, StyledForm, public_http_url
from webhooks.subscriptions import WEBHOOK_EVENT_TYPES


class SubscriptionForm(StyledForm, IdempotentForm):
    url = forms.CharField(
        label="Delivery URL",
        max_length=1000,
        validators=[public_http_url],
        help_text="Where NovaCron posts the events. The portal's own receiver is offered by default.",
    )
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in WEBHOOK_EVENT_TYPES], widget=forms.CheckboxSelectMultiple
    )
