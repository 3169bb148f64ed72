"""Online fallback geocoding through geopy, and the offline gazetteer as a geopy geocoder.

:class:`OnlineFallback` is the resolver's fallback (:data:`geomap.resolve.Fallback`) for the
toponyms the offline gazetteer cannot resolve. It asks a geopy geocoder — by default geopy's
own :class:`~geopy.geocoders.Nominatim` client, i.e. OpenStreetMap data — and follows
Nominatim's usage policy by construction:

- a User-Agent naming geomap and its version, with a contact the user can set
  (``geomap/0.1.0 (+you@example.org)``);
- at most one request per second, through geopy's :class:`~geopy.extra.rate_limiter.RateLimiter`;
- a per-run cap on requests (20 by default), with one warning when it is reached;
- a persistent SQLite cache of answers and of misses (misses expire), so names already asked
  are never asked again;
- the document's countries sent as ``country_codes`` and preferred among the results; results
  whose OSM class is implausible for the mention (a shop for a country-like name) dropped;
- faults handled without a traceback: a short timeout, retries with backoff on 429/5xx that
  honour ``Retry-After`` (at most 3), and, after a refusal (403), a timeout or an unreachable
  network, no more requests for the rest of the run, with one :class:`~geomap.exc.GeomapWarning`
  naming the cause. The mention stays unresolved with the reason; every other mention keeps
  its result.

Places from the geocoder carry ``source="geocoder:<name>"`` (``"geocoder:nominatim"``: maps
credit "© OpenStreetMap contributors" for them), a GeoNames-like feature class/code mapped from
the OSM class/type, and a confidence of at most 0.7. The raw answer is kept in
:attr:`OnlineFallback.records`.

:class:`GazetteerGeocoder` goes the other way: the offline gazetteer behind geopy's
:class:`~geopy.geocoders.base.Geocoder` interface, for code written against geopy.
"""

from __future__ import annotations

import errno
import hashlib
import inspect
import ipaddress
import json
import logging
import math
import os
import socket
import sqlite3
import threading
import time
import unicodedata
import urllib.request
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geopy.adapters import AdapterHTTPError, BaseSyncAdapter, URLLibAdapter, get_retry_after
from geopy.exc import (ConfigurationError, GeocoderNotFound, GeocoderParseError, GeocoderQueryError,
                       GeocoderServiceError, GeocoderTimedOut, GeopyError)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim, get_geocoder_for_service
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location

from . import __version__
from .exc import GazetteerError, GeomapWarning, InputError
from .model import Mention, Place

__all__ = ["GeocoderSettings", "OnlineFallback", "GeocodeCache", "GeocodeRecord", "GazetteerGeocoder",
           "user_agent", "osm_feature", "is_plausible", "offline_from_env", "default_cache_path",
           "parse_geocoder_url", "geocoder_class"]

logger = logging.getLogger(__name__)

#: Environment variables read when the matching setting is not given.
ENV_OFFLINE = "GEOMAP_OFFLINE"
ENV_URL = "GEOMAP_GEOCODER_URL"
ENV_CONTACT = "GEOMAP_CONTACT"
ENV_API_KEY = "GEOMAP_GEOCODER_API_KEY"
ENV_OPTIONS = "GEOMAP_GEOCODER_OPTIONS"
ENV_CACHE = "GEOMAP_GEOCODER_CACHE"

_CACHE_SCHEMA = 1
_MAX_CONFIDENCE = 0.7
_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})
# Time, behind names that tests replace (geopy's own RateLimiter tests patch _clock/_sleep).
_clock: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep
_wall_clock: Callable[[], float] = time.time


def offline_from_env() -> bool:
    """True when ``GEOMAP_OFFLINE`` is set to a true value (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def default_cache_path() -> Path:
    """``$GEOMAP_GEOCODER_CACHE``, else ``geocoder-v1.sqlite`` in the user cache folder (platformdirs)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir
    return Path(user_cache_dir("geomap")) / f"geocoder-v{_CACHE_SCHEMA}.sqlite"


def user_agent(contact: str | None = None) -> str:
    """The User-Agent geomap sends: ``geomap/<version>``, plus ``(+contact)`` when given.

    Nominatim's usage policy asks for an application-specific User-Agent and refuses generic
    ones (geopy's default, ``python-urllib``) with HTTP 403.
    """
    contact = (contact or "").strip()
    return f"geomap/{__version__} (+{contact})" if contact else f"geomap/{__version__}"


def parse_geocoder_url(url: str) -> tuple[str, str]:
    """Split a service address into geopy's ``(scheme, domain)``.

    Parameters
    ----------
    url : str
        ``scheme://host[:port][/path]``, e.g. ``http://127.0.0.1:8080`` or
        ``https://maps.example.org/nominatim``.

    Returns
    -------
    (str, str)
        ``("http", "127.0.0.1:8080")``; the domain keeps a path prefix, without a trailing slash.

    Raises
    ------
    InputError
        If the scheme is not http/https or there is no host (it is a ``ValueError``).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"geocoder URL must look like http(s)://host[:port], got {url!r}")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as e:
        raise InputError(f"geocoder URL has a bad port: {url!r}") from e
    return parts.scheme, (parts.netloc + parts.path).rstrip("/")


def geocoder_class(name: str) -> type[Geocoder]:
    """The geopy geocoder class for a service name (``"nominatim"``, ``"photon"``, ``"arcgis"``...).

    Raises
    ------
    InputError
        If geopy knows no such service (the message lists a few that it knows).
    """
    try:
        return get_geocoder_for_service(name.strip().lower())
    except GeocoderNotFound as e:
        from geopy.geocoders import SERVICE_TO_GEOCODER
        known = ", ".join(sorted(SERVICE_TO_GEOCODER)[:12])
        raise InputError(f"unknown geocoder {name!r}; geopy knows e.g. {known}") from e


@dataclass(frozen=True)
class GeocoderSettings:
    """How the online fallback behaves. Frozen and hashable, so it can key a cache of geoparsers.

    Attributes
    ----------
    geocoder : str
        geopy service name (``geopy.geocoders.get_geocoder_for_service``); default ``"nominatim"``.
    url : str or None
        Service address ``scheme://host[:port]`` for self-hosted instances and tests; default
        ``$GEOMAP_GEOCODER_URL``, else the service's public address as geopy knows it.
    contact : str or None
        E-mail or URL appended to the User-Agent; default ``$GEOMAP_CONTACT``.
    max_requests : int
        Requests allowed per run (retries included); 20 by default.
    timeout : float
        Seconds to wait for each answer (geopy's ``timeout``); 3 by default.
    min_delay : float
        Seconds between two requests (Nominatim's policy: at least 1).
    retries : int
        Retries after a 429 or 5xx answer (at most 3), waiting ``Retry-After`` or 1, 2, 4 s.
    max_retry_wait : float
        Longest wait, in seconds, that a ``Retry-After`` may ask for; longer ones end the run's lookups.
    cache : bool
        Keep answers in the SQLite cache.
    cache_path : str or None
        Cache file; default :func:`default_cache_path`.
    miss_ttl : float
        Seconds after which a cached "not found" is asked again (7 days).
    language : str
        Preferred language of names (``accept-language``), ``"en"``.
    api_key : str or None
        Key for services that need one; default ``$GEOMAP_GEOCODER_API_KEY``. Further keyword
        arguments for the geopy class can be given as a JSON object in ``$GEOMAP_GEOCODER_OPTIONS``.
    """

    geocoder: str = "nominatim"
    url: str | None = None
    contact: str | None = None
    max_requests: int = 20
    timeout: float = 3.0
    min_delay: float = 1.0
    retries: int = 3
    max_retry_wait: float = 60.0
    cache: bool = True
    cache_path: str | None = None
    miss_ttl: float = 7 * 86400.0
    language: str = "en"
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.max_requests < 0 or self.retries < 0 or self.retries > 3:
            raise InputError(f"max_requests must be >= 0 and retries 0..3, got {self.max_requests!r}, "
                             f"{self.retries!r}")
        if not self.timeout > 0 or self.min_delay < 0 or self.miss_ttl < 0:
            raise InputError(f"timeout must be > 0 s, min_delay and miss_ttl >= 0 s, got {self.timeout!r}, "
                             f"{self.min_delay!r}, {self.miss_ttl!r}")


@dataclass(frozen=True)
class GeocodeRecord:
    """What the geocoder said about a place that geomap used.

    Attributes
    ----------
    query : str
        The name as asked.
    place : Place
        The place made from the answer.
    osm_class, osm_type : str or None
        The raw OSM class and type (``"boundary"``, ``"administrative"``), None for non-OSM services.
    importance : float or None
        Nominatim's importance (0..1) when given.
    raw : dict
        The service's answer for this result, as geopy's ``Location.raw``.
    """

    query: str
    place: Place
    osm_class: str | None
    osm_type: str | None
    importance: float | None
    raw: Mapping[str, Any]


# --- OSM class/type → GeoNames-like feature class/code -----------------------------------

_PLACE = {
    "continent": ("L", "CONT"), "country": ("A", "PCLI"), "state": ("A", "ADM1"), "province": ("A", "ADM1"),
    "region": ("L", "RGN"), "county": ("A", "ADM2"), "district": ("A", "ADM2"),
    "state_district": ("A", "ADM2"),
    "municipality": ("A", "ADM3"), "city": ("P", "PPL"), "town": ("P", "PPL"), "village": ("P", "PPL"),
    "hamlet": ("P", "PPL"), "isolated_dwelling": ("P", "PPL"), "farm": ("P", "PPL"),
    "suburb": ("P", "PPLX"), "borough": ("P", "PPLX"), "quarter": ("P", "PPLX"),
    "neighbourhood": ("P", "PPLX"), "city_block": ("P", "PPLX"), "locality": ("L", "LCTY"),
    "island": ("T", "ISL"), "islet": ("T", "ISL"), "archipelago": ("T", "ISLS"),
    "sea": ("H", "SEA"), "ocean": ("H", "OCN"), "square": ("S", "SQR"),
}
_NATURAL = {
    "water": ("H", "LK"), "bay": ("H", "BAY"), "strait": ("H", "STRT"), "sea": ("H", "SEA"),
    "spring": ("H", "SPNG"), "glacier": ("H", "GLCR"), "wetland": ("H", "WTLD"), "reef": ("H", "RF"),
    "peak": ("T", "PK"), "volcano": ("T", "VLC"), "mountain_range": ("T", "MTS"), "ridge": ("T", "RDGE"),
    "valley": ("T", "VAL"), "cape": ("T", "CAPE"), "peninsula": ("T", "PEN"), "island": ("T", "ISL"),
    "beach": ("T", "BCH"), "plateau": ("T", "PLAT"), "plain": ("T", "PLN"), "desert": ("T", "DSRT"),
    "saddle": ("T", "SDL"), "wood": ("V", "FRST"), "heath": ("V", "HTH"), "grassland": ("V", "GRSLD"),
}
_WATERWAY = {"river": ("H", "STM"), "stream": ("H", "STM"), "canal": ("H", "CNL"), "dam": ("S", "DAM")}
_SITES = {
    ("aeroway", "aerodrome"): "AIRP", ("railway", "station"): "RSTN", ("man_made", "bridge"): "BDG",
    ("historic", "castle"): "CSTL", ("historic", "monument"): "MNMT", ("historic", "memorial"): "MNMT",
    ("tourism", "hotel"): "HTL", ("tourism", "museum"): "MUS", ("amenity", "hospital"): "HSP",
    ("amenity", "university"): "UNIV", ("amenity", "school"): "SCH", ("amenity", "place_of_worship"): "CH",
    ("amenity", "embassy"): "DIP", ("office", "diplomatic"): "DIP", ("leisure", "stadium"): "STDM",
}
_ADMIN_BY_LEVEL = {2: "PCLI", 3: "ADM1", 4: "ADM1", 5: "ADM2", 6: "ADM2", 7: "ADM3", 8: "ADM3"}
_SETTLEMENTS = frozenset({"city", "town", "village", "hamlet", "municipality"})
# What a mention's spaCy label allows among OSM classes (anything is fine for FAC).
_AREA_CLASSES = frozenset({"boundary", "place"})
_LAND_CLASSES = _AREA_CLASSES | {"natural", "waterway", "water", "landuse", "leisure", "mountain_pass",
                                 "geological", "landform"}
_NOT_A_PLACE = {"boundary": {"postal_code"}, "place": {"house", "houses", "plot", "allotments"}}


def osm_feature(osm_class: str | None, osm_type: str | None, raw: Mapping[str, Any] | None = None
                ) -> tuple[str, str]:
    """Map an OSM class/type (Nominatim's ``class``/``type``) to a GeoNames feature class and code.

    ``boundary/administrative`` becomes a country (``A``/``PCLI``) at admin level 2 (or address
    type "country", or place rank ≤ 4), a first- or second-level division below that, and a
    populated place (``P``/``PPL``) when Nominatim calls it a city, town or village;
    ``place=city|town|village`` is ``P``/``PPL`` (``PPLC`` when tagged capital);
    ``natural=water|bay|strait`` and waterways are ``H``; peaks, ranges and islands ``T``;
    buildings and amenities ``S``; anything else ``L``/``AREA``.

    Parameters
    ----------
    osm_class, osm_type : str or None
        As in Nominatim's JSON (``"place"``, ``"city"``).
    raw : mapping, optional
        The whole result, for ``addresstype``, ``place_rank`` and ``extratags``.

    Returns
    -------
    (str, str)
        GeoNames feature class (A, P, L, H, T, S, V, R) and code.
    """
    raw = raw or {}
    extratags = raw.get("extratags") or {}
    addresstype = raw.get("addresstype")
    if osm_class == "boundary" and osm_type == "administrative":
        if addresstype in _SETTLEMENTS and addresstype != "municipality":
            return "P", "PPLC" if str(extratags.get("capital")) in ("yes", "2") else "PPL"
        try:
            level = int(extratags.get("admin_level") or raw.get("admin_level") or 0)
        except (TypeError, ValueError):
            level = 0
        if level in _ADMIN_BY_LEVEL:
            return "A", _ADMIN_BY_LEVEL[level]
        if addresstype in _PLACE and _PLACE[addresstype][0] == "A":
            return _PLACE[addresstype]
        rank = _number(raw.get("place_rank"))
        if rank is not None:
            return "A", "PCLI" if rank <= 4 else "ADM1" if rank <= 8 else "ADM2" if rank <= 12 else "ADMD"
        return "A", "ADMD"
    if osm_class == "boundary":
        return {"national_park": ("L", "PRK"), "protected_area": ("L", "RESN")}.get(osm_type or "",
                                                                                    ("L", "RGN"))
    if osm_class == "place":
        fclass, code = _PLACE.get(osm_type or "", ("P", "PPL"))
        if code == "PPL" and osm_type == "city" and str(extratags.get("capital")) in ("yes", "2"):
            code = "PPLC"
        return fclass, code
    if osm_class == "natural":
        return _NATURAL.get(osm_type or "", ("L", "AREA"))
    if osm_class in ("waterway", "water"):
        return _WATERWAY.get(osm_type or "", ("H", "STM" if osm_class == "waterway" else "LK"))
    if osm_class in ("landuse", "leisure"):
        return {"park": ("L", "PRK"), "nature_reserve": ("L", "RESN"), "military": ("L", "MILB")}.get(
            osm_type or "", ("S", "STDM") if osm_type == "stadium" else ("L", "AREA"))
    if osm_class == "highway":
        return "R", "RD"
    if osm_class in ("aeroway", "railway", "man_made", "historic", "tourism", "amenity", "building", "office",
                     "shop", "craft", "military", "bridge"):
        return "S", _SITES.get((osm_class, osm_type or ""), "BLDG")
    return "L", "AREA"


def is_plausible(label: str, osm_class: str | None, osm_type: str | None) -> bool:
    """Whether an OSM class/type can be what a mention with this spaCy label names.

    GPE mentions (and the others) accept administrative boundaries and ``place=*``; LOC also
    accepts natural features, waterways, land use and parks; FAC accepts anything, buildings
    included. A shop, an amenity or a road is never a country or a city. Postcode areas and
    house numbers are never toponyms. Results without an OSM class (other services) are kept.
    """
    if osm_class is None:
        return True
    if osm_type in _NOT_A_PLACE.get(osm_class, ()):
        return False
    if label == "FAC":
        return True
    return osm_class in (_LAND_CLASSES if label == "LOC" else _AREA_CLASSES)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _normalize_query(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


# --- the persistent cache -----------------------------------------------------------------

class GeocodeCache:
    """Answers and misses of a geocoder, in SQLite, keyed by the query and its options.

    A key covers the geocoder name, its URL, the normalised query (NFC, case-folded, spaces
    collapsed), the country bias and the language. Answers are kept until the file is deleted;
    misses are answered for ``miss_ttl`` seconds, then asked again.

    Parameters
    ----------
    path : str or PathLike
        The SQLite file; created (with its folder) on first write.
    miss_ttl : float
        Seconds a cached miss stays valid.
    clock : callable, optional
        Wall-clock time in seconds (default ``time.time``), replaced in tests.

    Notes
    -----
    The cache never raises: a file that cannot be opened or written is reported once with a
    :class:`~geomap.exc.GeomapWarning` and the cache then does nothing.
    """

    def __init__(self, path: str | os.PathLike, *, miss_ttl: float = 7 * 86400.0,
                 clock: Callable[[], float] | None = None):
        self.path = Path(path)
        self.miss_ttl = miss_ttl
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    @staticmethod
    def key(*, geocoder: str, url: str | None, query: str, country_codes: tuple[str, ...] = (),
            language: str | None = None) -> str:
        """The cache key (a SHA-256 hex digest) of a query and its options."""
        payload = json.dumps([geocoder.lower(), url or "", _normalize_query(query),
                              sorted(c.lower() for c in country_codes), language or ""], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _now(self) -> float:
        return (self._clock or _wall_clock)()

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
                conn.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, query TEXT NOT NULL, "
                             "results TEXT NOT NULL, found INTEGER NOT NULL, fetched REAL NOT NULL)")
                self._conn = conn
            except (sqlite3.Error, OSError) as e:
                self._fail(e)
        return self._conn

    def _fail(self, error: Exception) -> None:
        self._broken = True
        self._conn = None
        warnings.warn(f"geocoder cache {str(self.path)!r} is unusable ({error}); answers are not kept",
                      GeomapWarning, stacklevel=3)

    def get(self, key: str) -> list[dict] | None:
        """The cached results for a key: a list (empty for a fresh miss), or None if not cached."""
        conn = self._connect()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT results, found, fetched FROM answers WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as e:
            self._fail(e)
            return None
        if row is None:
            return None
        results, found, fetched = row
        if not found:
            return [] if self._now() - fetched < self.miss_ttl else None
        try:
            return json.loads(results)
        except ValueError:
            return None

    def put(self, key: str, query: str, results: list[dict]) -> None:
        """Store the results of a query (an empty list records a miss)."""
        conn = self._connect()
        if conn is None:
            return
        try:
            conn.execute("INSERT OR REPLACE INTO answers (key, query, results, found, fetched) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (key, query, json.dumps(results, ensure_ascii=False), int(bool(results)),
                          self._now()))
        except (sqlite3.Error, TypeError, ValueError) as e:
            self._fail(e)

    def close(self) -> None:
        """Close the database connection (it reopens on the next use)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --- the online fallback ------------------------------------------------------------------

class _Stop(Exception):
    """No answer for this query: ``reason`` says why (internal)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Limiter(RateLimiter):
    """geopy's RateLimiter with an injectable clock and sleep (as geopy's own tests patch them)."""

    def __init__(self, func, *, min_delay_seconds: float, clock: Callable[[], float],
                 sleep: Callable[[float], None]):
        super().__init__(func, min_delay_seconds=min_delay_seconds, max_retries=0,
                         error_wait_seconds=min_delay_seconds, swallow_exceptions=False)
        self._clock_fn = clock
        self._sleep_fn = sleep

    def _clock(self):
        return self._clock_fn()

    def _sleep(self, seconds):
        logger.debug("waiting %.2f s between geocoder requests", seconds)
        self._sleep_fn(seconds)


@dataclass(frozen=True)
class _Fault:
    kind: str              # "retry", "query", "stop"
    reason: str            # short, for the unresolved list
    message: str = ""      # one warning line, for "stop"
    retry_after: float | None = None


def _chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        reason = getattr(error, "reason", None)
        if isinstance(reason, BaseException):
            yield reason
        error = error.__cause__ or error.__context__


class OnlineFallback:
    """The resolver's fallback: asks an online geocoder, politely, for names the gazetteer lacks.

    Call it as ``fallback(mention, countries)`` (:data:`geomap.resolve.Fallback`); it returns
    ``(place, confidence)`` or ``(None, reason)`` and never raises. See the module docstring for
    the policy (rate limit, cap, cache, context, faults).

    Parameters
    ----------
    settings : GeocoderSettings
        Service, address, contact, cap, timeout, cache.
    clock, sleep : callable, optional
        Monotonic time in seconds and the matching sleep, used for the rate limit and the
        retry waits (default ``time.monotonic``/``time.sleep``; tests pass a virtual clock).
    geocoder : geopy.geocoders.base.Geocoder, optional
        A ready geopy geocoder instead of the one ``settings`` describe.

    Raises
    ------
    InputError
        If the settings name an unknown service, a bad URL, or options geopy refuses.

    Attributes
    ----------
    requests : int
        HTTP requests sent in this run (retries included).
    records : dict of str to GeocodeRecord
        The raw answer behind each place used, by place key.
    stopped : str or None
        Why no more requests are sent in this run (refused, unreachable, cap...), or None.

    Notes
    -----
    One run at a time: the request count and the stop state are not shared between threads.
    """

    def __init__(self, settings: GeocoderSettings | None = None, *, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None, geocoder: Geocoder | None = None):
        self.settings = settings = settings or GeocoderSettings()
        self.name = settings.geocoder.strip().lower()
        self.url = settings.url if settings.url is not None else os.environ.get(ENV_URL) or None
        contact = settings.contact if settings.contact is not None else os.environ.get(ENV_CONTACT)
        self.user_agent = user_agent(contact)
        self.geocoder = geocoder if geocoder is not None else self._make_geocoder(contact)
        self._clock_fn, self._sleep_fn = clock, sleep
        self._limited = _Limiter(self.geocoder.geocode, min_delay_seconds=settings.min_delay,
                                 clock=self._now, sleep=self._sleep)
        self.cache: GeocodeCache | None = None
        if settings.cache:
            path = Path(settings.cache_path) if settings.cache_path else default_cache_path()
            self.cache = GeocodeCache(path, miss_ttl=settings.miss_ttl)
        self.records: dict[str, GeocodeRecord] = {}
        self._memo: dict[str, list[dict]] = {}
        self.new_run()

    def _now(self) -> float:
        return (self._clock_fn or _clock)()

    def _sleep(self, seconds: float) -> None:
        (self._sleep_fn or _sleep)(seconds)

    def new_run(self) -> None:
        """Start a new run: reset the request count, the stop state and the once-only warnings
        (the cache, the rate limiter's clock and answers already known are kept)."""
        self.requests = 0
        self.stopped: str | None = None
        self._host_checked = False
        self._failed: dict[str, str] = {}

    # -- construction ----------------------------------------------------------------------

    def _make_geocoder(self, contact: str | None) -> Geocoder:
        cls = geocoder_class(self.name)
        params = inspect.signature(cls.__init__).parameters
        kwargs: dict[str, Any] = {"user_agent": self.user_agent, "timeout": self.settings.timeout,
                                  "adapter_factory": URLLibAdapter}
        if self.url:
            scheme, domain = parse_geocoder_url(self.url)
            if "domain" not in params:
                raise InputError(f"geocoder {self.name!r} has a fixed address; "
                                 "--geocoder-url cannot change it")
            kwargs.update(scheme=scheme, domain=domain)
        api_key = self.settings.api_key or os.environ.get(ENV_API_KEY)
        if api_key:
            for name in ("api_key", "apikey", "key", "access_token", "auth_id"):
                if name in params:
                    kwargs[name] = api_key
                    break
        options = os.environ.get(ENV_OPTIONS)
        if options:
            try:
                extra = json.loads(options)
                if not isinstance(extra, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                raise InputError(f"{ENV_OPTIONS} must be a JSON object of {cls.__name__} options, "
                                 f"got {options!r}") from e
            kwargs.update(extra)
        try:
            return cls(**kwargs)
        except (ConfigurationError, TypeError, ValueError) as e:
            raise InputError(f"cannot set up geocoder {self.name!r}: {e}") from e

    # -- the Fallback protocol --------------------------------------------------------------

    def __call__(self, mention: Mention, countries: frozenset[str]) -> tuple[Place, float] | tuple[None, str]:
        """Geocode one mention in the context of its document's countries (never raises)."""
        try:
            return self.geocode(mention.text, countries, label=mention.label)
        except Exception as e:  # noqa: BLE001 - the resolver's contract: a fallback never raises
            logger.debug("geocoder fallback failed on %r", mention.text, exc_info=True)
            return None, f"geocoder error ({type(e).__name__})"

    def geocode(self, name: str, countries: frozenset[str] = frozenset(), *, label: str = "GPE"
                ) -> tuple[Place, float] | tuple[None, str]:
        """The place a toponym names, or the reason there is none.

        Asks first with the document's countries as ``country_codes`` (when there are any),
        then without; among plausible results those in ``countries`` come first, then the
        service's order.

        Parameters
        ----------
        name : str
            The toponym as written.
        countries : frozenset of str
            ISO 3166-1 alpha-2 codes the document mentions.
        label : str
            spaCy label of the mention (GPE, LOC, FAC...), which decides what OSM classes fit.

        Returns
        -------
        (Place, float) or (None, str)
            The place (``source="geocoder:<name>"``) and its confidence (0..0.7), or a reason
            such as ``"no geocoder match"`` or ``"geocoder refused (403)"``.
        """
        query = " ".join(name.split())
        if not query:
            return None, "empty name"
        context = tuple(sorted(c.lower() for c in countries if c))
        attempts = [context, ()] if context else [()]
        implausible: list[str] = []
        for country_codes in attempts:
            try:
                results = self._lookup(query, country_codes)
            except _Stop as stop:
                return None, stop.reason
            chosen = self._choose(query, results, countries, label, implausible)
            if chosen is not None:
                return chosen
        if implausible:
            return None, f"geocoder results implausible for a {label} ({', '.join(implausible[:3])})"
        return None, "no geocoder match"

    # -- choosing among results ---------------------------------------------------------------

    def _choose(self, query: str, results: list[dict], countries: frozenset[str], label: str,
                implausible: list[str]) -> tuple[Place, float] | None:
        ranked = []
        for order, raw in enumerate(results):
            osm_class, osm_type = _osm_class_type(raw)
            if not is_plausible(label, osm_class, osm_type):
                implausible.append(f"{osm_class}={osm_type}")
                continue
            lat, lon = _number(raw.get("lat")), _number(raw.get("lon"))
            if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
                continue
            code = _country_code(raw)
            outside = bool(countries) and code not in countries
            ranked.append((outside, order, raw, lat, lon, code, osm_class, osm_type))
        if not ranked:
            return None
        ranked.sort(key=lambda item: (item[0], item[1]))
        outside, _, raw, lat, lon, code, osm_class, osm_type = ranked[0]
        importance = _number(raw.get("importance"))
        confidence = 0.4 + 0.3 * min(1.0, max(0.0, importance if importance is not None else 0.3))
        if outside:
            confidence *= 0.8
        fclass, fcode = osm_feature(osm_class, osm_type, raw)
        osm_id = raw.get("osm_id")
        key = (f"geocoder:{self.name}:{raw.get('osm_type')}/{osm_id}" if osm_id is not None
               else f"geocoder:{self.name}:{lat:.5f},{lon:.5f}")
        population = _number((raw.get("extratags") or {}).get("population"))
        place = Place(key=key, name=_result_name(raw, query), lat=lat, lon=lon, country_code=code,
                      feature_class=fclass, feature_code=fcode, geonameid=None,
                      population=int(population) if population is not None else None,
                      source=f"geocoder:{self.name}")
        self.records[key] = GeocodeRecord(query, place, osm_class, osm_type, importance, raw)
        return place, round(min(_MAX_CONFIDENCE, confidence), 3)

    # -- cache, then network ----------------------------------------------------------------

    def _lookup(self, query: str, country_codes: tuple[str, ...]) -> list[dict]:
        key = GeocodeCache.key(geocoder=self.name, url=self.url, query=query, country_codes=country_codes,
                               language=self.settings.language)
        if key in self._memo:
            return self._memo[key]
        if key in self._failed:
            raise _Stop(self._failed[key])
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            logger.debug("geocoder cache hit for %r %s", query, country_codes or "")
            self._memo[key] = cached
            return cached
        try:
            results = self._request(query, country_codes)
        except _Stop as stop:
            self._failed[key] = stop.reason
            raise
        self._memo[key] = results
        if self.cache is not None:
            self.cache.put(key, query, results)
        return results

    def _request(self, query: str, country_codes: tuple[str, ...]) -> list[dict]:
        """Send the query (with retries); the raw results, [] when nothing matches."""
        if self.stopped:
            raise _Stop(self.stopped)
        self._check_host()
        kwargs = self._query_options(country_codes)
        for attempt in range(self.settings.retries + 1):
            if self.requests >= self.settings.max_requests:
                self._stop("geocoder request cap reached",
                           f"reached the cap of {self.settings.max_requests} geocoder requests for this run "
                           f"(--max-requests); other names are left unresolved")
            self.requests += 1
            logger.debug("geocoder request %d: %r %s", self.requests, query, kwargs)
            try:
                locations = self._limited(query, **kwargs)
            except (GeopyError, OSError, ValueError) as error:
                fault = self._classify(error)
            else:
                return [dict(loc.raw) if isinstance(loc.raw, Mapping) else {"lat": loc.latitude,
                        "lon": loc.longitude, "display_name": loc.address} for loc in (locations or [])]
            if fault.kind == "query":
                raise _Stop(fault.reason)
            if fault.kind == "retry" and attempt < self.settings.retries:
                wait = max(2.0 ** attempt, fault.retry_after or 0.0)
                if wait > self.settings.max_retry_wait:
                    self._stop(fault.reason, f"{self._service()} asks to wait {wait:.0f} s ({fault.reason}); "
                                             "no more lookups this run")
                logger.info("%s: %s, retrying in %.1f s (%d/%d)", self._service(), fault.reason, wait,
                            attempt + 1, self.settings.retries)
                self._sleep(wait)
                continue
            self._stop(fault.reason, fault.message or f"{self._service()} failed ({fault.reason}) after "
                                                      f"{attempt + 1} tries; no more lookups this run")
        raise AssertionError("unreachable")  # pragma: no cover

    def _query_options(self, country_codes: tuple[str, ...]) -> dict[str, Any]:
        params = inspect.signature(self.geocoder.geocode).parameters
        kwargs: dict[str, Any] = {"exactly_one": False}
        wanted = {"limit": 5, "language": self.settings.language, "addressdetails": True, "extratags": True}
        if country_codes:
            wanted["country_codes" if "country_codes" in params else "country"] = list(country_codes)
        kwargs.update({k: v for k, v in wanted.items() if k in params})
        return kwargs

    def _service(self) -> str:
        return "Nominatim" if isinstance(self.geocoder, Nominatim) else f"geocoder {self.name!r}"

    def _stop(self, reason: str, message: str) -> None:
        """Send no more requests in this run; warn once."""
        if not self.stopped:
            self.stopped = reason
            warnings.warn(message, GeomapWarning, stacklevel=2)
        raise _Stop(self.stopped)

    def _check_host(self) -> None:
        """Once per run, resolve the service's host name with the timeout: DNS failures and
        slow resolvers (which socket timeouts do not bound) then cost one timeout at most."""
        if self._host_checked:
            return
        self._host_checked = True
        base = f"{self.geocoder.scheme}://{getattr(self.geocoder, 'domain', '')}"
        host = urlsplit(base).hostname
        if not host or urllib.request.getproxies().get(self.geocoder.scheme):
            return
        try:
            ipaddress.ip_address(host)
            return
        except ValueError:
            pass
        outcome: list[BaseException | None] = []

        def resolve():
            try:
                socket.getaddrinfo(host, None)
                outcome.append(None)
            except OSError as e:
                outcome.append(e)

        thread = threading.Thread(target=resolve, name="geomap-dns", daemon=True)
        thread.start()
        thread.join(self.settings.timeout)
        if not outcome:
            self._stop("geocoder unreachable", f"geocoder unavailable: looking up {host!r} took longer than "
                       f"{self.settings.timeout:g} s; continuing offline for the rest of the run")
        if outcome[0] is not None:
            self._stop("geocoder unreachable", f"geocoder unavailable: cannot resolve {host!r} "
                       f"({outcome[0]}); continuing offline for the rest of the run")

    def _classify(self, error: BaseException) -> _Fault:
        service = self._service()
        timeout = self.settings.timeout
        http = next((e for e in _chain(error) if isinstance(e, AdapterHTTPError)), None)
        if http is not None:
            status = http.status_code
            if status == 403:
                return _Fault("stop", "geocoder refused (403)",
                              f"{service} refused the request (403 Forbidden): set --contact (or "
                              f"{ENV_CONTACT}) so the User-Agent {self.user_agent!r} identifies you, and "
                              "check the service's usage policy; no more lookups this run")
            if status == 429 or status >= 500:
                after = getattr(error, "retry_after", None)
                if after is None:
                    after = get_retry_after(http.headers or {})
                label = "rate-limited (429)" if status == 429 else f"HTTP {status}"
                return _Fault("retry", f"geocoder {label}", retry_after=after)
            if status in (401, 402, 407):
                return _Fault("stop", f"geocoder refused ({status})",
                              f"{service} refused the request ({status}): check the API key "
                              f"({ENV_API_KEY}) or quota; no more lookups this run")
            if status in (400, 412, 413, 414):
                return _Fault("query", f"geocoder rejected the query ({status})")
            if status in (404, 405, 410):
                return _Fault("stop", f"geocoder not found ({status})",
                              f"{self._address()} answered {status}: no geocoder there (check --geocoder-url); "
                              "no more lookups this run")
            return _Fault("stop", f"geocoder error (HTTP {status})",
                          f"{service} answered HTTP {status}; no more lookups this run")
        if isinstance(error, GeocoderQueryError):
            return _Fault("query", "geocoder rejected the query")
        for cause in _chain(error):
            if isinstance(cause, (TimeoutError, GeocoderTimedOut)):
                return _Fault("stop", "geocoder timed out",
                              f"{service} did not answer within {timeout:g} s (--geocoder-timeout); "
                              "no more lookups this run")
            if isinstance(cause, (socket.gaierror, ConnectionRefusedError)) or (
                    isinstance(cause, OSError) and cause.errno in _UNREACHABLE):
                detail = "connection refused" if isinstance(cause, ConnectionRefusedError) else str(cause)
                return _Fault("stop", "geocoder unreachable",
                              f"geocoder unavailable: cannot reach {self._address()} ({detail}); "
                              "continuing offline for the rest of the run")
        if isinstance(error, GeocoderParseError):
            return _Fault("stop", "geocoder answer unreadable",
                          f"{service} answered with something that is not JSON; no more lookups this run")
        if isinstance(error, GeocoderServiceError) and "unavailable" in str(error).lower():
            return _Fault("stop", "geocoder unreachable", f"geocoder unavailable at {self._address()}; "
                                                          "continuing offline for the rest of the run")
        return _Fault("stop", "geocoder error", f"{service} failed ({type(error).__name__}: {error}); "
                                                "no more lookups this run")

    def _address(self) -> str:
        return f"{self.geocoder.scheme}://{getattr(self.geocoder, 'domain', self.name)}"


def _osm_class_type(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    if "class" in raw or "category" in raw:
        return raw.get("class") or raw.get("category"), raw.get("type")
    props = raw.get("properties")
    if isinstance(props, Mapping) and "osm_key" in props:  # Photon
        return props.get("osm_key"), props.get("osm_value")
    return None, None


def _country_code(raw: Mapping[str, Any]) -> str | None:
    address = raw.get("address")
    code = address.get("country_code") if isinstance(address, Mapping) else None
    if code is None and isinstance(raw.get("properties"), Mapping):
        code = raw["properties"].get("countrycode")
    return code.upper() if isinstance(code, str) and len(code) == 2 else None


def _result_name(raw: Mapping[str, Any], query: str) -> str:
    name = raw.get("name")
    if not name and isinstance(raw.get("namedetails"), Mapping):
        name = raw["namedetails"].get("name:en") or raw["namedetails"].get("name")
    if not name and raw.get("display_name"):
        name = str(raw["display_name"]).split(",")[0]
    return str(name).strip() or query if name else query


# --- the gazetteer as a geopy geocoder ----------------------------------------------------

class _OfflineAdapter(BaseSyncAdapter):
    """An adapter that never touches the network: the gazetteer answers locally."""

    def get_json(self, url, *, timeout, headers):  # pragma: no cover - never called
        raise GeocoderServiceError("GazetteerGeocoder is offline: it sends no HTTP requests")

    def get_text(self, url, *, timeout, headers):  # pragma: no cover - never called
        raise GeocoderServiceError("GazetteerGeocoder is offline: it sends no HTTP requests")


class GazetteerGeocoder(Geocoder):
    """geomap's offline gazetteer behind geopy's :class:`~geopy.geocoders.base.Geocoder` interface.

    Code written for geopy (``geocode(query)``, ``RateLimiter``, pandas ``apply``) can use the
    offline gazetteer — GeoNames cities, Natural Earth countries and geomap's curated regions —
    with no network and no rate limit.

    Parameters
    ----------
    gazetteer : str, PathLike or gazetteer.Gazetteer, optional
        An open gazetteer or its file; default the user-cache gazetteer (built on first use).
    user_agent : str, optional
        Accepted for geopy compatibility; nothing is sent anywhere.

    Raises
    ------
    GazetteerError
        If the gazetteer cannot be opened.

    Examples
    --------
    >>> geolocator = GazetteerGeocoder()                               # doctest: +SKIP
    >>> location = geolocator.geocode("Baku")                          # doctest: +SKIP
    >>> round(location.latitude, 2), location.raw["country_code"]      # doctest: +SKIP
    (40.38, 'AZ')
    """

    def __init__(self, gazetteer=None, *, user_agent: str | None = None):
        super().__init__(user_agent=user_agent or f"geomap/{__version__}", adapter_factory=_OfflineAdapter)
        import gazetteer as gazetteer_pkg

        from .resolve import Resolver
        if not isinstance(gazetteer, gazetteer_pkg.Gazetteer):
            try:
                gazetteer = gazetteer_pkg.open_gazetteer(gazetteer, progress=False)
            except gazetteer_pkg.GazetteerError as e:
                raise GazetteerError(str(e)) from e
        self.gazetteer = gazetteer
        self._resolver = Resolver(gazetteer)

    def geocode(self, query: str, *, exactly_one: bool = True, timeout=DEFAULT_SENTINEL,
                limit: int | None = None, country_codes: str | list[str] | None = None):
        """Look a name up in the offline gazetteer.

        Parameters
        ----------
        query : str
            A place name as written ("Nagorno-Karabakh", "Bakı"); case, diacritics and dashes
            are normalised.
        exactly_one : bool
            Return the best match only (default), else a list best first.
        timeout : float, optional
            Ignored (no network); accepted for geopy compatibility.
        limit : int, optional
            Most results when ``exactly_one`` is False.
        country_codes : str or list of str, optional
            ISO alpha-2 codes whose places are preferred, as the resolver prefers places in the
            countries a document mentions.

        Returns
        -------
        geopy.location.Location, list of Location, or None
            ``latitude``/``longitude`` in WGS84 degrees; ``address`` is "name, CC"; ``raw`` holds
            the place object of geomap's JSON contract (``name, lat, lon, country_code,
            feature_class, feature_code, geonameid, population, source, confidence``) plus
            ``key``. None when the gazetteer knows no such name — not an error, as in geopy.
        """
        if isinstance(country_codes, str):
            country_codes = [country_codes]
        countries = frozenset(c.upper() for c in country_codes or ())
        ranked = [s for s in self._resolver.rank(" ".join(str(query).split()), countries)
                  if s.candidate.place.lat is not None and s.candidate.place.lon is not None
                  and math.isfinite(s.candidate.place.lat) and math.isfinite(s.candidate.place.lon)]
        if not ranked:
            return None
        locations = []
        for i, scored in enumerate(ranked):
            rivals = [s.score for j, s in enumerate(ranked) if j != i]
            margin = scored.score - max(rivals) if rivals else 40.0
            confidence = 1.0 / (1.0 + math.exp(-margin / 8.0))
            if scored.candidate.name_kind in ("alternate", "historic"):
                confidence *= 0.9
            place = scored.candidate.place
            raw = {"key": place.key, "name": place.name, "lat": float(place.lat), "lon": float(place.lon),
                   "country_code": place.country_code, "feature_class": place.feature_class,
                   "feature_code": place.feature_code, "geonameid": place.geonameid,
                   "population": place.population, "source": place.source,
                   "confidence": round(min(0.99, confidence), 3)}
            address = f"{place.name}, {place.country_code}" if place.country_code else place.name
            locations.append(Location(address, (raw["lat"], raw["lon"]), raw))
        if exactly_one:
            return locations[0]
        return locations[:limit] if limit else locations
