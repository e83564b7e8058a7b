"""Turning JSON dicts into the dataclass models and back, driven by their type hints.

Unknown fields from the server are dropped (the API may grow); timestamps become aware datetimes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, Self, Union


def parse_datetime(value: str | datetime) -> datetime:
    """An ISO 8601 string (``Z`` or an offset) as an aware datetime; naive input is taken as UTC."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = value.strip()
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; a naive datetime is taken as local time, as Python does."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Decoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _to_float(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _decoder(annotation: Any) -> Decoder:
    """A function turning a JSON value into ``annotation``, built once per model field."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = _decoder(options[0]) if len(options) == 1 else _identity
        return inner if inner is _identity else (lambda v: None if v is None else inner(v))
    if origin is list:
        item = _decoder((typing.get_args(annotation) or (Any,))[0])
        return _identity if item is _identity else (lambda v: None if v is None else [item(x) for x in v])
    if origin is dict:
        value_decoder = _decoder((typing.get_args(annotation) or (str, Any))[-1])
        if value_decoder is _identity:
            return _identity
        return lambda v: None if v is None else {k: value_decoder(x) for k, x in v.items()}
    if annotation is datetime:
        return lambda v: None if v is None else parse_datetime(v)
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return lambda v: None if v is None else annotation.from_dict(v)
    if annotation is float:
        return _to_float
    return _identity


@cache
def _plan(cls: type) -> dict[str, Decoder]:
    hints = typing.get_type_hints(cls)
    return {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(cls)}


def encode(value: Any) -> Any:
    """A JSON-ready form of a model, a datetime, or a container of them."""
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


class Model:
    """Mixin for dataclass models: ``from_dict`` and ``to_dict``."""

    @classmethod
    def from_dict(cls, raw: typing.Mapping[str, Any]) -> Self:
        plan = _plan(cls)  # type: ignore[arg-type]  # classes are hashable
        return cls(**{k: plan[k](v) for k, v in raw.items() if k in plan})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: encode(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def _to_body(self, *, drop_none: bool = True) -> dict[str, Any]:
        body = self.to_dict()
        return {k: v for k, v in body.items() if v is not None} if drop_none else body
