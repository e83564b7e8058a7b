"""The Django admin, recorded: every add, change and delete made through it writes an audit row.

`audit.admin_apps.AuditedAdminConfig` replaces `django.contrib.admin` in INSTALLED_APPS (Django's way of giving the
default `admin.site` another class), so every model registered there — the portal's, Django's own and
any added later — goes through `AuditedAdminSite.admin_view`, superusers included. The rows come from
the LogEntry rows the admin writes for each change (one audit row per object), or, when nothing was
written, from the refusal: a 403, a 404, or a form shown again with its errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.db.models.signals import pre_delete
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse

from audit.models import AuditEntry
from audit.services import entry_record

ACTION_OF_FLAG = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}
ACTION_OF_VIEW = {
    "add_view": "admin.add",
    "change_view": "admin.change",
    "changelist_view": "admin.change",
    "delete_view": "admin.delete",
    "user_change_password": "admin.change",
}
# Objects deleted during an admin request: (model label, pk) -> the partner they belonged to.
_deleted_partners: ContextVar[dict[tuple[str, str], Any] | None] = ContextVar(
    "audit_admin_deleted", default=None
)


def partner_of(obj: Model | None) -> Any:
    """The partner an object belongs to: itself, its `partner`, or a person's partner."""
    if obj is None:
        return None
    if obj._meta.label == "partners.Partner":
        return obj
    return getattr(obj, "partner", None) if hasattr(obj, "partner_id") else None


def _remember_deleted(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    deleted = _deleted_partners.get()
    if deleted is not None:
        deleted[(instance._meta.label_lower, str(instance.pk))] = partner_of(instance)


pre_delete.connect(_remember_deleted, dispatch_uid="audit.admin_site.remember_deleted")


@contextmanager
def _watching_deletions() -> Iterator[dict[tuple[str, str], Any]]:
    deleted: dict[tuple[str, str], Any] = {}
    token = _deleted_partners.set(deleted)
    try:
        yield deleted
    finally:
        _deleted_partners.reset(token)


class AuditedAdminSite(AdminSite):
    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Callable[..., Any]:
        return super().admin_view(_audited_admin_view(view), cacheable)


def _audited_admin_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST" or not request.user.is_authenticated:
            return view(request, *args, **kwargs)
        last = LogEntry.objects.filter(user_id=request.user.pk).order_by("-pk").values_list("pk", flat=True)
        before = last.first() or 0
        with _watching_deletions() as deleted:
            try:
                response = view(request, *args, **kwargs)
            except PermissionDenied:
                _record_refusal(request, view, kwargs, "permission denied", "forbidden")
                raise
            except Http404:
                _record_refusal(request, view, kwargs, "not found", "not_found")
                raise
        written = list(
            LogEntry.objects.filter(user_id=request.user.pk, pk__gt=before)
            .select_related("content_type")
            .order_by("pk")
        )
        for entry in written:
            _record_change(request, entry, deleted)
        if not written:
            errors = _form_errors(response)
            if errors is not None:
                _record_refusal(request, view, kwargs, f"invalid: {', '.join(errors) or 'form'}", "invalid")
            elif response.status_code in (403, 404):
                code = "forbidden" if response.status_code == 403 else "not_found"
                _record_refusal(request, view, kwargs, f"answered {response.status_code}", code)
        return response

    return inner


def _form_errors(response: HttpResponse) -> list[str] | None:
    """The fields of an add or change form shown again with errors; None when no form was refused."""
    context = getattr(response, "context_data", None) or {}
    adminform = context.get("adminform")
    if adminform is None or not context.get("errors"):
        return None
    return sorted(adminform.form.errors)


def _model_admin_label(view: Callable[..., HttpResponse]) -> str:
    owner = getattr(view, "__self__", None)
    model = getattr(owner, "model", None)
    return model._meta.label_lower if model is not None else ""


def _record_change(request: HttpRequest, entry: LogEntry, deleted: dict[tuple[str, str], Any]) -> None:
    label = f"{entry.content_type.app_label}.{entry.content_type.model}" if entry.content_type else ""
    obj = None
    if entry.action_flag != DELETION:
        try:
            obj = entry.get_edited_object()
        except Exception:  # the model is gone from the code, or the row from the database
            obj = None
    partner = (
        deleted.get((label, entry.object_id or "")) if entry.action_flag == DELETION else partner_of(obj)
    )
    link = ""
    if entry.action_flag != DELETION and entry.content_type:
        try:
            link = reverse(
                f"admin:{entry.content_type.app_label}_{entry.content_type.model}_change",
                args=[entry.object_id],
            )
        except NoReverseMatch:
            link = ""
    entry_record(
        request=request,
        actor=request.user,
        partner=partner,
        action=ACTION_OF_FLAG.get(entry.action_flag, "admin.change"),
        object_type=label,
        object_id=entry.object_id or "",
        object_link=link,
        # Which fields changed, by name (Django's change message); never their values.
        parameters={"object": entry.object_repr, "change": entry.get_change_message()},
        outcome=AuditEntry.Outcome.SUCCESS,
    )


def _record_refusal(
    request: HttpRequest, view: Callable[..., HttpResponse], kwargs: dict[str, Any], reason: str, code: str
) -> None:
    entry_record(
        request=request,
        actor=request.user,
        action=ACTION_OF_VIEW.get(getattr(view, "__name__", ""), "admin.change"),
        object_type=_model_admin_label(view),
        object_id=str(kwargs.get("object_id", "") or kwargs.get("id", "")),
        outcome=AuditEntry.Outcome.REFUSED_BY_PORTAL,
        error_code=code,
        reason=reason,
    )
