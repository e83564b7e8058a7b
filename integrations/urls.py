from __future__ import annotations

from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("integrations/", views.integration_list, name="integration_list"),
    path("integrations/new/", views.integration_create, name="integration_create"),
    path("integrations/<str:integration_id>/edit/", views.integration_edit, name="integration_edit"),
    path("integrations/<str:integration_id>/delete/", views.integration_delete, name="integration_delete"),
]
