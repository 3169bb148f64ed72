"""geomap's offline gazetteer: place data, its SQLite store, and lookups.

The gazetteer is built on first use from packages geomap depends on (Natural Earth countries,
GeoNames cities, geomap's curated supplement) into the user cache folder, or into a path given
by ``GEOMAP_GAZETTEER``. This package never imports :mod:`geomap`: it can be built, queried
and tested on its own.

>>> gaz = open_gazetteer()                      # doctest: +SKIP
>>> [c.place.name for c in gaz.lookup("Baku")]  # doctest: +SKIP
['Baku']
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import GazetteerCorruptError, GazetteerError, GazetteerNotBuiltError
from .normalize import normalize_name
from .store import SCHEMA_VERSION, Candidate, Gazetteer, GazetteerPlace

__all__ = ["open_gazetteer", "default_path", "Gazetteer", "GazetteerPlace", "Candidate",
           "GazetteerError", "GazetteerNotBuiltError", "GazetteerCorruptError", "normalize_name",
           "SCHEMA_VERSION", "ENV_VAR"]

ENV_VAR = "GEOMAP_GAZETTEER"


def default_path() -> Path:
    """Where the gazetteer lives when no path is given: ``$GEOMAP_GAZETTEER``, else
    ``gazetteer-v<schema>.sqlite`` in the user cache folder (platformdirs)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir
    return Path(user_cache_dir("geomap")) / f"gazetteer-v{SCHEMA_VERSION}.sqlite"


def open_gazetteer(path: str | Path | None = None, *, build: bool | None = None,
                   progress: bool = True) -> Gazetteer:
    """Open the gazetteer, building or rebuilding it first when needed.

    Parameters
    ----------
    path : str or Path, optional
        An explicit file. Default: :func:`default_path`.
    build : bool, optional
        Build the file when it is missing or stale. Default: True for the default path
        (the cache), False for an explicit path, which must then exist already — a mistyped
        path is an error, not a silent 2-minute build.
    progress : bool
        Progress bar on stderr while building.

    Returns
    -------
    Gazetteer

    Raises
    ------
    GazetteerNotBuiltError
        If the file is missing and ``build`` is false.
    GazetteerCorruptError
        If the file is unreadable or of another schema and ``build`` is false, or if it was made
        by ``geomap gazetteer import`` for another schema (an import is never rebuilt silently).
    """
    explicit = path is not None or bool(os.environ.get(ENV_VAR))
    target = Path(path).expanduser() if path is not None else default_path()
    if build is None:
        build = not explicit
    if build:
        from .build import build_gazetteer, needs_rebuild
        reason = needs_rebuild(target)
        if reason is not None and reason.startswith("imported"):
            # A full GeoNames import is never replaced by the smaller packaged build unasked.
            raise GazetteerCorruptError(
                f"{str(target)!r} is an {reason}; run 'geomap gazetteer import' again with your GeoNames "
                "files, or 'geomap gazetteer build --force' to replace it with the packaged gazetteer")
        if reason is not None:
            if reason != "missing":
                print(f"geomap: rebuilding the gazetteer at {target} ({reason})", file=sys.stderr)
            build_gazetteer(target, progress=progress, force=reason != "missing")
    return Gazetteer(target)
