"""What `switchyard up` and `status` print never shows the platform's secrets."""

from __future__ import annotations

import pytest

from switchyard.cli.platform_cmd import redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://switchyard:s3cr3t@127.0.0.1:7622", "nats://switchyard:***@127.0.0.1:7622"),
        ("postgresql://sy_tracking:p@ss:w@h:5/db", "postgresql://sy_tracking:***@h:5/db"),
        ("postgresql://postgres@h:5/db", "postgresql://postgres@h:5/db"),
        ("nats://127.0.0.1:7622", "nats://127.0.0.1:7622"),
        ("file:///tmp/artifacts", "file:///tmp/artifacts"),
        ("", ""),
    ],
)
def test_urls_are_shown_without_their_passwords(url: str, shown: str) -> None:
    assert redact(url) == shown
