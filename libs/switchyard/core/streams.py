"""When NATS made a stream: how a reader tells a stream made again (NATS came
back with an empty store) from the one it was reading."""

from __future__ import annotations

import json
from datetime import datetime

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import api


async def stream_created(info: api.StreamInfo, nc: NATS | None = None) -> datetime | None:
    """When NATS made this stream. nats-py before 2.12 drops the field from its
    StreamInfo; then (given the connection) it is read from JetStream's API itself."""
    created = getattr(info, "created", None)
    if created is None and nc is not None:
        try:
            reply = await nc.request(f"$JS.API.STREAM.INFO.{info.config.name}", b"", timeout=2)
            created = json.loads(reply.data).get("created")
        except (nats.errors.Error, ValueError):
            return None
    return _created(created)


def _created(value: object) -> datetime | None:
    # nats-py parses it; some versions leave the RFC 3339 text (nanoseconds, "Z").
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    whole, _, rest = value.rstrip("Z").partition(".")
    micros = rest[:6].ljust(6, "0") if rest else "0"
    try:
        return datetime.fromisoformat(f"{whole}.{micros}+00:00")
    except ValueError:
        return None
