"""Django's admin app with the audited site as its default `admin.site` (audit/admin_site.py).

Its own module: INSTALLED_APPS imports it before any model is ready, and the site module needs models.
"""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class AuditedAdminConfig(AdminConfig):
    default_site = "audit.admin_site.AuditedAdminSite"
