"""The online geocoder fallback: geopy's real Nominatim client against a stub HTTP server.

The stub (``stub`` fixture) is a ``ThreadingHTTPServer`` on 127.0.0.1, port 0, answering
Nominatim-shaped JSON (the ``/search?format=json`` reply documented by Nominatim: ``lat``/``lon``
as strings, ``class``, ``type``, ``importance``, ``address.country_code``...), 403, 429 with
``Retry-After``, 5xx and slow replies. Time is virtual: the rate limiter and the retry waits
sleep on a :class:`VirtualClock`, and the stub stamps each request with it, so the tests
never wait and still see the gaps a real run would have. Nothing here touches the network or
the user cache (the cache lives in ``tmp_path``).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from geomap import geocode
from geomap.cli import main
from geomap.exc import GeomapWarning, InputError
from geomap.geocode import (GazetteerGeocoder, GeocodeCache, GeocoderSettings, OnlineFallback, is_plausible,
                            osm_feature, user_agent)
from geomap.model import Mention
from geomap.resolve import Resolver
from tests.conftest import _record, haversine_km, tiny_records

# Invented hamlets of the mined cases (R48, R49): absent from every gazetteer.
VERIN = (40.10, 45.10)
NERKIN = (40.05, 45.15)
# R52: San Jose, California and San José, Costa Rica.
SAN_JOSE_CA = (37.338, -121.886)
SAN_JOSE_CR = (9.928, -84.091)
# The texts of the mined cases.
R48_TEXT = "Aid arrived in Yerevan and in the hamlet of Verin Zarvostan."    # also R51's
R49_TEXT = "Convoys stopped in Verin Zarvostan, then in Nerkin Zarvostan, then again in Verin Zarvostan."
R52_TEXT = "Floods hit San José and other towns in Costa Rica's Central Valley."
HAMLETS = ["Verin Zarvostan", "Nerkin Zarvostan", "Verin Zarvostan"]


class VirtualClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0):
        self.now_s = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.now_s

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now_s += seconds


def osm(name, lat, lon, cc, cls="place", typ="village", *, importance=0.3, osm_type="node", osm_id=1,
        addresstype=None, place_rank=None, extratags=None):
    """One result as Nominatim's /search?format=json&addressdetails=1 returns it."""
    return {"place_id": osm_id * 10, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
            "osm_type": osm_type, "osm_id": osm_id, "lat": f"{lat:.7f}", "lon": f"{lon:.7f}",
            "class": cls, "type": typ, "place_rank": place_rank or 19, "importance": importance,
            "addresstype": addresstype or typ, "name": name, "display_name": f"{name}, {cc.upper()}",
            "address": {"village": name, "country_code": cc.lower()}, "extratags": extratags or {},
            "boundingbox": [f"{v:.7f}" for v in (lat - 0.01, lat + 0.01, lon - 0.01, lon + 0.01)]}


def san_jose_results():
    """R52's stub answer: San Jose, California first, then San José, Costa Rica (OSM city boundaries)."""
    city = {"cls": "boundary", "typ": "administrative", "osm_type": "relation", "addresstype": "city",
            "place_rank": 16}
    return [osm("San Jose", *SAN_JOSE_CA, "us", importance=0.75, osm_id=112143, **city),
            osm("San José", *SAN_JOSE_CR, "cr", importance=0.68, osm_id=1334331, **city)]


class StubNominatim:
    """State of the stub server: what it answers and what it saw."""

    def __init__(self, clock: VirtualClock):
        self.clock = clock
        self.places: dict[str, list[dict]] = {}   # casefolded q -> results
        self.script: list[tuple[int, dict, object]] = []   # replies played first, in order
        self.always: tuple[int, dict, object] | None = None
        self.delay = 0.0
        self.requests: list[dict] = []
        self.connections = 0
        self.release = threading.Event()
        self.url = ""

    def reply(self, params: dict) -> tuple[int, dict, object]:
        if self.script:
            return self.script.pop(0)
        if self.always is not None:
            return self.always
        return 200, {}, self.places.get(params.get("q", "").casefold(), [])

    def asked(self, name: str) -> list[dict]:
        return [r for r in self.requests if r["params"].get("q", "").casefold() == name.casefold()]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        stub: StubNominatim = self.server.stub
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        stub.requests.append({"t": stub.clock.now(), "path": parts.path, "params": params,
                              "user_agent": self.headers.get("User-Agent", "")})
        if stub.delay:
            stub.release.wait(stub.delay)
        status, headers, body = stub.reply(params)
        data = (json.dumps(body) if not isinstance(body, str) else body).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def verify_request(self, request, client_address):
        self.stub.connections += 1
        return True


@pytest.fixture
def vclock(monkeypatch):
    """A virtual clock, also behind geomap.geocode's default clock and sleep (for CLI runs)."""
    clock = VirtualClock()
    monkeypatch.setattr(geocode, "_clock", clock.now)
    monkeypatch.setattr(geocode, "_sleep", clock.sleep)
    return clock


@pytest.fixture
def stub(vclock):
    """A Nominatim stand-in on 127.0.0.1 (port 0), stamping requests with the virtual clock."""
    state = StubNominatim(vclock)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stub = state
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_url():
    """http://127.0.0.1:PORT where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def make_fallback(tmp_path, vclock):
    """OnlineFallback on geopy's Nominatim, cache in tmp_path, virtual time."""
    def make(url, **settings):
        settings.setdefault("cache_path", str(tmp_path / "geocoder.sqlite"))
        return OnlineFallback(GeocoderSettings(url=url, **settings), clock=vclock.now, sleep=vclock.sleep)
    return make


def mention(text, label="GPE"):
    return Mention(text, 0, len(text), text, 0, label)


def geomap_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, GeomapWarning)]


# --- politeness ---------------------------------------------------------------------------

def test_geocode_uses_geopy_nominatim_with_a_geomap_user_agent(stub, make_fallback):
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    fallback = make_fallback(stub.url, contact="desk@example.org")
    assert isinstance(fallback.geocoder, Nominatim)
    place, confidence = fallback(mention("Verin Zarvostan"), frozenset())
    assert (place.lat, place.lon) == VERIN
    (request,) = stub.requests
    assert request["path"] == "/search" and request["params"]["format"] == "json"
    agent = request["user_agent"]
    assert re.search(r"(?i)geomap", agent)
    assert not re.match(r"(?i)^(geopy/|python-requests|python-urllib)", agent)
    assert agent == f"geomap/{geocode.__version__} (+desk@example.org)"


def test_geocode_user_agent_without_contact():
    assert re.fullmatch(r"geomap/\d+\.\d+\.\d+\S*", user_agent())
    assert user_agent("  ") == user_agent()


def test_geocode_at_most_one_request_per_second(stub, make_fallback, vclock):
    names = ["Aa", "Bb", "Cc", "Dd", "Ee"]
    for n, name in enumerate(names):
        stub.places[name.casefold()] = [osm(name, 40 + n / 10, 45.0, "am", osm_id=n + 1)]
    fallback = make_fallback(stub.url)
    for name in names:
        assert fallback(mention(name), frozenset())[0] is not None
    times = [r["t"] for r in stub.requests]
    assert len(times) == 5
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:])), times
    assert vclock.sleeps and all(s <= 1.0 for s in vclock.sleeps)  # waited, virtually


def test_geocode_rate_limiter_is_geopys(make_fallback, stub):
    fallback = make_fallback(stub.url)
    assert isinstance(fallback._limited, RateLimiter) and fallback._limited.min_delay_seconds == 1.0


def test_geocode_cap_stops_requests_with_one_message(stub, make_fallback):
    for n, name in enumerate(["Aa", "Bb", "Cc", "Dd"]):
        stub.places[name.casefold()] = [osm(name, 40.0, 45.0 + n / 10, "am", osm_id=n + 1)]
    fallback = make_fallback(stub.url, max_requests=2)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        answers = [fallback(mention(name), frozenset()) for name in ["Aa", "Bb", "Cc", "Dd", "Aa"]]
    assert len(stub.requests) == 2
    assert [a[0] is not None for a in answers] == [True, True, False, False, True]  # Aa again: known
    assert answers[2] == (None, "geocoder request cap reached")
    (message,) = geomap_warnings(record)
    assert "cap of 2" in message and "--max-requests" in message


# --- the cache ----------------------------------------------------------------------------

def test_geocode_cache_second_run_sends_no_request(stub, make_fallback):
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am", osm_id=7)]
    names = ["Verin Zarvostan", "Nowhere Atall"]   # an answer and a miss
    first = make_fallback(stub.url)
    run1 = [first(mention(name), frozenset()) for name in names]
    assert len(stub.requests) == 2 and run1[1] == (None, "no geocoder match")
    second = make_fallback(stub.url)        # a new run: same cache file
    run2 = [second(mention(name), frozenset()) for name in names]
    assert len(stub.requests) == 2 and second.requests == 0
    assert run2 == run1


def test_geocode_cache_repeated_name_in_one_run_is_asked_once(stub, make_fallback):
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    fallback = make_fallback(stub.url, cache=False)
    for _ in range(3):
        assert fallback(mention("Verin Zarvostan"), frozenset())[0] is not None
    assert len(stub.requests) == 1


def test_geocode_cache_misses_expire_answers_do_not(stub, make_fallback, monkeypatch):
    wall = VirtualClock(start=1.7e9)
    monkeypatch.setattr(geocode, "_wall_clock", wall.now)
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    make_fallback(stub.url, miss_ttl=3600)(mention("Verin Zarvostan"), frozenset())
    make_fallback(stub.url, miss_ttl=3600)(mention("Nowhere Atall"), frozenset())
    assert len(stub.requests) == 2
    wall.sleep(3599)
    for name in ("Verin Zarvostan", "Nowhere Atall"):
        make_fallback(stub.url, miss_ttl=3600)(mention(name), frozenset())
    assert len(stub.requests) == 2
    wall.sleep(2)                            # the miss is now older than its TTL
    for name in ("Verin Zarvostan", "Nowhere Atall"):
        make_fallback(stub.url, miss_ttl=3600)(mention(name), frozenset())
    assert [r["params"]["q"] for r in stub.requests[2:]] == ["Nowhere Atall"]


@pytest.mark.parametrize("change", [
    {"geocoder": "photon"}, {"url": "http://127.0.0.1:2"}, {"query": "Verin  Zarvostan-2"},
    {"country_codes": ("am",)}, {"language": "hy"},
])
def test_geocode_cache_key_covers_query_and_options(change):
    base = {"geocoder": "nominatim", "url": "http://127.0.0.1:1", "query": "Verin Zarvostan",
            "country_codes": (), "language": "en"}
    assert GeocodeCache.key(**base) != GeocodeCache.key(**{**base, **change})


def test_geocode_cache_key_normalises_the_query():
    key = GeocodeCache.key(geocoder="nominatim", url=None, query="San José", language="en")
    assert key == GeocodeCache.key(geocoder="Nominatim", url=None, query="  SAN   JOSE\u0301 ", language="en")


def test_geocode_cache_unusable_file_warns_once_and_goes_on(stub, make_fallback, tmp_path):
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    fallback = make_fallback(stub.url, cache_path=str(blocker / "geocoder.sqlite"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert fallback(mention("Verin Zarvostan"), frozenset())[0] is not None
        assert fallback(mention("Nowhere"), frozenset())[0] is None
    (message,) = geomap_warnings(record)
    assert "unusable" in message


# --- context and plausibility ---------------------------------------------------------------

@pytest.mark.case("R52")
def test_geocode_case_R52_prefers_the_documents_country(stub, make_fallback):
    stub.places["san josé"] = san_jose_results()
    fallback = make_fallback(stub.url)
    place, _ = fallback(mention("San José"), frozenset({"CR"}))
    assert place.country_code == "CR"
    assert haversine_km(place.lat, place.lon, *SAN_JOSE_CR) <= 15
    assert haversine_km(place.lat, place.lon, *SAN_JOSE_CA) >= 1000
    assert stub.requests[0]["params"]["countrycodes"] == "cr"   # the bias is sent
    alone, _ = make_fallback(stub.url, cache=False)(mention("San José"), frozenset())
    assert alone.country_code == "US"                            # no context: the service's order


def test_geocode_asks_again_without_the_bias_when_the_biased_query_finds_nothing(stub, make_fallback):
    def reply(params):
        found = [osm("Verin Zarvostan", *VERIN, "am")] if "countrycodes" not in params else []
        return 200, {}, found
    stub.reply = reply
    place, _ = make_fallback(stub.url)(mention("Verin Zarvostan"), frozenset({"GE"}))
    assert (place.lat, place.lon) == VERIN
    assert [r["params"].get("countrycodes") for r in stub.requests] == ["ge", None]


@pytest.mark.parametrize("label, results, expected", [
    # A shop named like a country is not the country; the boundary after it is.
    ("GPE", [("shop", "supermarket"), ("boundary", "administrative")], ("boundary", "administrative")),
    ("GPE", [("amenity", "restaurant"), ("place", "town")], ("place", "town")),
    ("GPE", [("shop", "supermarket"), ("amenity", "cafe")], None),
    ("LOC", [("highway", "residential"), ("natural", "bay")], ("natural", "bay")),
    ("LOC", [("waterway", "river")], ("waterway", "river")),
    ("GPE", [("natural", "peak")], None),
    ("FAC", [("aeroway", "aerodrome")], ("aeroway", "aerodrome")),
    ("GPE", [("boundary", "postal_code"), ("place", "city")], ("place", "city")),
])
def test_geocode_drops_results_implausible_for_the_mention(stub, make_fallback, label, results, expected):
    stub.places["georgia"] = [osm("Georgia", 42.0 + n, 43.5, "ge", cls, typ, osm_id=n + 1)
                              for n, (cls, typ) in enumerate(results)]
    fallback = make_fallback(stub.url)
    place, detail = fallback(mention("Georgia", label), frozenset())
    if expected is None:
        assert place is None and "implausible" in detail
    else:
        record = fallback.records[place.key]
        assert (record.osm_class, record.osm_type) == expected


@pytest.mark.parametrize("cls, typ, raw, feature", [
    ("boundary", "administrative", {"extratags": {"admin_level": "2"}}, ("A", "PCLI")),
    ("boundary", "administrative", {"addresstype": "country", "place_rank": 4}, ("A", "PCLI")),
    ("boundary", "administrative", {"addresstype": "state", "place_rank": 8}, ("A", "ADM1")),
    ("boundary", "administrative", {"addresstype": "city", "place_rank": 16}, ("P", "PPL")),
    ("place", "country", {}, ("A", "PCLI")),
    ("place", "city", {}, ("P", "PPL")),
    ("place", "city", {"extratags": {"capital": "yes"}}, ("P", "PPLC")),
    ("place", "town", {}, ("P", "PPL")),
    ("place", "village", {}, ("P", "PPL")),
    ("place", "island", {}, ("T", "ISL")),
    ("natural", "water", {}, ("H", "LK")),
    ("natural", "bay", {}, ("H", "BAY")),
    ("natural", "strait", {}, ("H", "STRT")),
    ("waterway", "river", {}, ("H", "STM")),
    ("natural", "peak", {}, ("T", "PK")),
    ("aeroway", "aerodrome", {}, ("S", "AIRP")),
    ("historic", "castle", {}, ("S", "CSTL")),
])
def test_geocode_osm_class_maps_to_geonames_feature(cls, typ, raw, feature):
    assert osm_feature(cls, typ, {"class": cls, "type": typ, **raw}) == feature


def test_geocode_plausibility_rules():
    assert not is_plausible("GPE", "shop", "supermarket") and is_plausible("FAC", "shop", "mall")
    assert is_plausible("LOC", "natural", "strait") and not is_plausible("GPE", "natural", "strait")
    assert is_plausible("GPE", None, None)   # other services: no OSM class to judge by


# --- provenance -----------------------------------------------------------------------------

def test_geocode_place_provenance_and_confidence(stub, make_fallback):
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am", "place", "hamlet", importance=0.2,
                                          osm_id=42)]
    stub.places["gyumri"] = [osm("Gyumri", 40.7942, 43.84528, "am", "place", "city", importance=0.6,
                                 osm_id=43)]
    fallback = make_fallback(stub.url)
    hamlet, low = fallback(mention("Verin Zarvostan"), frozenset({"AM"}))
    city, high = fallback(mention("Gyumri"), frozenset({"AM"}))
    assert hamlet.source == city.source == "geocoder:nominatim"
    assert hamlet.key == "geocoder:nominatim:node/42" and hamlet.geonameid is None
    assert (hamlet.name, hamlet.country_code, hamlet.feature_class, hamlet.feature_code) == \
        ("Verin Zarvostan", "AM", "P", "PPL")
    record = fallback.records[hamlet.key]
    assert (record.osm_class, record.osm_type, record.importance) == ("place", "hamlet", 0.2)
    assert record.raw["licence"].startswith("Data © OpenStreetMap contributors")
    assert 0 < low < high <= 0.7


# --- faults ---------------------------------------------------------------------------------

def _run(fallback, names, countries=frozenset()):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        answers = [fallback(mention(name), countries) for name in names]
    return answers, geomap_warnings(record)


def test_geocode_403_stops_asking_with_one_warning(stub, make_fallback):
    stub.always = (403, {}, "<html>Access blocked</html>")
    answers, messages = _run(make_fallback(stub.url), HAMLETS)
    assert answers == [(None, "geocoder refused (403)")] * 3
    assert len(stub.requests) == 1
    (message,) = messages
    assert "Nominatim refused the request (403" in message and "--contact" in message


@pytest.mark.case("R49")
def test_geocode_429_honours_retry_after(stub, make_fallback):
    stub.script = [(429, {"Retry-After": "2"}, {"error": "Too Many Requests"})] * 2
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    stub.places["nerkin zarvostan"] = [osm("Nerkin Zarvostan", *NERKIN, "am", osm_id=2)]
    answers, messages = _run(make_fallback(stub.url), HAMLETS)
    assert messages == []
    assert [(a[0].lat, a[0].lon) for a in answers] == [VERIN, NERKIN, VERIN]
    times = [r["t"] for r in stub.requests]
    assert len(times) == 4                                   # 429, 429, 200 for Verin; 200 for Nerkin
    assert times[1] - times[0] >= 2 and times[2] - times[1] >= 2
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:]))
    assert len({r["params"]["q"] for r in stub.requests}) == 2


def test_geocode_5xx_retries_three_times_with_backoff_then_stops(stub, make_fallback):
    stub.always = (503, {}, "Service Unavailable")
    answers, messages = _run(make_fallback(stub.url), ["Verin Zarvostan", "Nerkin Zarvostan"])
    assert answers == [(None, "geocoder HTTP 503")] * 2
    times = [r["t"] for r in stub.requests]
    assert len(times) == 4                                    # 1 try + 3 retries, then no more
    assert [round(b - a) for a, b in zip(times, times[1:])] == [1, 2, 4]
    (message,) = messages
    assert "HTTP 503" in message and "4 tries" in message


@pytest.mark.parametrize("status, reason", [(404, "geocoder not found (404)"), (426, "geocoder error (HTTP 426)")])
def test_geocode_wrong_address_stops_after_one_request(stub, make_fallback, status, reason):
    stub.always = (status, {}, "")
    answers, messages = _run(make_fallback(stub.url), HAMLETS)
    assert answers == [(None, reason)] * 3 and len(stub.requests) == 1
    (message,) = messages
    assert str(status) in message


def test_geocode_bad_query_is_that_names_problem_only(stub, make_fallback):
    stub.script = [(400, {}, {"error": "Nothing to search for."})]
    stub.places["nerkin zarvostan"] = [osm("Nerkin Zarvostan", *NERKIN, "am")]
    answers, messages = _run(make_fallback(stub.url), ["Verin Zarvostan", "Nerkin Zarvostan"])
    assert answers[0] == (None, "geocoder rejected the query (400)") and answers[1][0] is not None
    assert messages == []


def test_geocode_retry_after_longer_than_allowed_stops(stub, make_fallback):
    stub.always = (429, {"Retry-After": "3600"}, {})
    answers, messages = _run(make_fallback(stub.url), ["Verin Zarvostan", "Nerkin Zarvostan"])
    assert len(stub.requests) == 1 and answers[1] == (None, "geocoder rate-limited (429)")
    (message,) = messages
    assert "3600 s" in message


def test_geocode_slow_answer_times_out_once(stub, make_fallback):
    stub.delay = 5.0
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    answers, messages = _run(make_fallback(stub.url, timeout=0.2), ["Verin Zarvostan", "Nerkin Zarvostan"])
    assert answers == [(None, "geocoder timed out")] * 2
    assert len(stub.requests) == 1
    (message,) = messages
    assert "did not answer within 0.2 s" in message


def test_geocode_closed_port_is_unreachable_once(closed_url, make_fallback):
    fallback = make_fallback(closed_url)
    answers, messages = _run(fallback, ["Verin Zarvostan", "Nerkin Zarvostan", "Gyumri"])
    assert answers == [(None, "geocoder unreachable")] * 3
    assert fallback.requests == 1
    (message,) = messages
    assert "unavailable" in message and "connection refused" in message and "offline" in message


def test_geocode_dns_failure_is_unreachable_once(make_fallback, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    fallback = make_fallback("https://geocoder.example.org")
    answers, messages = _run(fallback, ["Verin Zarvostan", "Nerkin Zarvostan"])
    assert answers == [(None, "geocoder unreachable")] * 2
    assert fallback.requests == 0
    (message,) = messages
    assert "cannot resolve 'geocoder.example.org'" in message


def test_geocode_new_run_resets_the_stop(stub, make_fallback):
    stub.script = [(403, {}, "")]
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    fallback = make_fallback(stub.url)
    assert _run(fallback, ["Verin Zarvostan"])[0] == [(None, "geocoder refused (403)")]
    fallback.new_run()
    assert _run(fallback, ["Verin Zarvostan"])[0][0][0] is not None


def test_geocode_bad_settings_are_input_errors():
    with pytest.raises(InputError, match="unknown geocoder 'nosuchservice'"):
        OnlineFallback(GeocoderSettings(geocoder="nosuchservice"))
    with pytest.raises(InputError, match="http"):
        OnlineFallback(GeocoderSettings(url="ftp://127.0.0.1"))
    with pytest.raises(InputError):
        GeocoderSettings(retries=5)


def test_geocode_other_geopy_geocoder_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMAP_GEOCODER_API_KEY", "k-123")
    fallback = OnlineFallback(GeocoderSettings(geocoder="opencage", cache_path=str(tmp_path / "c.sqlite")))
    assert type(fallback.geocoder).__name__ == "OpenCage" and fallback.geocoder.api_key == "k-123"
    assert fallback.geocoder.headers["User-Agent"].startswith("geomap/")


# --- with the resolver and the pipeline -------------------------------------------------------

def test_geocode_resolver_keeps_gazetteer_places_and_reports_the_fault(stub, make_fallback, tiny_gazetteer):
    """R48 at the resolver: the 403 leaves the hamlet unresolved with the reason, Yerevan kept."""
    stub.always = (403, {}, "")
    text = R48_TEXT
    from geomap.model import Document
    document = Document("r48", text)
    mentions = [Mention("Yerevan", 15, 22, text, 0, "GPE"),
                Mention("Verin Zarvostan", 44, 59, text, 0, "GPE")]
    resolver = Resolver(tiny_gazetteer, fallback=make_fallback(stub.url))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        yerevan, hamlet = resolver.resolve(document, mentions)
    assert yerevan.place.country_code == "AM" and haversine_km(yerevan.place.lat, yerevan.place.lon,
                                                               40.181, 44.514) <= 15
    assert hamlet.place is None and hamlet.reason == "no gazetteer match; geocoder refused (403)"
    assert len(stub.asked("Verin Zarvostan")) <= 2
    assert stub.asked("Verin Zarvostan")[0]["params"]["countrycodes"] == "am"   # Yerevan's country


def test_geocode_offline_geoparser_sends_nothing(stub, nlp, tiny_gazetteer, monkeypatch):
    from geomap.api import Geoparser
    settings = GeocoderSettings(url=stub.url, cache=False)
    geoparser = Geoparser(nlp=nlp, gazetteer=tiny_gazetteer, fallback=settings, offline=True)
    assert geoparser.fallback is None
    monkeypatch.setenv("GEOMAP_OFFLINE", "1")
    assert Geoparser(nlp=nlp, gazetteer=tiny_gazetteer, fallback=settings).fallback is None
    result = geoparser.parse_text("Aid arrived in Yerevan. Convoys stopped in Verin Zarvostan.")
    assert [r.reason for r in result.resolutions if r.place is None] == ["no gazetteer match"]
    assert stub.connections == 0


# --- the command line -----------------------------------------------------------------------

# Texts where the model labels every place GPE (line breaks end sentences).
FAULT_TEXT = "Aid arrived in Yerevan. Convoys stopped in Verin Zarvostan."
MORE_TEXT = FAULT_TEXT + "\nConvoys stopped in Gorayk.\nConvoys stopped in Verin Zarvostan."


@pytest.fixture
def cli(tmp_path, tiny_gazetteer_path):
    """Run geomap with the fallback on (GEOMAP_OFFLINE=0), its cache in tmp_path."""
    def invoke(text, *args, gazetteer=tiny_gazetteer_path, command="extract"):
        source = tmp_path / "article.txt"
        source.write_text(text, encoding="utf-8")
        out = tmp_path / ("out.json" if command == "extract" else "map.html")
        result = CliRunner().invoke(main, [command, str(source), "-o", str(out), *args],
                                    env={"GEOMAP_GAZETTEER": str(gazetteer), "GEOMAP_OFFLINE": "0",
                                         "GEOMAP_GEOCODER_CACHE": str(tmp_path / "geocoder.sqlite")})
        data = json.loads(out.read_text(encoding="utf-8")) if command == "extract" and out.exists() else None
        return result, data
    return invoke


def _places(data):
    return {m["text"]: m["place"] for d in data["documents"] for m in d["mentions"]}


def _warning_lines(output):
    return [line for line in output.splitlines() if line.startswith("warning:")]


def _assert_yerevan(data):
    yerevan = _places(data)["Yerevan"]
    assert yerevan["country_code"] == "AM"
    assert haversine_km(yerevan["lat"], yerevan["lon"], 40.181, 44.514) <= 15


@pytest.mark.model
@pytest.mark.case("R48")
def test_geocode_case_R48_cli_403(cli, stub):
    stub.always = (403, {}, "<html>Access blocked</html>")
    result, data = cli(R48_TEXT, "--geocoder-url", stub.url)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and result.exception is None
    _assert_yerevan(data)
    assert len(stub.asked("Verin Zarvostan")) <= 2
    for request in stub.requests:
        assert re.search(r"(?i)geomap", request["user_agent"])
        assert not re.match(r"(?i)^(geopy/|python-requests|python-urllib)", request["user_agent"])
    assert len([w for w in _warning_lines(result.output) if "403" in w]) <= 1


@pytest.mark.model
@pytest.mark.case("R48")
def test_geocode_case_R48_cli_403_reports_the_hamlet(cli, stub):
    stub.always = (403, {}, "")
    result, data = cli(R48_TEXT, "--geocoder-url", stub.url)
    assert "Verin Zarvostan" in [u["text"] for u in data["unresolved"]]
    assert 1 <= len(stub.asked("Verin Zarvostan")) <= 2
    assert len([w for w in _warning_lines(result.output) if "403" in w]) == 1


@pytest.mark.model
def test_geocode_cli_403_one_warning_and_the_rest_kept(cli, stub):
    stub.always = (403, {}, "")
    result, data = cli(MORE_TEXT, "--geocoder-url", stub.url, "--contact", "desk@example.org")
    assert result.exit_code == 0 and "Traceback" not in result.output
    _assert_yerevan(data)
    (warning,) = _warning_lines(result.output)
    assert "refused the request (403" in warning and "--contact" in warning
    reasons = [(u["text"], u["reason"]) for u in data["unresolved"]]
    assert reasons == [(name, "no gazetteer match; geocoder refused (403)")
                       for name in ("Verin Zarvostan", "Gorayk", "Verin Zarvostan")]
    assert len(stub.requests) == 1 and stub.requests[0]["user_agent"].endswith("(+desk@example.org)")


@pytest.mark.model
@pytest.mark.case("R49")
def test_geocode_case_R49_cli_429_then_cache(cli, stub):
    stub.script = [(429, {"Retry-After": "2"}, {"error": "Too Many Requests"})] * 2
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    stub.places["nerkin zarvostan"] = [osm("Nerkin Zarvostan", *NERKIN, "am", osm_id=2)]
    text = R49_TEXT
    result, data = cli(text, "--geocoder-url", stub.url)
    assert result.exit_code == 0, result.output
    assert not _warning_lines(result.output)
    verin = [m["place"] for m in data["documents"][0]["mentions"] if m["text"] == "Verin Zarvostan"]
    assert len(verin) == 2
    for place in verin:
        assert haversine_km(place["lat"], place["lon"], *VERIN) <= 1
        assert place["source"] == "geocoder:nominatim" and place["confidence"] <= 0.7
    times = [r["t"] for r in stub.requests]
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:]))
    assert times[1] - times[0] >= 2 and times[2] - times[1] >= 2          # Retry-After: 2, twice
    assert len(stub.asked("Verin Zarvostan")) == 3                        # 429, 429, 200; then the cache
    assert len({r["params"]["q"] for r in stub.requests}) <= 2
    again, _ = cli(text, "--geocoder-url", stub.url)                      # a second run: all cached
    assert again.exit_code == 0 and len(stub.requests) == len(times)


@pytest.mark.model
@pytest.mark.case("R49")
def test_geocode_case_R49_cli_second_hamlet(cli, stub):
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    stub.places["nerkin zarvostan"] = [osm("Nerkin Zarvostan", *NERKIN, "am", osm_id=2)]
    text = R49_TEXT
    _, data = cli(text, "--geocoder-url", stub.url)
    place = _places(data)["Nerkin Zarvostan"]
    assert haversine_km(place["lat"], place["lon"], *NERKIN) <= 1


@pytest.mark.model
@pytest.mark.case("R51")
def test_geocode_case_R51_cli_closed_port_then_offline(cli, stub, closed_url):
    text = R48_TEXT
    for case_text in (text, FAULT_TEXT):
        result, data = cli(case_text, "--geocoder-url", closed_url)
        assert result.exit_code == 0 and "Traceback" not in result.output and result.exception is None
        _assert_yerevan(data)
        assert len([w for w in _warning_lines(result.output) if "unavailable" in w]) <= 1
    (warning,) = _warning_lines(result.output)              # FAULT_TEXT asks, once
    assert "connection refused" in warning and "offline" in warning
    assert [u["reason"] for u in data["unresolved"]] == ["no gazetteer match; geocoder unreachable"]
    for case_text in (text, FAULT_TEXT):
        result, data = cli(case_text, "--geocoder-url", stub.url, "--offline")
        assert result.exit_code == 0 and not _warning_lines(result.output)
        _assert_yerevan(data)
    assert stub.connections == 0


@pytest.mark.model
@pytest.mark.case("R51")
def test_geocode_case_R51_cli_reports_the_hamlet(cli, closed_url):
    result, data = cli(R48_TEXT, "--geocoder-url", closed_url)
    assert "Verin Zarvostan" in [u["text"] for u in data["unresolved"]]
    assert len([w for w in _warning_lines(result.output) if "unavailable" in w]) == 1


@pytest.mark.model
def test_geocode_cli_offline_env_sends_nothing(cli, stub, tmp_path, tiny_gazetteer_path):
    source = tmp_path / "a.txt"
    source.write_text(FAULT_TEXT, encoding="utf-8")
    result = CliRunner().invoke(main, ["extract", str(source), "-q", "--geocoder-url", stub.url],
                                env={"GEOMAP_GAZETTEER": str(tiny_gazetteer_path), "GEOMAP_OFFLINE": "1"})
    assert result.exit_code == 0 and stub.connections == 0


@pytest.mark.model
def test_geocode_cli_slow_geocoder_times_out_once(cli, stub):
    stub.delay = 5.0
    result, data = cli(MORE_TEXT, "--geocoder-url", stub.url, "--geocoder-timeout", "0.2")
    assert result.exit_code == 0 and "Traceback" not in result.output
    _assert_yerevan(data)
    (warning,) = _warning_lines(result.output)
    assert "did not answer within 0.2 s" in warning
    assert len(stub.requests) == 1


@pytest.mark.model
def test_geocode_cli_cap(cli, stub):
    stub.places["verin zarvostan"] = [osm("Verin Zarvostan", *VERIN, "am")]
    result, data = cli(MORE_TEXT, "--geocoder-url", stub.url, "--max-requests", "1")
    assert result.exit_code == 0
    assert len(stub.requests) == 1
    (warning,) = _warning_lines(result.output)
    assert "cap of 1" in warning
    places = [(m["text"], m["place"] and m["place"]["source"]) for m in data["documents"][0]["mentions"]]
    assert places == [("Yerevan", "geonames"), ("Verin Zarvostan", "geocoder:nominatim"), ("Gorayk", None),
                      ("Verin Zarvostan", "geocoder:nominatim")]
    assert [u["reason"] for u in data["unresolved"]] == ["no gazetteer match; geocoder request cap reached"]


@pytest.mark.parametrize("args, message", [
    (["--geocoder", "nosuchservice"], "unknown geocoder"),
    (["--geocoder-url", "ftp://127.0.0.1"], "http(s)://host"),
    (["--max-requests", "-1"], "--max-requests"),
    (["--geocoder-timeout", "0"], "--geocoder-timeout"),
    (["--fallback-below", "2"], "--fallback-below"),
])
def test_geocode_cli_bad_options_are_usage_errors(tmp_path, tiny_gazetteer_path, args, message):
    source = tmp_path / "a.txt"
    source.write_text("Baku", encoding="utf-8")
    result = CliRunner().invoke(main, ["extract", str(source), *args],
                                env={"GEOMAP_GAZETTEER": str(tiny_gazetteer_path)})
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


@pytest.fixture(scope="module")
def costa_rica_gazetteer_path(tmp_path_factory, full_gazetteer):
    """The tiny gazetteer plus Costa Rica (its row in the packaged gazetteer), without San José."""
    from gazetteer.build import build_gazetteer
    (country,) = [c.place for c in full_gazetteer.lookup("Costa Rica") if c.place.feature_code == "PCLI"]
    row = _record(country.key, country.name, country.lat, country.lon, "A", "PCLI", "CR", country.population,
                  country.source)
    path = tmp_path_factory.mktemp("cr") / "cr.sqlite"
    build_gazetteer(path, records=[*tiny_records(), row], progress=False)
    return path


@pytest.mark.model
@pytest.mark.case("R52")
def test_geocode_case_R52_cli_fallback_uses_document_country(cli, stub, costa_rica_gazetteer_path):
    stub.places["san josé"] = san_jose_results()
    text = R52_TEXT
    result, data = cli(text, "--geocoder-url", stub.url, gazetteer=costa_rica_gazetteer_path)
    assert result.exit_code == 0, result.output
    places = _places(data)
    san_jose, costa_rica = places["San José"], places["Costa Rica"]
    assert san_jose["source"] == "geocoder:nominatim" and san_jose["country_code"] == "CR"
    assert haversine_km(san_jose["lat"], san_jose["lon"], *SAN_JOSE_CR) <= 15
    assert haversine_km(san_jose["lat"], san_jose["lon"], *SAN_JOSE_CA) >= 1000
    assert costa_rica["country_code"] == "CR"
    assert haversine_km(costa_rica["lat"], costa_rica["lon"], 10.0, -84.0) <= 200
    assert stub.asked("San José")[0]["params"]["countrycodes"] == "cr"


@pytest.mark.model
@pytest.mark.case("R52")
def test_geocode_case_R52_cli_gazetteer_path(cli, stub, full_gazetteer_path):
    text = R52_TEXT
    result, data = cli(text, "--geocoder-url", stub.url, gazetteer=full_gazetteer_path)
    assert result.exit_code == 0, result.output
    san_jose = _places(data)["San José"]
    assert san_jose["country_code"] == "CR"
    assert haversine_km(san_jose["lat"], san_jose["lon"], *SAN_JOSE_CR) <= 15
    assert not stub.asked("San José")                          # the gazetteer knew it


# --- the gazetteer as a geopy geocoder ----------------------------------------------------------

def test_geocode_gazetteer_geocoder_is_a_geopy_geocoder(tiny_gazetteer):
    geolocator = GazetteerGeocoder(tiny_gazetteer)
    assert isinstance(geolocator, Geocoder)
    location = geolocator.geocode("Baku")
    assert isinstance(location, Location)
    assert (location.latitude, location.longitude) == (40.37767, 49.89201)   # GeoNames 587084
    assert set(location.raw) >= {"name", "lat", "lon", "country_code", "feature_class", "feature_code",
                                 "geonameid", "population", "source", "confidence"}
    assert location.raw["geonameid"] == 587084 and location.raw["country_code"] == "AZ"
    assert 0 < location.raw["confidence"] <= 1
    assert geolocator.geocode("Verin Zarvostan") is None and geolocator.geocode("  ") is None


def test_geocode_gazetteer_geocoder_list_and_rate_limiter(tiny_gazetteer):
    geolocator = GazetteerGeocoder(tiny_gazetteer)
    brussels = geolocator.geocode("Brussels", exactly_one=False)
    assert [b.raw["country_code"] for b in brussels] == ["BE", "US"]
    assert brussels[0].raw["confidence"] > brussels[1].raw["confidence"]
    assert len(geolocator.geocode("Brussels", exactly_one=False, limit=1)) == 1
    geocode_fn = RateLimiter(geolocator.geocode, min_delay_seconds=0)
    assert geocode_fn("Yerevan").raw["geonameid"] == 616052


def test_geocode_gazetteer_geocoder_country_bias(full_gazetteer):
    geolocator = GazetteerGeocoder(full_gazetteer)
    costa_rica = geolocator.geocode("San José", country_codes="CR")
    assert haversine_km(costa_rica.latitude, costa_rica.longitude, *SAN_JOSE_CR) <= 15
    california = geolocator.geocode("San José", country_codes=["US"])
    assert california.raw["country_code"] == "US"
