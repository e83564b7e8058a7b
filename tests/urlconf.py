"""The portal's URLconf as a list of routes, for suites that must cover every view by themselves.

`tests/test_query_budgets.py` (every GET page has a budget) and `tests/security/` (CSRF, tenancy, the
role matrix) walk the same list, so a new view is enumerated once, in one way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Route:
    route: str  # e.g. "vms/<str:vm_id>/stop/"
    callback: Any

    @property
    def parameters(self) -> list[str]:
        """The names of the route's parameters (an object id, most often)."""
        return [match.group(2) for match in _PARAMETER.finditer(self.route)]

    @property
    def csrf_exempt(self) -> bool:
        return bool(getattr(self.callback, "csrf_exempt", False))

    def url(self, **values: str | int) -> str:
        """The route's path with its parameters filled in (unnamed ones as `sample_url` does)."""
        return "/" + _PARAMETER.sub(
            lambda m: str(values.get(m.group(2), "1" if m.group(1) == "int" else "x")), self.route
        )


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name != "admin":  # Django's own admin site, not a portal page
                yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield Route(prefix + str(pattern.pattern), pattern.callback)


def routes() -> list[Route]:
    """Every route of the portal's URLconf but the Django admin's."""
    return list(_walk(get_resolver().url_patterns))
