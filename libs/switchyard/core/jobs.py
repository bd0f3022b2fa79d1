"""Job queues on the wire: per-pool work-queue streams, subjects, the consumer.

The scheduler releases admitted jobs to `SY_JOBS_<POOL>` (under the
namespace prefix, like the events stream); the pool's trainer-workers share
one durable pull consumer on it. A message not acked within `ACK_WAIT_S`
(a worker died) is redelivered to another worker; workers keep the ones
they run alive with in-progress acks every `PROGRESS_EVERY_S`.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from switchyard.core.streams import stream_created

JOBS_STREAM = "SY_JOBS"
CONSUMER = "workers"
ACK_WAIT_S = 10.0
PROGRESS_EVERY_S = 3.0
MAX_DELIVER = 10
DUPLICATE_WINDOW_S = 120.0
POOL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def jobs_stream(pool: str, namespace: str = "") -> str:
    name = f"{JOBS_STREAM}_{pool.upper().replace('-', '_')}"
    return f"{namespace.upper()}_{name}" if namespace else name


def jobs_subject(pool: str, namespace: str = "") -> str:
    # Not under `sy.`: that prefix belongs to the events stream.
    subject = f"syjobs.{pool}"
    return f"{namespace}.{subject}" if namespace else subject


async def ensure_jobs_stream(
    js: JetStreamContext, pool: str, namespace: str = "", nc: NATS | None = None
) -> datetime | None:
    """Create the pool's work-queue stream and its workers' consumer if missing.

    Returns when the stream was created (None if NATS does not say): a release
    published before then is not on it, since NATS came back with an empty store.
    """
    name = jobs_stream(pool, namespace)
    config = api.StreamConfig(
        name=name,
        subjects=[jobs_subject(pool, namespace)],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.WORK_QUEUE,
        duplicate_window=DUPLICATE_WINDOW_S,
    )
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        try:
            info = await js.add_stream(config)
        except nats.js.errors.BadRequestError:  # another process made it first
            info = await js.stream_info(name)
    with contextlib.suppress(nats.js.errors.BadRequestError):
        await js.add_consumer(name, consumer_config())
    return await stream_created(info, nc)


def consumer_config() -> api.ConsumerConfig:
    return api.ConsumerConfig(
        durable_name=CONSUMER,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_S,
        max_deliver=MAX_DELIVER,
        max_ack_pending=10_000,
    )
