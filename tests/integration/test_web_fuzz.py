"""Property-based fuzzing of every route of the MLflow REST edge and of the
search filter grammar: no input gets a 5xx, and a 4xx writes nothing.

The routes come from the edge's own route table and the field names from the
edge's source (every `f.text("name")` and kin), so a new route or field is
fuzzed without touching this file. Values mix the ids of real entities (so
requests reach the write paths) with what breaks parsers: NUL, lone
surrogates, huge integers, NaN, deep nesting, path tricks. "Wrote nothing" is
checked against a hash of every row of tracking's and registry's schemas.

CI runs a fixed, derandomized budget; by hand, more and random:

    SWITCHYARD_FUZZ_EXAMPLES=2000 SWITCHYARD_FUZZ_RANDOM=1 pytest tests/integration/test_web_fuzz.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from switchyard.services import web
from switchyard.services.web.app import mlflow_routes
from switchyard.testing.platform import Infrastructure, LocalPlatform

# The platforms under test run in this process and use `random` (retry jitter) on
# their own threads while hypothesis draws; hypothesis takes that for the strategy's.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
API = "/api/2.0/mlflow"
EXAMPLES = int(os.environ.get("SWITCHYARD_FUZZ_EXAMPLES", "600"))
BUDGET = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("SWITCHYARD_FUZZ_RANDOM"),
    suppress_health_check=list(HealthCheck),
    database=None,
)
_FIELD = re.compile(r"\.(?:text|texts|integer|double|flag|object|objects|items)\(\s*\"(\w+)\"")


def _fields() -> list[str]:
    source = Path(web.__file__).parent
    found = {m for p in source.glob("*.py") for m in _FIELD.findall(p.read_text())}
    return sorted(found)


def _routes() -> list[tuple[str, str]]:
    out = []
    for r in mlflow_routes():
        assert isinstance(r, Route)
        out += [(m, r.path) for m in sorted(r.methods or ()) if m != "HEAD"]
    return out


ROUTES = _routes()
FIELDS = _fields()


class World:
    """The fuzzed platform: real entities to aim at, and a fingerprint of its rows."""

    def __init__(self, platform: LocalPlatform, database_url: str) -> None:
        self.url = platform.endpoints.http["web"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {platform.token}"
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(database_url))
        self.tracking_schema = platform.settings.schema_for("tracking")
        schemas = [self.tracking_schema, platform.settings.schema_for("registry")]
        tables = self.loop.run_until_complete(
            self.conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE'"
                # api_tokens: a verified request notes its token's last use (once a
                # second at most), whatever it asks; no REST route writes tokens
                " AND table_name NOT IN ('outbox', 'schema_migrations', 'api_tokens')",
                schemas,
            )
        )
        assert len(tables) > 10, tables
        # The relay marks outbox rows published on its own time, so the outbox is
        # left out; every write also changes a domain table.
        self.fingerprint_sql = " UNION ALL ".join(
            f"SELECT '{t['table_schema']}.{t['table_name']}',"
            f" md5(coalesce(string_agg(md5(x::text), ''"
            f' ORDER BY md5(x::text)), \'\')) FROM "{t["table_schema"]}"."{t["table_name"]}" x'
            for t in tables
        )
        self.ids = self._entities()
        self.statuses: Counter[int] = Counter()
        self.home = Path()

    def _entities(self) -> dict[str, str]:
        exp = self.post("/experiments/create", {"name": f"fuzz-{uuid.uuid4().hex[:8]}"})
        experiment_id = exp.json()["experiment_id"]
        run = self.post("/runs/create", {"experiment_id": experiment_id})
        run_id = run.json()["run"]["info"]["run_id"]
        name = f"fuzz-model-{uuid.uuid4().hex[:6]}"
        self.post("/registered-models/create", {"name": name})
        self.post("/model-versions/create", {"name": name, "source": "file:///tmp/m"})
        return {"experiment_id": experiment_id, "run_id": run_id, "name": name}

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        r = self.session.post(f"{self.url}{API}{path}", json=body)
        assert r.status_code == 200, r.text
        return r

    def fingerprint(self) -> dict[str, str]:
        rows = self.loop.run_until_complete(self.conn.fetch(self.fingerprint_sql))
        return {r[0]: r[1] for r in rows}

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()
        self.session.close()


@pytest.fixture(scope="module")
def world(
    switchyard_infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    home = tmp_path_factory.mktemp("fuzz") / "home"  # its parent holds nothing else
    services = ("tracking", "registry", "web")
    with LocalPlatform(switchyard_infra, home, services=services) as platform:
        w = World(platform, switchyard_infra.database_url)
        w.home = home
        try:
            yield w
        finally:
            w.close()


NASTY = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "'",
    '"',
    "%",
    "\\",
    "../../../etc/passwd",
    "😀",
    " ",
    "NaN",
    "x" * 5000,
    "metrics.m > 1",
    "1e999",
]
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**31, 2**31 - 1, 2**63, -(2**63) - 1, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _scalars(ids: dict[str, str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        NUMBERS,
        st.sampled_from(NASTY),
        st.text(max_size=20),
        st.sampled_from(sorted(ids.values())),
    )


def _values(ids: dict[str, str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        _scalars(ids),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    )


def _bodies(ids: dict[str, str]) -> st.SearchStrategy[dict[str, Any]]:
    # The real ids under their own names half of the time: deeper paths get reached.
    aimed = st.fixed_dictionaries({}, optional={k: st.just(v) for k, v in ids.items()})
    return st.tuples(aimed, st.dictionaries(st.sampled_from(FIELDS), _values(ids), max_size=5)).map(
        lambda pair: {**pair[1], **pair[0]} if len(pair[1]) % 2 else {**pair[0], **pair[1]}
    )


def _encode(body: dict[str, Any]) -> bytes:
    # Python writes NaN, Infinity and lone surrogates as \ud800 escapes, as a
    # careless client would; all of it must come back a 4xx or work.
    return json.dumps(body).encode()


def _query(body: dict[str, Any]) -> str:
    parts = []
    for key, value in body.items():
        for item in value if isinstance(value, list) else [value]:
            text = item if isinstance(item, str) else json.dumps(item)
            parts.append(f"{quote(key)}={quote(text, errors='surrogatepass')}")
    return "&".join(parts)


def _send(world: World, method: str, path: str, body: dict[str, Any]) -> requests.Response:
    url = f"{world.url}{API}{path}"
    if method == "GET":
        return world.session.get(f"{url}?{_query(body)}", timeout=30)
    return world.session.request(
        method, url, data=_encode(body), headers={"Content-Type": "application/json"}, timeout=30
    )


def _check(world: World, method: str, path: str, body: dict[str, Any]) -> None:
    before = world.fingerprint()
    r = _send(world, method, path, body)
    world.statuses[r.status_code] += 1
    assert r.status_code < 500, f"{method} {path} {body!r:.500} -> {r.status_code} {r.text:.500}"
    if 400 <= r.status_code < 500:
        changed = [t for t, h in world.fingerprint().items() if before.get(t) != h]
        assert not changed, f"{method} {path} {body!r:.300} -> {r.status_code} wrote {changed}"


def test_field_pool_is_read_from_the_edge() -> None:
    assert {"experiment_id", "run_id", "name", "filter", "max_results"} <= set(FIELDS)
    assert ("POST", "/runs/log-batch") in ROUTES and len(ROUTES) > 40


def test_the_fingerprint_sees_a_write(world: World) -> None:
    before = world.fingerprint()
    world.post("/runs/log-parameter", {"run_id": world.ids["run_id"], "key": "k", "value": "v"})
    changed = [t for t, h in world.fingerprint().items() if before[t] != h]
    tracking = world.tracking_schema  # its audit log: every schema has one of its own
    assert sorted(changed) == [f"{tracking}.audit_records", f"{tracking}.params"]


@BUDGET
@given(data=st.data())
def test_no_route_gives_5xx_and_a_4xx_writes_nothing(world: World, data: st.DataObject) -> None:
    method, path = data.draw(st.sampled_from(ROUTES), label="route")
    path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: quote(world.ids.get(m[1], "x")), path)
    _check(world, method, path, data.draw(_bodies(world.ids), label="body"))


_KEYS = st.sampled_from(
    ["metrics.m", "params.p", "tags.t", "attributes.status", "attributes.run_name",
     "attributes.start_time", "attribute.run_id", "run_name", "tags.`a b`", "metrics.\"x\"",
     "name", "version_number", "run_id", "source_path", "dataset.name", "x.y.z", ""]
)  # fmt: skip
_OPS = st.sampled_from(["=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "~", ""])
_LITERALS = st.one_of(
    NUMBERS.map(str),
    st.sampled_from(NASTY).map(lambda s: f"'{s}'"),
    st.text(max_size=8).map(lambda s: f"'{s}'"),
    st.lists(st.text(max_size=4).map(lambda s: f"'{s}'"), max_size=3).map(
        lambda xs: f"({', '.join(xs)})"
    ),
    st.sampled_from(["'", "(", ")", "''", '"', "null", "AND"]),
)
_CLAUSE = st.tuples(_KEYS, _OPS, _LITERALS).map(" ".join)
FILTERS = st.one_of(
    st.lists(_CLAUSE, min_size=1, max_size=3).map(" AND ".join),
    st.lists(_CLAUSE, min_size=1, max_size=3).map(" and ".join),
    st.text(max_size=40),
    st.sampled_from(NASTY),
)
_SEARCHES = [
    ("POST", "/runs/search", "filter", "experiment_ids"),
    ("POST", "/experiments/search", "filter", None),
    ("GET", "/registered-models/search", "filter", None),
    ("GET", "/model-versions/search", "filter", None),
]


@BUDGET
@given(data=st.data())
def test_the_filter_grammar_never_gives_5xx(world: World, data: st.DataObject) -> None:
    method, path, field, scope = data.draw(st.sampled_from(_SEARCHES), label="search")
    body: dict[str, Any] = {field: data.draw(FILTERS, label="filter")}
    if scope:
        body[scope] = [world.ids["experiment_id"]]
    if data.draw(st.booleans(), label="order"):
        body["order_by"] = [
            data.draw(st.tuples(_KEYS, st.sampled_from(["", "ASC", "DESC", "x"])).map(" ".join))
        ]
    _check(world, method, path, body)


_SEGMENTS = st.sampled_from(
    ["..", ".", "", "a", "b.txt", "%2e%2e", "%2E%2E%2F", "%00", "%ed%a0%80", "..%2f", "\\", "~",
     "😀", "x" * 300, "%", "a%20b", "/etc/passwd", "%0d%0aX-Bad:%201", "%22", "%ff"]
)  # fmt: skip


@settings(BUDGET, max_examples=max(EXAMPLES // 3, 10))
@given(segments=st.lists(_SEGMENTS, min_size=1, max_size=5), put=st.booleans())
def test_artifact_paths_never_give_5xx_or_escape_the_root(
    world: World, segments: list[str], put: bool
) -> None:
    # The proxy's multipart routes answer 501 by design (one PUT uploads), so
    # they are not fuzzed; the file route is.
    outside_before = _files_outside_artifacts(world.home)
    url = f"{world.url}/api/2.0/mlflow-artifacts/artifacts/{'/'.join(segments)}"
    r = world.session.put(url, data=b"fuzz") if put else world.session.get(url)
    world.statuses[r.status_code] += 1
    assert r.status_code < 500, f"{url} -> {r.status_code} {r.text:.300}"
    assert _files_outside_artifacts(world.home) == outside_before, url


@pytest.mark.parametrize("name", ["😀.txt", "%ed%a0%80", "a%09b", "q%22.txt"])
def test_any_file_name_downloads(world: World, name: str) -> None:
    url = f"{world.url}/api/2.0/mlflow-artifacts/artifacts/names/{name}"
    assert world.session.put(url, data=b"x").status_code == 200
    r = world.session.get(url)
    assert r.status_code == 200 and r.content == b"x", r.text
    assert r.headers["Content-Disposition"].startswith('attachment; filename="')


def test_a_name_cannot_inject_a_header(world: World) -> None:
    url = f"{world.url}/api/2.0/mlflow-artifacts/artifacts/names/a%0d%0aX-Bad:%201"
    assert world.session.put(url, data=b"x").status_code < 500
    r = world.session.get(url)
    assert r.status_code < 500 and "X-Bad" not in r.headers


def _files_outside_artifacts(home: Path) -> set[Path]:
    root = home.parent
    return {p for p in root.rglob("*") if p.is_file() and (home / "artifacts") not in p.parents}


def test_the_fuzz_reached_both_writes_and_refusals(world: World) -> None:
    # Run after the fuzz tests above (file order): a fuzz that only ever got
    # 404s, or never wrote, would prove nothing.
    ok = sum(n for s, n in world.statuses.items() if s < 300)
    refused = sum(n for s, n in world.statuses.items() if 400 <= s < 500)
    assert ok > EXAMPLES // 20 and refused > EXAMPLES // 4, dict(world.statuses)
    print(f"fuzz statuses: {dict(sorted(world.statuses.items()))}")
