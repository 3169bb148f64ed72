"""Smoke test of bench/bench_throughput.py: the CI-sized run prints a well-formed table.

Checks the structure and that every figure is a positive number; speed itself is not tested
(figures on a shared machine vary; README quotes a full run).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_throughput.py"
ROWS = ["spaCy NER-only floor (same model and pipes)", "geomap end-to-end (offline)", "ratio geomap / floor",
        "peak RSS (one process, N docs)", "cold start to first result", "geomap at N = 20 documents", "geomap at N = 40 documents"]
UNITS = {"ratio geomap / floor": "", "peak RSS (one process, N docs)": "MB", "cold start to first result": "s"}


def test_bench_quick_prints_table_of_positive_figures(full_gazetteer_path, tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(BENCH), "--quick", "--gazetteer", str(full_gazetteer_path),
                           "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert re.match(r"geomap throughput: 40 documents, [\d,]+ characters, [\d,]+ mentions; ", lines[0])
    assert "tok2vec" in lines[1] and "ner" in lines[1] and "load average" in lines[1]
    header, rule, *rows = lines[3:]
    assert [c.strip() for c in header.strip("|").split("|")] == ["measure", "value", "unit"]
    assert set(rule) <= set("|-:")
    table = {}
    for row in rows:
        name, value, unit = (c.strip() for c in row.strip("|").split("|"))
        name = re.sub(r"one process, (20|40) docs", "one process, N docs", name)  # the largest of the runs
        table[name] = (float(value), unit)
    assert list(table) == ROWS
    for name, (value, unit) in table.items():
        assert value > 0, name
        assert unit == UNITS.get(name, "docs/s"), name
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["documents"] == 40 and figures["mentions"] > 0
    assert abs(figures["ratio"] - figures["geomap_docs_s"] / figures["floor_docs_s"]) < 1e-9


TRICKY = [
    "The Hague and the Strait of Hormuz; Bosnia and Herzegovina voted.",
    "Nagorno–Karabakh’s leaders met in Bakı, then in Baku, then in the U.S. and the UAE.",
    "BREAKING: TALKS IN YEREVAN AND TBILISI COLLAPSE AS MOSCOW WATCHES",
    "aid reached yerevan and tbilisi late on friday, officials in new delhi said",
    "Flights from São Paulo to Côte d'Ivoire and Cafe\u0301 Paris resumed; Thessaloniki waited.",
    "The the Netherlands, Th e Hague, ʻAbd al-Kuri and Ras al-Khaimah were named.",
]


def test_bench_pruned_matcher_finds_what_trying_every_span_finds(nlp, full_gazetteer):
    """The speed-up of the gazetteer matcher (normalise only spans that can still begin a name)
    changes nothing: the same mentions as normalising every span of up to five tokens."""
    from gazetteer.normalize import normalize_name

    from geomap.model import Document
    from geomap.recognize import Recognizer

    class EverySpan(Recognizer):
        def _name_keys(self, text, starts, ends, i, longest, unsafe):
            keys = [(n, normalize_name(text[starts[i]:ends[i + n - 1]])) for n in range(longest, 0, -1)]
            return [(n, key) for n, key in keys if key in self.names]

    names = full_gazetteer.prominent_names()
    docs = [Document(f"d{k}", text) for k, text in enumerate(TRICKY)]
    fast = [[(m.text, m.start, m.label) for m in ms] for _, ms in Recognizer(nlp, names=names).recognize(docs)]
    slow = [[(m.text, m.start, m.label) for m in ms] for _, ms in EverySpan(nlp, names=names).recognize(docs)]
    assert fast == slow
    assert ("Hague", TRICKY[0].index("Hague"), "GAZ") in fast[0]           # the matcher is at work
    assert sum(label == "GAZ" for mentions in fast for _, _, label in mentions) >= 3
