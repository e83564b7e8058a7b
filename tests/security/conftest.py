"""Fixtures of the adversarial suite: the partner's world of the query budgets (cached rows of every
kind, NovaCron answered by `responses`), so both suites walk the same pages."""

from __future__ import annotations

from tests.test_query_budgets import portal  # noqa: F401 - a fixture, used by name
