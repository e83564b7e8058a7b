"""`{% load inventory %}`: links that keep the list's filters, and small formatting for VM pages."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote, urlencode

from django import template
from django.http import QueryDict
from django.utils.safestring import SafeString, mark_safe

from lib.times import instant_html

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (None or "" removes one).

    Changing anything but the page goes back to page 1: page 7 of another filter rarely exists. The
    page is its number or a cursor (`after`, `before`: vms/list_pages.py), so all three go together.
    """
    request = context.get("request")
    query: QueryDict = request.GET.copy() if request is not None else QueryDict(mutable=True)
    for position in ("page", "after", "before"):
        if position not in changes:
            query.pop(position, None)
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = str(value)
    pairs = [(key, value) for key in query for value in query.getlist(key) if value != ""]
    return "?" + urlencode(pairs) if pairs else "?"


@register.filter
def sort_toggle(current: str, column: str) -> str:
    """The sort a column header links to: ascending, or descending when already ascending."""
    return f"-{column}" if current == column else column


@register.filter
def sort_indicator(current: str, column: str) -> str:
    if current == column:
        return "▲"
    if current == f"-{column}":
        return "▼"
    return ""


STATUS_BADGES = {
    "running": "text-bg-success",
    "stopped": "text-bg-secondary",
    "provisioning": "text-bg-info",
    "migrating": "text-bg-primary",
    "error": "text-bg-danger",
    "deleted": "text-bg-dark",
}


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "text-bg-light")


@register.filter
def age(seconds: float | None) -> str:
    """`42 s`, `5 min`, `3 h`, `2 d`: how old data is, in a badge-sized word."""
    if seconds is None:
        return "never"
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


# The list's rows and select options are built here rather than by template nodes: a page of 200
# rows is thousands of node renders. Every value goes through the standard library's html.escape
# (what Django's escape does, minus its lazy-string wrapper), which keeps the list near the cost
# of a bare page.

_ROW = (
    # `vm-row-<vm_id>`: a change of the VM replaces the whole row on open list pages (vms.publishing).
    '<tr id="vm-row-{vm_id}" data-vm-id="{vm_id}"{oob}>'
    # Picks the VM for a bulk action (the list's bulk bar, form `vm-bulk`: jobs). `data-live-keep`: a
    # live replace of the row keeps it ticked or not as the person left it (static/js/live-stream.js).
    '<td><input class="form-check-input vm-pick" type="checkbox" name="vm" value="{vm_id}" form="vm-bulk"'
    ' data-live-keep aria-label="Select {name}"></td>'
    '<td><a href="{url}">{name}</a><div class="small text-body-secondary">{template}</div></td>'
    # The status cell is templates/vms/_vm_status.html (id vm-status-<vm_id>), written out here so a
    # page of 200 rows costs no template renders; a change replaces it on open pages by that id.
    '<td><span id="vm-status-{vm_id}" class="badge vm-status {badge}" data-vm-status="{status}">'
    "{status}</span></td>"
    '<td>{cpu}</td><td>{memory} GB</td><td>{cloud}</td><td class="vm-region">{region}</td><td>{cluster}</td>'
    '<td class="font-monospace small vm-ip">{ip}</td><td class="small">{tags}</td>'
    '<td class="small text-nowrap">{created}</td></tr>'
)
_TAG = '<span class="badge text-bg-light border me-1">{}:{}</span>'


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def vm_row(vm: Any, list_url: str, *, oob: bool = False) -> str:
    """One VM's table row (`oob`: as a live fragment)."""
    tags = vm.tags if isinstance(vm.tags, dict) else {}
    return _ROW.format(
        vm_id=_e(vm.vm_id),
        oob=' hx-swap-oob="true"' if oob else "",
        url=_e(f"{list_url}{quote(vm.vm_id, safe='')}/"),
        name=_e(vm.name),
        template=_e(vm.template),
        badge=STATUS_BADGES.get(vm.status, "text-bg-light"),
        status=_e(vm.status),
        cpu=int(vm.cpu_cores),
        memory=int(vm.memory_gb),
        cloud=_e(vm.cloud_provider),
        region=_e(vm.region),
        cluster=_e(vm.cluster),
        ip=_e(vm.ip_address),
        tags="".join(_TAG.format(_e(key), _e(value)) for key, value in tags.items()),
        created=instant_html(vm.created_at),
    )


@register.simple_tag
def vm_rows(vms: Any, list_url: str) -> SafeString:
    """The table rows of a page of VMs."""
    return mark_safe("\n".join(vm_row(vm, list_url) for vm in vms))  # noqa: S308 - every value is escaped


@register.simple_tag
def select_options(choices: Any, selected: Any) -> SafeString:
    """`<option>`s for a select, the current value selected."""
    current = str(selected)
    return mark_safe(  # noqa: S308 - every value is escaped
        "".join(
            f'<option value="{_e(value)}"{" selected" if str(value) == current else ""}>{_e(label)}</option>'
            for value, label in choices
        )
    )
