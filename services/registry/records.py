"""Rows to protobuf entities, and the reads that every store method shares.

Loads work on many entities at once (a search page, a model's latest
versions) with one statement per table, never one per row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg

from switchyard.errors import NotFound
from switchyard.proto.v1 import registry_pb2 as pb

VERSION_COLUMNS = (
    "v.model_id, v.version, v.creation_time, v.last_update_time, v.description, v.source,"
    " v.storage_location, v.run_id, v.experiment_id, v.stage, v.signature_inputs,"
    " v.signature_outputs, v.signature_params, v.flavor, v.content_digest, m.name"
)


def fill_version(v: pb.ModelVersion, row: asyncpg.Record) -> pb.ModelVersion:
    """Set `v` from a row of VERSION_COLUMNS (in place: `latest_versions.add()` copies nothing)."""
    v.name = row["name"]
    v.version = row["version"]
    v.creation_timestamp = row["creation_time"]
    v.last_updated_timestamp = row["last_update_time"]
    v.description = row["description"]
    v.source = row["source"]
    v.run_id = row["run_id"].hex if row["run_id"] is not None else ""
    v.experiment_id = row["experiment_id"]
    v.current_stage = row["stage"]
    v.status = "READY"
    v.signature.inputs = row["signature_inputs"]
    v.signature.outputs = row["signature_outputs"]
    v.signature.params = row["signature_params"]
    v.flavor = row["flavor"]
    v.content_digest = row["content_digest"]
    v.storage_location = row["storage_location"]
    return v


async def model_row(conn: asyncpg.Connection, name: str, *, lock: bool = False) -> asyncpg.Record:
    """The model's row; `lock` holds it for the transaction (orders writers per model)."""
    row = await conn.fetchrow(
        f"SELECT * FROM registered_models WHERE name = $1{' FOR UPDATE' if lock else ''}", name
    )
    if row is None:
        raise NotFound(f"registered model '{name}' not found", entity="registered_model")
    return row


# Each loader is one statement: the page's keys in order (WITH ORDINALITY), each
# row and its tags/aliases through LATERAL and correlated subqueries. `LIMIT 1`
# keeps the planner from flattening a LATERAL into a hash join over the whole
# table (2-4 ms at 10,000 models): each lookup stays one index probe.
_VERSION_DETAILS = """,
    ARRAY(SELECT ARRAY[t.key, t.value] FROM version_tags t
          WHERE t.model_id = v.model_id AND t.version = v.version) AS tag_pairs,
    ARRAY(SELECT a.alias FROM aliases a
          WHERE a.model_id = v.model_id AND a.version = v.version ORDER BY a.alias) AS alias_names
"""
_LOAD_VERSIONS = """
SELECT {columns}{details}
FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY k(model_id, version, ord)
CROSS JOIN LATERAL (SELECT * FROM model_versions x
                    WHERE x.model_id = k.model_id AND x.version = k.version LIMIT 1) v
CROSS JOIN LATERAL (SELECT y.name FROM registered_models y
                    WHERE y.model_id = k.model_id LIMIT 1) m
ORDER BY k.ord
"""
_LOAD_VERSIONS_DETAILED = _LOAD_VERSIONS.format(columns=VERSION_COLUMNS, details=_VERSION_DETAILS)
_LOAD_VERSIONS_PLAIN = _LOAD_VERSIONS.format(columns=VERSION_COLUMNS, details="")
_LOAD_MODELS = """
SELECT m.*,
    ARRAY(SELECT ARRAY[a.alias, a.version::text] FROM aliases a
          WHERE a.model_id = m.model_id ORDER BY a.alias) AS alias_pairs,
    ARRAY(SELECT DISTINCT ON (l.stage) l.version FROM model_versions l
          WHERE l.model_id = m.model_id ORDER BY l.stage, l.version DESC) AS latest
FROM unnest($1::bigint[]) WITH ORDINALITY k(model_id, ord)
CROSS JOIN LATERAL (SELECT * FROM registered_models x WHERE x.model_id = k.model_id LIMIT 1) m
ORDER BY k.ord
"""


async def _version_rows(
    conn: asyncpg.Connection, keys: Sequence[tuple[int, int]], details: bool
) -> list[asyncpg.Record]:
    sql = _LOAD_VERSIONS_DETAILED if details else _LOAD_VERSIONS_PLAIN
    return await conn.fetch(sql, [k[0] for k in keys], [k[1] for k in keys]) if keys else []


async def load_versions(
    conn: asyncpg.Connection, keys: Sequence[tuple[int, int]]
) -> list[pb.ModelVersion]:
    """Versions with tags and aliases by (model_id, version), in `keys` order."""
    found = []
    for r in await _version_rows(conn, keys, details=True):
        v = fill_version(pb.ModelVersion(), r)
        v.tags.update(dict(r["tag_pairs"]))
        v.aliases.extend(r["alias_names"])
        found.append(v)
    return found


async def version(
    conn: asyncpg.Connection, name: str, number: int, *, lock: bool = False
) -> tuple[int, pb.ModelVersion]:
    """(model id, version) of `name`, or NotFound naming what is missing."""
    model = await model_row(conn, name, lock=lock)
    found = await load_versions(conn, [(model["model_id"], number)])
    if not found:
        raise NotFound(f"registered model '{name}' has no version {number}", entity="model_version")
    return model["model_id"], found[0]


async def load_models(conn: asyncpg.Connection, ids: Sequence[int]) -> list[pb.RegisteredModel]:
    """Registered models with tags, aliases and latest version per stage, in `ids` order."""
    if not ids:
        return []
    rows = await conn.fetch(_LOAD_MODELS, list(ids))
    models: dict[int, pb.RegisteredModel] = {}
    for r in rows:
        m = models[r["model_id"]] = pb.RegisteredModel(
            name=r["name"],
            creation_timestamp=r["creation_time"],
            last_updated_timestamp=r["last_update_time"],
            description=r["description"],
        )
        m.tags.update(json.loads(r["tags"]))  # the mirror of model_tags (migration 002)
        for alias, version in r["alias_pairs"]:
            m.aliases[alias] = int(version)
    latest = [(r["model_id"], v) for r in rows for v in sorted(r["latest"])]
    for r in await _version_rows(conn, latest, details=False):
        fill_version(models[r["model_id"]].latest_versions.add(), r)
    return list(models.values())
