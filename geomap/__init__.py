"""geomap: geopolitical mention maps from news text.

Finds the places a text mentions (spaCy NER), resolves each against an offline gazetteer
(GeoNames, Natural Earth and a curated supplement), and renders a self-contained Folium map
whose markers link back to the sentences that mention them.

The API is imported lazily so that ``import geomap`` (and ``geomap --help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "geoparse", "geoparse_paths", "read_documents", "render_map", "open_gazetteer", "Geoparser",
    "mentions_dataframe", "to_geojson",
    "Document", "Mention", "Place", "Resolution", "DocumentResult", "GeoparseResult",
    "GeomapError", "InputError", "ModelError", "GazetteerError", "GeomapWarning",
]

_LAZY = {
    **{name: "geomap.api" for name in ("geoparse", "geoparse_paths", "read_documents", "render_map",
                                       "open_gazetteer", "Geoparser")},
    **{name: "geomap.export" for name in ("mentions_dataframe", "to_geojson")},
    **{name: "geomap.model" for name in ("Document", "Mention", "Place", "Resolution", "DocumentResult",
                                         "GeoparseResult")},
    **{name: "geomap.exc" for name in ("GeomapError", "InputError", "ModelError", "GazetteerError",
                                       "GeomapWarning")},
}

if TYPE_CHECKING:  # pragma: no cover
    from .api import Geoparser as Geoparser, geoparse as geoparse, geoparse_paths as geoparse_paths
    from .api import open_gazetteer as open_gazetteer, read_documents as read_documents
    from .api import render_map as render_map
    from .export import mentions_dataframe as mentions_dataframe, to_geojson as to_geojson
    from .exc import GazetteerError as GazetteerError, GeomapError as GeomapError
    from .exc import GeomapWarning as GeomapWarning, InputError as InputError, ModelError as ModelError
    from .model import Document as Document, DocumentResult as DocumentResult
    from .model import GeoparseResult as GeoparseResult, Mention as Mention, Place as Place
    from .model import Resolution as Resolution


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geomap' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    """The public API, so that tab completion lists the lazily imported names too."""
    return sorted(set(globals()) | set(__all__))
