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

"cold" is a fresh :class:`~gazetteer.Gazetteer` asked each distinct name once (every lookup goes
to SQLite); "cached" asks the same names again, as a long run does. ``--gazetteer PATH`` times
lookups on an existing file (e.g. one made by ``geomap gazetteer import``) and skips the build.
``--quick`` uses fewer names. The machine's load average is printed last: on a shared machine,
compare figures measured at a similar load only.
"""

from __future__ import annotations

import argparse
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


def time_lookups(path: Path, names: list[str]) -> tuple[float, float, int]:
    """Lookups per second, cold (distinct names, fresh instance) and cached, and the number
    of distinct names."""
    from gazetteer import Gazetteer
    distinct = list(dict.fromkeys(names))
    gaz = Gazetteer(path)
    gaz.lookup("warm up the connection")
    started = time.perf_counter()
    for name in distinct:
        gaz.lookup(name)
    cold = len(distinct) / (time.perf_counter() - started)
    started = time.perf_counter()
    for name in names:
        gaz.lookup(name)
    cached = len(names) / (time.perf_counter() - started)
    return cold, cached, len(distinct)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer names")
    parser.add_argument("--gazetteer", type=Path, help="time lookups on this file; skip the build")
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
        cold, cached, distinct = time_lookups(path, names)
        print(f"lookups: {cold:,.0f}/s cold ({distinct:,} distinct names, each from SQLite), "
              f"{cached:,.0f}/s cached ({len(names):,} lookups of the same mix)")
    if hasattr(os, "getloadavg"):
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
