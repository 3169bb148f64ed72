"""Fit geomap's confidence model on the dev corpora and print its reliability table.

    python bench/calibrate_confidence.py [--gazetteer PATH]

Runs geomap offline over ../shared/eval/gwn_dev.jsonl and geovirus.jsonl (skips with a message
when they are absent), pairs resolved mentions with gold toponyms (overlapping spans, as the
reference scorer does), labels each right when within 161 km, fits a logistic regression on the
features of ``geomap.resolve._confidence_features`` and prints the weights to paste into
``_CONFIDENCE_WEIGHTS``, plus the reliability table (mean confidence vs accuracy per bin) and
the Brier score of the current and the refitted model. Tune only on these dev files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from geomap.api import Geoparser
from geomap.evaluate import _match_overlap, _spans, haversine_km
from geomap.model import Document
from geomap.resolve import _CONFIDENCE_WEIGHTS

EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
CORPORA = ("gwn_dev", "geovirus")


def collect(parser: Geoparser) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, right, current confidence) for every resolved mention paired with gold coordinates."""
    from geomap import resolve
    features, right, current = [], [], []
    captured = {}
    original = resolve._confidence_features

    def spy(ranked, mention, rules):
        values = original(ranked, mention, rules)
        captured[(mention.start, mention.end, mention.text)] = values
        return values

    resolve._confidence_features = spy
    try:
        for corpus in CORPORA:
            gold = [json.loads(line) for line in (EVAL / f"{corpus}.jsonl").read_text(encoding="utf-8").splitlines()]
            for gd in gold:
                captured.clear()
                (doc,) = parser.parse([Document(str(gd["id"]), gd["text"])]).documents
                resolved = [r for r in doc.resolutions if r.place is not None]
                gold_spans = _spans(gd["toponyms"])
                for i, j in _match_overlap(gold_spans, [{"start": r.mention.start, "end": r.mention.end} for r in resolved]):
                    g, res = gold_spans[i], resolved[j]
                    key = (res.mention.start, res.mention.end, res.mention.text)
                    if g["lat"] is None or key not in captured:
                        continue
                    features.append(captured[key])
                    right.append(haversine_km(g["lat"], g["lon"], res.place.lat, res.place.lon) < 161)
                    current.append(res.confidence)
    finally:
        resolve._confidence_features = original
    return np.array(features), np.array(right, float), np.array(current)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 4000) -> np.ndarray:
    """Logistic regression by gradient descent (no penalty on the bias)."""
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        w -= 0.5 * (x.T @ (p - y) / len(y) + l2 * w * (np.arange(len(w)) > 0))
    return w


def reliability(conf: np.ndarray, y: np.ndarray) -> str:
    lines = ["confidence   n      mean conf  acc@161"]
    for low in np.arange(0, 1, 0.1):
        mask = (conf >= low) & ((conf < low + 0.1) if low < 0.9 else (conf <= 1.0))
        if mask.any():
            lines.append(f"{low:.1f}-{low + 0.1:.1f}  {mask.sum():6d}  {conf[mask].mean():9.3f}  {y[mask].mean():7.3f}")
    lines.append(f"Brier score {np.mean((conf - y) ** 2):.4f}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gazetteer", help="gazetteer file (default: the user cache)")
    args = ap.parse_args()
    if not all((EVAL / f"{c}.jsonl").exists() for c in CORPORA):
        print(f"skipped: the dev corpora are not in {EVAL}")
        return 0
    x, y, current = collect(Geoparser(gazetteer=args.gazetteer, offline=True))
    print(f"{len(y)} resolved mentions paired with gold coordinates, {y.mean():.3f} within 161 km")
    print("\ncurrent model\n" + reliability(current, y))
    w = fit(x, y)
    print("\nrefitted model\n" + reliability(1 / (1 + np.exp(-x @ w)), y))
    print("\n_CONFIDENCE_WEIGHTS = (" + ", ".join(f"{v:.3f}" for v in w) + ")")
    if len(w) != len(_CONFIDENCE_WEIGHTS):
        print("note: the feature count changed; paste the new weights", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
