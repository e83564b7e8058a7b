"""Migration pages, included by vms/urls.py (names live in the `vms` namespace)."""

from __future__ import annotations

from django.urls import path

from vms import migration_views

urlpatterns = [
    path("migrations/", migration_views.migration_list, name="migrations"),
    path("migrations/<str:migration_id>/", migration_views.migration_detail, name="migration_detail"),
    path("migrations/<str:migration_id>/panel/", migration_views.migration_panel, name="migration_panel"),
    path("migrations/<str:migration_id>/cancel/", migration_views.migration_cancel, name="migration_cancel"),
    path("vms/<str:vm_id>/migrate/", migration_views.migration_start, name="migration_start"),
]
