"""Celery tasks of usage: thin adapters (schedule in portal/settings.py)."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from partners.models import Partner
from usage.services import usage_refresh


@shared_task(name="usage.refresh_all")
def refresh_all() -> None:
    for partner_pk in Partner.objects.values_list("pk", flat=True):
        refresh_partner.delay(partner_pk)


@shared_task(name="usage.refresh_partner")
def refresh_partner(partner_pk: int) -> int:
    partner = Partner.objects.filter(pk=partner_pk).first()
    lock = f"usage:refresh-lock:{partner_pk}"
    # One refresh per partner at a time; a worker killed mid-run frees it after ten minutes.
    if partner is None or not cache.add(lock, "1", timeout=600):
        return 0
    try:
        return usage_refresh(partner=partner)
    finally:
        cache.delete(lock)
