from __future__ import annotations

from django.urls import path

from vms import export_views, views
from vms.migration_urls import urlpatterns as migration_urlpatterns

app_name = "vms"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("vms/", views.vm_list, name="list"),
    path("vms/new/", views.vm_create, name="create"),
    path("vms/export.csv", export_views.vm_export, name="export"),
    path("vms/<str:vm_id>/", views.vm_detail, name="detail"),
    path("vms/<str:vm_id>/metrics.json", views.vm_metrics, name="metrics"),
    path("vms/<str:vm_id>/start/", views.vm_start, name="start"),
    path("vms/<str:vm_id>/stop/", views.vm_stop, name="stop"),
    path("vms/<str:vm_id>/delete/", views.vm_delete, name="delete"),
]

# The migration UI's routes live under the same namespace.
urlpatterns += migration_urlpatterns
