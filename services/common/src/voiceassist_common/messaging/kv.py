"""Key-value buckets on JetStream, for small shared state that must survive restarts.

Services use them for things like a voice session's routing or a short-lived lock, where a
database table would be too heavy and process memory too fragile. Buckets are created on first
use with the settings the caller asks for, and brought back to them if they drifted.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from voiceassist_common.logging import safe

logger = logging.getLogger(__name__)


async def key_value(
    js: JetStreamContext, bucket: str, *, ttl: timedelta | None = None, history: int = 1
) -> KeyValue:
    """Open bucket ``bucket``, creating it if it does not exist.

    ``ttl`` is how long a value lives after its last write (None: for ever); ``history`` how
    many values per key are kept (1 to 64). An existing bucket with another ``ttl`` or
    ``history`` is updated to these.
    """
    max_age = ttl.total_seconds() if ttl is not None else 0.0
    try:
        bucket_handle = await js.key_value(bucket)
    except BucketNotFoundError:
        created = await js.create_key_value(
            KeyValueConfig(
                bucket=bucket,
                history=history,
                ttl=max_age or None,
                storage=StorageType.FILE,
            )
        )
        logger.info("created key-value bucket %s", safe(bucket))
        return created
    stream = f"KV_{bucket}"
    config = (await js.stream_info(stream)).config
    if (config.max_age or 0.0) != max_age or config.max_msgs_per_subject != history:
        await js.update_stream(config.evolve(max_age=max_age, max_msgs_per_subject=history))
        logger.info("updated key-value bucket %s (ttl, history)", safe(bucket))
    return bucket_handle
