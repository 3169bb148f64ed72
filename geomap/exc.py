"""Errors and warnings raised by geomap.

Each error also inherits the built-in it refines (as geopy does), so callers can catch
either :class:`GeomapError` or the built-in they already handle.
"""

from __future__ import annotations

__all__ = ["GeomapError", "InputError", "ModelError", "GazetteerError", "GeomapWarning"]


class GeomapError(Exception):
    """Base class for errors raised by geomap."""


class InputError(GeomapError, ValueError):
    """An input cannot be used: unreadable, binary, not text, or a bad option value."""


class ModelError(GeomapError, RuntimeError):
    """The spaCy model is missing or is not the expected build."""


class GazetteerError(GeomapError, RuntimeError):
    """The gazetteer is missing, corrupt or cannot be built (message says how to fix it)."""


class GeomapWarning(UserWarning):
    """Something was skipped or guessed; the run went on."""
