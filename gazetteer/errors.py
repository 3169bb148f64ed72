"""Errors of the gazetteer package (which never imports geomap)."""

from __future__ import annotations

__all__ = ["GazetteerError", "GazetteerNotBuiltError", "GazetteerCorruptError"]


class GazetteerError(RuntimeError):
    """The gazetteer cannot be used; the message says how to fix it."""


class GazetteerNotBuiltError(GazetteerError, FileNotFoundError):
    """No gazetteer file at the given path."""


class GazetteerCorruptError(GazetteerError):
    """The file exists but is not a readable gazetteer of this version."""
