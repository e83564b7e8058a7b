"""Fixtures of the rendered-page checks: the partner's world of the query budgets (cached rows of every
kind, NovaCron answered by `responses`), so they look at the same pages the budgets count."""

from __future__ import annotations

from tests.test_query_budgets import portal  # noqa: F401 - a fixture, used by name
