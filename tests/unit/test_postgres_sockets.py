"""The embedded PostgreSQL's Unix socket fits Linux's 107-byte limit wherever the home is
(a deep home put it past the limit, and PostgreSQL refused to start)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from switchyard.dev.postgres import MAX_SOCKET_PATH, EmbeddedPostgres


def test_a_short_home_keeps_its_socket_inside() -> None:
    pg = EmbeddedPostgres(Path("/tmp/sy/pg"), port=7632)
    assert pg._sockets == Path("/tmp/sy/pg/sockets")


def test_a_deep_home_gets_a_short_private_socket_folder() -> None:
    deep = Path(tempfile.gettempdir()) / ("nested-" * 20) / ".switchyard" / "postgres"
    pg = EmbeddedPostgres(deep, port=7632)
    sockets = pg._sockets
    assert sockets.parent == Path(tempfile.gettempdir())
    assert len(str(sockets / ".s.PGSQL.7632")) < MAX_SOCKET_PATH
    assert sockets == EmbeddedPostgres(deep, port=7632)._sockets  # the same every start
    assert sockets != EmbeddedPostgres(deep / "other", port=7632)._sockets
