"""Turning JSON dicts into the dataclass models and back, driven by their type hints.

Unknown fields from the server are dropped (the API may grow); timestamps become aware datetimes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime, timezone
from functools import cache
from typing import Any, Self, Union

UTC = timezone.utc  # noqa: UP017 - the SDK supports Python 3.10, which has no datetime.UTC


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


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(annotation: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return [_decode(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(annotation) or (str, Any)
        return {k: _decode(item, v) for k, v in value.items()}
    if annotation is datetime:
        return parse_datetime(value)
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return annotation.from_dict(value)
    if annotation is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


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
        hints = _hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: _decode(hints[k], v) for k, v in raw.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: encode(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def _to_body(self, *, drop_none: bool = True) -> dict[str, Any]:
        body = self.to_dict()
        return {k: v for k, v in body.items() if v is not None} if drop_none else body
