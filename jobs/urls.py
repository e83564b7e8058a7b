from __future__ import annotations

from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.job_new, name="new"),
    path("plan/", views.migration_plan, name="plan"),
    path("evacuate/", views.evacuate_choose, name="evacuate_choose"),
    path("evacuate/<str:cluster_id>/", views.evacuate, name="evacuate"),
    path("<str:job_id>/", views.job_detail, name="detail"),
    path("<str:job_id>/progress/", views.job_progress, name="progress"),
    path("<str:job_id>/cancel/", views.job_cancel, name="cancel"),
    path("<str:job_id>/retry/", views.job_retry, name="retry"),
]
