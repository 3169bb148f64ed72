"""Gazetteer benchmark: build time, file size and exact-name lookups per second.

Usage::

    python bench/bench_gazetteer.py [--quick] [--gazetteer PATH]

Builds the gazetteer from the packaged sources into a temporary folder (timed, with the
progress bar off), prints its size, then times :meth:`gazetteer.Gazetteer.lookup` on a
realistic mix of names:

- 45 % names of places news mention often (countries, first-level divisions, regions, seas and
  cities above 100,000 inhabitants), as written ("Nagorno-Karabakh", "U.S.", "Kyiv");
- 25 % names of any place (towns, districts, alternate and historic names);
- 10 % demonyms ("Armenian", "Azeri");
- 20 % capitalised words that are no place ("Monday", "Reuters", "Parliament").

"cold" is a fresh :class:`~gazetteer.Gazetteer` asked each distinct name once, so that every
lookup reads the file: the worst case; "cached" asks the same names again, as a long run does
(a name's second lookup decodes its row again and keeps the answer, later ones build the
candidates from it). "news stream" is the gold toponyms of the development corpora
(``../shared/eval/gwn_dev.jsonl`` and ``geovirus.jsonl`` beside the repository, or
``--eval-dir``) in document order, first-time and repeated names mixed as a run meets them, on
a fresh instance. Every figure is the median of ``--repeat`` runs (3), each on a
fresh instance, with the slowest and fastest run in brackets. ``--gazetteer PATH`` times
lookups on an existing file (e.g. one made by ``geomap gazetteer import``) and skips the build.
``--quick`` uses fewer names. The machine's load average is printed last: on a shared machine,
compare figures measured at a similar load only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

NOT_PLACES = ("Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April "
              "Reuters Parliament Minister President Ministry Council Army Police Court Government "
              "Company Bank Party Committee Agency Foundation University Hospital Report Statement "
              "Interfax Tass Xinhua Twitter Facebook Google Microsoft Covid Brexit NATO OPEC Hamas "
              "Hezbollah Kremlinology Opposition Sanctions Ceasefire Referendum Summit Tuesday's").split()


def name_mix(path: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` names drawn from the gazetteer at ``path`` in the proportions above."""
    rng = random.Random(seed)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    frequent = [r[0] for r in conn.execute(
        "SELECT name FROM places WHERE feature_class IN ('A', 'L', 'H') AND feature_code NOT LIKE 'ADM2%' "
        "OR population >= 100000")]
    ids = [r[0] for r in conn.execute("SELECT id FROM places")]
    demonyms = [r[0] for r in conn.execute(
        "SELECT DISTINCT p.name FROM names n JOIN places p ON p.id = n.place_id WHERE n.kind = 'demonym'")]
    demonym_names = [r[0] for r in conn.execute("SELECT name_norm FROM names WHERE kind = 'demonym'")] or demonyms
    names = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.45:
            names.append(rng.choice(frequent))
        elif draw < 0.70:
            row = conn.execute("SELECT name FROM places WHERE id = ?", (rng.choice(ids),)).fetchone()
            names.append(row[0])
        elif draw < 0.80:
            names.append(rng.choice(demonym_names).title())
        else:
            names.append(rng.choice(NOT_PLACES))
    conn.close()
    return names


def _rate(path: Path, names: list[str], *, then: list[str] | None = None) -> float:
    """Lookups per second of a fresh instance asked ``names`` one by one with
    :meth:`~gazetteer.Gazetteer.lookup` (after a warm-up lookup that opens the file). With
    ``then``, those names are timed instead, after ``names`` were asked (the cached case)."""
    from gazetteer import Gazetteer
    gaz = Gazetteer(path)
    gaz.lookup("warm up the connection")
    if then is not None:
        for name in names:
            gaz.lookup(name)
        names = then
    lookup = gaz.lookup
    started = time.perf_counter()
    for name in names:
        lookup(name)
    return len(names) / (time.perf_counter() - started)


def _median(path: Path, repeat: int, names: list[str], **how) -> str:
    rates = [_rate(path, names, **how) for _ in range(repeat)]
    return f"{statistics.median(rates):,.0f}/s [{min(rates):,.0f}–{max(rates):,.0f}]"


def time_lookups(path: Path, names: list[str], repeat: int) -> list[str]:
    """Report lines: lookups per second cold (each distinct name once) and cached."""
    distinct = list(dict.fromkeys(names))
    return [
        f"cold: {_median(path, repeat, distinct)} "
        f"({len(distinct):,} distinct names, each read from the file)",
        f"cached: {_median(path, repeat, distinct, then=names)} ({len(names):,} lookups of the same mix)",
    ]


def news_stream(eval_dir: Path) -> list[list[str]] | None:
    """Gold toponym strings of the development corpora, one list per document, in order;
    None when the files are absent."""
    files = [eval_dir / "gwn_dev.jsonl", eval_dir / "geovirus.jsonl"]
    if not all(f.is_file() for f in files):
        return None
    documents = []
    for file in files:
        with open(file, encoding="utf-8") as fh:
            documents += [[t["name"] for t in json.loads(line)["toponyms"]] for line in fh if line.strip()]
    return documents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer names")
    parser.add_argument("--gazetteer", type=Path, help="time lookups on this file; skip the build")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is printed)")
    parser.add_argument("--eval-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "eval",
                        help="folder of gwn_dev.jsonl and geovirus.jsonl, for the news-stream figures")
    args = parser.parse_args(argv)
    count = 20_000 if args.quick else 200_000
    with tempfile.TemporaryDirectory() as folder:
        path = args.gazetteer
        if path is None:
            from gazetteer.build import build_gazetteer
            path = Path(folder) / "gazetteer.sqlite"
            started = time.perf_counter()
            build_gazetteer(path, progress=False, force=True)
            print(f"build: {time.perf_counter() - started:.1f} s (packaged sources)")
        print(f"size: {path.stat().st_size / 1e6:.1f} MB ({path})" if args.gazetteer else
              f"size: {path.stat().st_size / 1e6:.1f} MB")
        names = name_mix(path, count)
        for line in time_lookups(path, names, args.repeat):
            print("lookups, " + line)
        documents = news_stream(args.eval_dir)
        if documents is None:
            print(f"news stream: skipped (no gwn_dev.jsonl and geovirus.jsonl in {args.eval_dir})")
        else:
            stream = [name for document in documents for name in document]
            print(f"news stream: {_median(path, args.repeat, stream)} ({len(stream):,} gold toponyms of "
                  f"{len(documents)} documents, {len(set(stream)):,} distinct)")
    if hasattr(os, "getloadavg"):
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
