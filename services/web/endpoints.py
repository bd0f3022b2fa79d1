"""How an MLflow endpoint is declared: typed fields in, a JSON object out.

The MLflow client sends GET fields as query parameters (repeated fields as
repeated keys) and everything else as a JSON body, DELETE included. `Fields`
reads either with the proto's types, so a wrong type or a missing required
field is a 400 INVALID_PARAMETER_VALUE naming the field, never a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.core.validation import storable
from switchyard.errors import InvalidArgument, SwitchyardError
from switchyard.services.web import errors
from switchyard.services.web.backends import Backends

Handler = Callable[["Fields", Backends], Awaitable[Mapping[str, Any]]]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MAX = 2**31 - 1
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _missing(name: str) -> InvalidArgument:
    return InvalidArgument(
        f"Missing value for required parameter '{name}'. See the API docs for more information"
        " about request parameters.",
        field=name,
    )


def _wrong(name: str, kind: str, value: Any) -> InvalidArgument:
    return InvalidArgument(
        f"Invalid value {json.dumps(value)[:100]} for parameter '{name}' supplied: expected {kind}",
        field=name,
    )


class Fields:
    """A request's fields: a JSON object (POST, PATCH, DELETE) or a query string (GET)."""

    def __init__(self, data: Mapping[str, Any], *, from_query: bool = False) -> None:
        self.data = data
        self.from_query = from_query

    def get(self, name: str) -> Any:
        return self.data.get(name)

    def text(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise _missing(name)
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _wrong(name, "a string", value)
        return str(value)

    def integer(self, name: str, *, required: bool = False, default: int = 0) -> int:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise _missing(name)
            return default
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise _wrong(name, "an integer", value)
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise _wrong(name, "an integer", value) from None
        if not INT64_MIN <= number <= INT64_MAX:
            raise _wrong(name, "a 64-bit integer", value)
        if name == "max_results" and not 0 <= number <= INT32_MAX:  # an int32 in MLflow
            raise _wrong(name, f"an integer from 0 to {INT32_MAX}", value)
        return number

    def double(self, name: str, *, required: bool = False) -> float:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise _missing(name)
            return 0.0
        return number(value, name)

    def flag(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _wrong(name, "a boolean", value)

    def texts(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise _wrong(name, "a list of strings", value)
        return [str(v) for v in value]

    def items(self, name: str) -> list[Any]:
        """A repeated field as the raw list (each item checked by its reader)."""
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise _wrong(name, "a list", value)
        return value

    def objects(self, name: str) -> list[Fields]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _wrong(name, "a list of objects", value)
        return [Fields(v) for v in value]

    def object(self, name: str) -> Fields:
        value = self.data.get(name)
        if value is None:
            return Fields({})
        if not isinstance(value, dict):
            raise _wrong(name, "an object", value)
        return Fields(value)


def number(value: Any, name: str) -> float:
    """A double as protobuf JSON allows it: a number or "NaN"/"Infinity"/"-Infinity"."""
    if isinstance(value, bool):
        raise _wrong(name, "a number", value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise _wrong(name, "a number", value)


async def read_fields(request: Request) -> Fields:
    fields = await _read(request)
    if request.path_params:  # e.g. /logged-models/{model_id}
        fields.data = {**fields.data, **request.path_params}
    return fields


async def _read(request: Request) -> Fields:
    if request.method == "GET":
        query = request.query_params
        data: dict[str, Any] = {}
        for key in query:
            values = query.getlist(key)
            data[key] = values[0] if len(values) == 1 else values
        return Fields(data, from_query=True)
    body = await request.body()
    if not body.strip():
        return Fields({})
    try:
        data = json.loads(body)
        if isinstance(data, str):  # MLflow tolerates a double-encoded body
            data = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"malformed JSON body: {exc}", field="body") from None
    except RecursionError:
        raise InvalidArgument("the JSON body is nested too deeply", field="body") from None
    if not isinstance(data, dict):
        raise InvalidArgument("the JSON body must be an object", field="body")
    if _ESCAPED_SURROGATE.search(body):  # only a \ud800-style escape makes one
        _refuse_lone_surrogates(data, "body")
    return Fields(data)


# A JSON escape of a UTF-16 surrogate: paired ones are a character, a lone one has
# no UTF-8 form and would fail deep in protobuf or PostgreSQL.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(value: Any, where: str) -> None:
    if isinstance(value, str):
        storable(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key, f"{where} key")
            _refuse_lone_surrogates(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_lone_surrogates(item, f"{where}[{i}]")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, Encoded):
            return content.body
        return json.dumps(content, separators=(",", ":")).encode()


class Encoded(dict[str, Any]):
    """A reply already encoded as JSON (large, regular replies encode faster by hand)."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body


def route(method: str, path: str, handler: Handler) -> Route:
    """An MLflow JSON endpoint under /api/2.0/mlflow (and the UI's /ajax-api)."""

    async def endpoint(request: Request) -> Response:
        try:
            fields = await read_fields(request)
            result = await handler(fields, request.app.state.backends)
        except SwitchyardError as exc:
            return await errors.on_switchyard_error(request, exc)
        except Exception as exc:
            return await errors.on_unexpected(request, exc)
        return JSON(result)

    return Route(path, endpoint, methods=[method])
