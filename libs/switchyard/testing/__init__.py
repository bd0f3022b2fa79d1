"""Test against a real Switchyard: see `plugin` (pytest fixtures) and `platform`."""

from switchyard.testing.platform import Infrastructure, LocalPlatform

__all__ = ["Infrastructure", "LocalPlatform"]
