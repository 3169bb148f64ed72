"""Execution engines: geoparse many documents with several processes, or on a Dask cluster.

Both engines load the spaCy model and open the gazetteer once per worker process (a
module-level cache keyed by the :class:`ParserSettings`, see :func:`geomap.api.Geoparser`) and
give the same results as one :class:`~geomap.api.Geoparser` in one process.

- :func:`iter_parse` runs in this process (``workers=1``) or in a pool of worker processes
  (``workers=N``, ``geomap extract --workers N``), yielding results in input order with a
  bounded number of documents in flight, so a stream of any length runs in bounded memory.
- :func:`run_dask` (``geomap extract --engine dask``) cuts ``.jsonl``, ``.csv``, ``.parquet``
  and text inputs into partitions (:func:`plan_partitions`), maps them over a Dask bag on a
  local cluster or an existing ``dask.distributed`` scheduler, and has each worker write its
  partition's results as ``part-NNNNN.jsonl`` (and ``.geojson``) into an output folder;
  :func:`load_results` reads such a folder back as a :class:`~geomap.model.GeoparseResult`
  (``geomap map --from results/``) without parsing again.

Dask is optional: ``pip install 'geomap[dask]'``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import signal
import shutil
import tempfile
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write
from .exc import GeomapError, InputError
from .model import Document, DocumentResult, GeoparseResult

__all__ = ["ParserSettings", "iter_parse", "Partition", "plan_partitions", "read_partition", "RunSummary",
           "run_dask", "load_results", "PART_PATTERN", "SUMMARY_FILE"]

#: Names of the partition files that :func:`run_dask` writes (``part-00000.jsonl``...).
PART_PATTERN = "part-{:05d}"
#: The run summary that :func:`run_dask` writes last into the output folder.
SUMMARY_FILE = "_summary.json"
# Default size of a .jsonl partition: about 3,000 news articles, a few minutes of one core.
_BLOCK_BYTES = 8 * 1024 * 1024
# Text, Markdown and HTML files per partition.
_FILES_PER_PARTITION = 256
_RECORD_SUFFIXES = (".jsonl", ".csv", ".parquet")


@dataclass(frozen=True)
class ParserSettings:
    """What a worker process needs to build its :class:`~geomap.api.Geoparser`; picklable.

    Attributes
    ----------
    model : str or None
        spaCy model name or path (default: see :func:`geomap.recognize.load_nlp`).
    gazetteer : str or None
        Gazetteer file; it must exist (``geomap gazetteer build``), as workers never build one.
        None: ``$GEOMAP_GAZETTEER`` or the user cache file.
    fallback : str, GeocoderSettings or None
        The online geocoder fallback (see :class:`~geomap.api.Geoparser`); None for none.
    offline : bool or None
        Never use the network; None: ``$GEOMAP_OFFLINE`` decides.
    fallback_below : float
        Confidence (0..1) under which the fallback is also asked.
    """

    model: str | None = None
    gazetteer: str | None = None
    fallback: Any = "nominatim"
    offline: bool | None = None
    fallback_below: float = 0.0

    def geoparser(self):
        """This process's :class:`~geomap.api.Geoparser` for these settings, loaded on first use.

        Raises
        ------
        ModelError, GazetteerError
            If the model or the gazetteer cannot be loaded.
        """
        from . import api
        return api._geoparser(self.model, self.gazetteer, self.fallback, self.offline, self.fallback_below)

    def for_workers(self, workers: int) -> ParserSettings:
        """The settings each of ``workers`` processes uses, so that together they stay as polite
        as one: the geocoder's delay between requests is multiplied by ``workers`` and its
        request cap divided among them (rounded up).

        Raises
        ------
        InputError
            If the fallback is a Python callable, which cannot be shared with other processes
            (use ``offline=True`` or a :class:`~geomap.geocode.GeocoderSettings`).
        """
        from .geocode import GeocoderSettings, offline_from_env
        offline = offline_from_env() if self.offline is None else self.offline
        if workers <= 1 or offline or self.fallback is None:
            return self
        fallback = self.fallback
        if isinstance(fallback, str):
            fallback = GeocoderSettings(geocoder=fallback)
        if not isinstance(fallback, GeocoderSettings):
            raise InputError("a Python callable as the geocoder fallback cannot run in several processes; "
                             f"got {fallback!r}: pass GeocoderSettings, or offline=True")
        fallback = dataclasses.replace(fallback, min_delay=fallback.min_delay * workers,
                                       max_requests=math.ceil(fallback.max_requests / workers))
        return dataclasses.replace(self, fallback=fallback)


# ---------------------------------------------------------------------------------------------
# Several processes on this machine

_WORKER_SETTINGS: ParserSettings | None = None


def _init_worker(settings: ParserSettings, show_warning: Any = None) -> None:
    """Pool initializer: load the model and the gazetteer once, before the first chunk; show
    warnings as the parent does (``show_warning``: its ``warnings.showwarning``, e.g. the CLI's
    one-line "warning: ..." instead of Python's file:line format)."""
    global _WORKER_SETTINGS
    # Ctrl-C reaches every process of the terminal's group: the parent stops the pool and
    # reports it once; a worker's own KeyboardInterrupt traceback would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if show_warning is not None:
        warnings.showwarning = show_warning
    _WORKER_SETTINGS = settings
    settings.geoparser()


def _picklable(function: Any) -> Any:
    """``function`` if it can reach a spawned worker (a module-level function), else None."""
    try:
        pickle.dumps(function)
    except Exception:
        return None
    return function


def _parse_chunk(documents: list[Document]) -> list[DocumentResult]:
    return list(_WORKER_SETTINGS.geoparser().iter_parse(documents))


def _chunks(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for document in documents:
        chunk.append(document)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def iter_parse(documents: Iterable[Document], *, settings: ParserSettings | None = None, workers: int = 1,
               chunk_size: int = 64) -> Iterator[DocumentResult]:
    """Geoparse documents in this process or in ``workers`` processes; results in input order.

    Parameters
    ----------
    documents : iterable of Document
        Read lazily: at most ``2 * workers`` chunks are in flight at once.
    settings : ParserSettings, optional
        Model, gazetteer and fallback (default: ``ParserSettings()``).
    workers : int
        1 (default) parses here; N > 1 starts N worker processes (``spawn``), each loading the
        model and the gazetteer once (about 1.5 s each, in parallel). The online fallback is
        shared out among them (:meth:`ParserSettings.for_workers`).
    chunk_size : int
        Documents sent to a worker at a time.

    Yields
    ------
    DocumentResult
        One per document, in input order, the same as :meth:`geomap.api.Geoparser.parse` gives.

    Raises
    ------
    InputError
        If ``workers`` or ``chunk_size`` is below 1, or the fallback cannot be shared.
    ModelError, GazetteerError
        If a worker cannot load the model or the gazetteer.
    """
    if workers < 1 or chunk_size < 1:
        raise InputError(f"workers and chunk_size must be at least 1, got {workers!r} and {chunk_size!r}")
    settings = settings or ParserSettings()
    if workers == 1:
        yield from settings.geoparser().iter_parse(documents)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    shared = settings.for_workers(workers)
    show_warning = _picklable(warnings.showwarning)
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(shared, show_warning))
    pending: deque = deque()
    try:
        for chunk in _chunks(documents, chunk_size):
            pending.append(executor.submit(_parse_chunk, chunk))
            while len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    except BrokenProcessPool as e:
        raise GeomapError(f"a worker process ended abruptly ({e}); with --workers, a script that starts "
                          "them must guard its code with: if __name__ == '__main__'") from e
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# Partitions of the inputs


@dataclass(frozen=True)
class Partition:
    """A slice of the inputs that one Dask task reads and parses.

    Attributes
    ----------
    kind : str
        ``"jsonl"`` (a byte range of one file, cut at line ends), ``"parquet"`` (one row group),
        ``"files"`` (whole files read as :func:`geomap.api.read_documents` reads them: text,
        Markdown, HTML, ``.csv``, small ``.jsonl``).
    paths : tuple of str
        The file (``jsonl``, ``parquet``) or files (``files``).
    start, end : int
        Byte range ``[start, end)`` for ``jsonl``; the row group index in ``start`` for ``parquet``.
    first_line : int
        Line number (1-based) of the first line of a ``jsonl`` range, or the number of rows
        before a ``parquet`` row group plus one, so that default ids and messages name the same
        line as a plain run does.
    """

    kind: str
    paths: tuple[str, ...]
    start: int = 0
    end: int = -1
    first_line: int = 1


def plan_partitions(paths: Iterable[str | os.PathLike], *, partitions: int | None = None,
                    block_bytes: int = _BLOCK_BYTES, glob: str | None = None) -> tuple[list[Partition],
                                                                                      list[tuple[str, str]]]:
    """Cut the inputs into partitions, in input order.

    ``.jsonl`` files are cut into byte ranges at line ends; ``.parquet`` files (needs pyarrow)
    into row groups; ``.csv`` files stay whole (a quoted field may span lines); text, Markdown
    and HTML files are grouped. Folders are searched as :func:`geomap.ingest.expand_paths` does.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files and folders; standard input (``-``) cannot be partitioned.
    partitions : int, optional
        Aim for about this many partitions (``.jsonl`` ranges are sized to the total size
        divided by it); default: ranges of ``block_bytes``.
    block_bytes : int
        Default size of a ``.jsonl`` range in bytes (8 MiB, about 3,000 news articles).
    glob : str, optional
        Pattern for the files read from folders.

    Returns
    -------
    (partitions, skipped)
        ``skipped`` holds ``(path, reason)`` for inputs that cannot be read at all.

    Raises
    ------
    InputError
        If ``paths`` holds ``-`` or ``partitions`` is below 1.
    """
    from .ingest import expand_paths
    if partitions is not None and partitions < 1:
        raise InputError(f"--partitions must be at least 1, got {partitions!r}")
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for path in expand_paths(paths, glob=glob):
        if isinstance(path, InputError):
            where, _, reason = str(path).partition(": ")
            skipped.append((where, reason or str(path)))
        elif str(path) == "-":
            raise InputError("standard input ('-') cannot be split into partitions; save it to a file")
        else:
            files.append(Path(path))
    if partitions:
        total = sum(_size(f) for f in files if f.suffix.lower() == ".jsonl")
        block_bytes = max(1, math.ceil(total / partitions))
        files_per = max(1, math.ceil(sum(1 for f in files if f.suffix.lower() not in _RECORD_SUFFIXES)
                                     / partitions))
    else:
        files_per = _FILES_PER_PARTITION
    out: list[Partition] = []
    group: list[str] = []

    def flush() -> None:
        if group:
            out.append(Partition("files", tuple(group)))
            group.clear()

    for file in files:
        suffix = file.suffix.lower()
        if suffix == ".jsonl":
            flush()
            try:
                out.extend(_jsonl_ranges(file, block_bytes))
            except OSError as e:
                skipped.append((str(file), f"cannot read: {e.strerror or e}"))
        elif suffix == ".parquet":
            flush()
            try:
                out.extend(_parquet_groups(file))
            except InputError as e:
                skipped.append((str(file), str(e)))
        elif suffix == ".csv":  # a partition of its own, whole: a quoted field may span lines
            flush()
            out.append(Partition("files", (str(file),)))
        else:
            group.append(str(file))
            if len(group) >= files_per:
                flush()
    flush()
    return out, skipped


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _jsonl_ranges(path: Path, block_bytes: int) -> Iterator[Partition]:
    """Byte ranges of about ``block_bytes`` ending at line ends, with their first line numbers."""
    size = path.stat().st_size
    if size == 0:
        yield Partition("files", (str(path),))  # reported as an empty input, as a plain run does
        return
    start, line = 0, 1
    with path.open("rb") as stream:
        while start < size:
            stream.seek(max(start, min(size, start + block_bytes) - 1))
            stream.readline()  # to the end of the line that crosses the block's end
            end = min(size, stream.tell())
            stream.seek(start)
            lines = stream.read(end - start).count(b"\n")
            yield Partition("jsonl", (str(path),), start, end, line)
            start, line = end, line + lines


def _parquet_groups(path: Path) -> Iterator[Partition]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("reading .parquet needs pyarrow: pip install pyarrow") from None
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as e:  # pyarrow raises its own error types for bad files
        raise InputError(f"not a readable Parquet file: {e}") from e
    row = 1
    for group in range(meta.num_row_groups):
        yield Partition("parquet", (str(path),), group, group + 1, row)
        row += meta.row_group(group).num_rows


def read_partition(partition: Partition, *, encoding: str | None = None, fields=None
                   ) -> tuple[list[Document], list[tuple[str, str]]]:
    """Read the documents of one partition, as a plain run reads the same lines and files.

    Parameters
    ----------
    partition : Partition
    encoding : str, optional
        Force an encoding (default: UTF-8, else detected with a warning).
    fields : geomap.ingest.Fields, optional
        Field names of records and columns.

    Returns
    -------
    (documents, skipped)
        ``skipped`` holds ``(path or path:line, reason)`` per unusable file or record.
    """
    from . import ingest
    fields = fields or ingest.Fields()
    if partition.kind == "files":
        return ingest.read_inputs(partition.paths, encoding=encoding, fields=fields)
    (path,) = partition.paths
    documents: list[Document] = []
    skipped: list[tuple[str, str]] = []
    stem = Path(path).stem
    if partition.kind == "parquet":
        import pyarrow.parquet as pq
        table = pq.ParquetFile(path).read_row_group(partition.start)
        for number, record in enumerate(table.to_pylist(), partition.first_line):
            _add_record(record, f"{path}:{number}", f"{stem}-{number}", path, fields, documents, skipped)
        return documents, skipped
    with open(path, "rb") as stream:
        stream.seek(partition.start)
        data = stream.read(partition.end - partition.start)
    if partition.start == 0 and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = ingest.decode_bytes(data, path, encoding=encoding)
    except InputError as e:
        return [], [(f"{path}:{partition.first_line}", str(e))]
    for item in ingest.jsonl_records(text, path, fields, partition.first_line):
        if isinstance(item, InputError):
            skipped.append(_where_and_why(str(item), path))
        else:
            documents.append(item)
    return documents, skipped


def _add_record(record, where: str, default_id: str, path: str, fields, documents: list, skipped: list) -> None:
    from .ingest import record_document
    try:
        documents.append(record_document(record, where, default_id, path, fields))
    except InputError as e:
        skipped.append(_where_and_why(str(e), path))


def _where_and_why(message: str, path: str) -> tuple[str, str]:
    """``("<path>:<line>", why)`` from an ingest error message ``"<path>:<line>: why"``."""
    if message.startswith(path + ":"):
        number, sep, why = message[len(path) + 1:].partition(": ")
        if sep and number.isdigit():
            return f"{path}:{number}", why
    return path, message


# ---------------------------------------------------------------------------------------------
# Dask


@dataclass
class RunSummary:
    """What :func:`run_dask` did.

    Attributes
    ----------
    output : Path
        The output folder.
    partitions : int
        Partitions parsed (one ``part-NNNNN.jsonl`` each).
    documents, mentions, unresolved : int
        Counts over all partitions.
    places : int
        Distinct resolved places (by gazetteer key).
    skipped : list of (str, str)
        ``(source, reason)`` of inputs and records that could not be read.
    empty, without_places : list of str
        Documents with no text, and documents in which no place was found.
    seconds : float
        Wall-clock time of the run, cluster start included.
    """

    output: Path
    partitions: int = 0
    documents: int = 0
    mentions: int = 0
    unresolved: int = 0
    places: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    without_places: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as written to ``_summary.json``."""
        out = dataclasses.asdict(self)
        out["output"] = str(self.output)
        return out


def _write_atomic(path: Path, write) -> None:
    with atomic_write(path, "w", newline="\n") as stream:
        write(stream)


# One partition at a time per worker process: the process's Geoparser (spaCy's vocabulary, the
# lookup caches, the geocoder's rate limit) is not shared between threads.
_PARTITION_LOCK = threading.Lock()


def _run_partition(task: tuple[int, Partition], settings: ParserSettings, folder: str, formats: tuple[str, ...],
                   encoding: str | None, fields) -> dict[str, Any]:
    """Dask task: read, parse and write one partition; returns its counts (no documents)."""
    with _PARTITION_LOCK:
        return _parse_partition(task, settings, folder, formats, encoding, fields)


def _parse_partition(task: tuple[int, Partition], settings: ParserSettings, folder: str, formats: tuple[str, ...],
                     encoding: str | None, fields) -> dict[str, Any]:
    index, partition = task
    documents, skipped = read_partition(partition, encoding=encoding, fields=fields)
    geoparser = settings.geoparser()  # loaded once per worker process, then cached
    base = Path(folder) / PART_PATTERN.format(index)
    counts: dict[str, Any] = {"documents": 0, "mentions": 0, "unresolved": 0, "places": set(),
                              "skipped": skipped, "empty": [], "without_places": []}
    results: list[DocumentResult] = []

    def write_jsonl(stream) -> None:
        for result in geoparser.iter_parse(documents):
            counts["documents"] += 1
            counts["mentions"] += len(result.resolutions)
            for resolution in result.resolutions:
                if resolution.place is None:
                    counts["unresolved"] += 1
                else:
                    counts["places"].add(resolution.place.key)
            name = result.document.source or result.document.id
            if not result.document.text.strip():
                counts["empty"].append(name)
            elif not result.resolutions:
                counts["without_places"].append(name)
            stream.write(json.dumps(result.to_dict(), ensure_ascii=False))
            stream.write("\n")
            if "geojson" in formats:
                results.append(result)

    _write_atomic(base.with_suffix(".jsonl"), write_jsonl)
    if "geojson" in formats:
        from .export import to_geojson
        geojson = to_geojson(GeoparseResult(tuple(results)))
        _write_atomic(base.with_suffix(".geojson"), lambda stream: json.dump(geojson, stream, ensure_ascii=False))
    counts["places"] = sorted(counts["places"])
    return counts


def _dask_modules():
    try:
        import dask.bag
        import distributed
    except ImportError as e:
        raise GeomapError(f"--engine dask needs Dask ({e.name} is not installed): "
                          "pip install 'geomap[dask]'") from None
    return dask.bag, distributed


def _prepare_output(output: Path) -> Path:
    """A fresh temporary folder next to ``output``; ``output`` must be absent, empty or an
    earlier run's output (only ``part-*`` files and the summary)."""
    if output.exists():
        if not output.is_dir():
            raise InputError(f"{str(output)!r} exists and is not a folder; choose another --output")
        foreign = [p.name for p in output.iterdir()
                   if not (p.name.startswith("part-") or p.name == SUMMARY_FILE)]
        if foreign:
            raise InputError(f"{str(output)!r} holds files that are not geomap results ({foreign[0]!r}...); "
                             "choose an empty or new --output folder")
    output.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp"))


def _publish(tmp: Path, output: Path) -> None:
    """Replace ``output`` with the finished ``tmp`` folder."""
    if output.exists():
        old = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".old"))
        os.replace(output, old / output.name)
        os.replace(tmp, output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, output)


def run_dask(paths: Sequence[str | os.PathLike], output: str | os.PathLike, *,
             settings: ParserSettings | None = None, scheduler: str | None = None, n_workers: int = 2,
             partitions: int | None = None, formats: Sequence[str] = ("jsonl", "geojson"),
             encoding: str | None = None, fields=None, glob: str | None = None) -> RunSummary:
    """Geoparse inputs on a Dask cluster and write partitioned results into a folder.

    The inputs are cut by :func:`plan_partitions` and mapped over a Dask bag; each task reads its
    partition on the worker, parses it with the worker's cached :class:`~geomap.api.Geoparser`
    and writes ``part-NNNNN.jsonl`` (documents of the JSON contract, one per line, in input
    order) and ``part-NNNNN.geojson`` (the partition's places, RFC 7946). Finally
    ``_summary.json`` holds the :class:`RunSummary`. The folder appears complete or not at all:
    results are written into a temporary folder beside it that then replaces it.

    Parameters
    ----------
    paths : sequence of str or PathLike
        ``.jsonl``, ``.csv``, ``.parquet`` (with pyarrow), text, Markdown and HTML files, or folders.
        Workers read them by path: on a remote cluster they must be on storage all workers see,
        as must ``output``.
    output : str or PathLike
        Output folder: new, empty, or the output of an earlier run (which is replaced).
    settings : ParserSettings, optional
        Model, gazetteer (it must exist) and fallback; the fallback is shared out among the
        workers (:meth:`ParserSettings.for_workers`).
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``tcp://host:8786``); default: a
        ``LocalCluster`` of ``n_workers`` processes with one thread each, closed at the end. A
        worker process parses one partition at a time (its model and caches are not shared
        between threads): start workers with one thread each (``dask worker --nthreads 1``)
        and as many processes as cores.
    n_workers : int
        Worker processes of the local cluster (2).
    partitions : int, optional
        Aim for about this many partitions (see :func:`plan_partitions`).
    formats : sequence of str
        ``"jsonl"`` (always written) and optionally ``"geojson"``.
    encoding, fields, glob
        As for :func:`geomap.api.read_documents`. Unlike a plain run, ids that repeat across
        files are kept as they are.

    Returns
    -------
    RunSummary

    Raises
    ------
    GeomapError
        If Dask is not installed (``pip install 'geomap[dask]'``), the scheduler cannot be
        reached, or a worker fails (the message names the error); nothing is written then.
    InputError
        If ``output`` is a file or holds other files, or the inputs include ``-``.
    """
    started = time.perf_counter()
    bag, distributed = _dask_modules()
    unknown = set(formats) - {"jsonl", "geojson"}
    if unknown:
        raise InputError(f"--engine dask writes jsonl and geojson, not {sorted(unknown)}")
    settings = settings or ParserSettings()
    output = Path(output)
    planned, skipped = plan_partitions(paths, partitions=partitions, glob=glob)
    tmp = _prepare_output(output)
    summary = RunSummary(output=output, partitions=len(planned), skipped=list(skipped))
    cluster = None
    try:
        if scheduler:
            client = distributed.Client(scheduler, timeout="20s")
            workers = max(1, len(client.nthreads()))  # processes: each parses one partition at a time
        else:
            cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None)
            client = distributed.Client(cluster)
            workers = n_workers
        shared = settings.for_workers(workers)
        with client:
            if planned:
                tasks = bag.from_sequence(list(enumerate(planned)), npartitions=len(planned))
                counts = tasks.map(_run_partition, shared, str(tmp), tuple(formats), encoding, fields).compute()
            else:
                counts = []
    except GeomapError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except (OSError, TimeoutError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise GeomapError(f"the Dask run failed: {e}") from e
    except Exception as e:  # a worker's error comes back as its own type; keep the message
        shutil.rmtree(tmp, ignore_errors=True)
        raise GeomapError(f"the Dask run failed: {type(e).__name__}: {e}") from e
    finally:
        if cluster is not None:
            cluster.close()
    places: set[str] = set()
    for part in counts:
        summary.documents += part["documents"]
        summary.mentions += part["mentions"]
        summary.unresolved += part["unresolved"]
        summary.skipped.extend(tuple(s) for s in part["skipped"])
        summary.empty.extend(part["empty"])
        summary.without_places.extend(part["without_places"])
        places.update(part["places"])
    summary.places = len(places)
    summary.seconds = time.perf_counter() - started
    _write_atomic(tmp / SUMMARY_FILE, lambda stream: json.dump(summary.to_dict(), stream, indent=1))
    _publish(tmp, output)
    return summary


# ---------------------------------------------------------------------------------------------
# Reading results back


def _result_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("part-*.jsonl")) or sorted(p for p in path.glob("*.jsonl") if p.is_file())
        if not files:
            raise InputError(f"{str(path)!r} holds no part-*.jsonl or .jsonl results")
        return files
    if path.is_file():
        return [path]
    raise InputError(f"{str(path)!r}: no such file or folder")


def iter_results(path: str | os.PathLike) -> Iterator[DocumentResult]:
    """Document results from ``geomap extract --format jsonl`` output or a ``--engine dask`` folder,
    one at a time (see :func:`load_results`)."""
    shared: dict = {}  # equal places, provenance and labels become one object (see from_dict)
    for file in _result_files(Path(path)):
        with open(file, encoding="utf-8") as stream:
            if file.suffix.lower() == ".json":
                yield from GeoparseResult.from_dict(json.load(stream)).documents
                continue
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                try:
                    yield DocumentResult.from_dict(json.loads(line), shared=shared)
                except (ValueError, KeyError, TypeError) as e:
                    raise InputError(f"{file}:{number}: not a document of geomap's JSON output "
                                     f"({type(e).__name__}: {e})") from e


def load_results(path: str | os.PathLike) -> GeoparseResult:
    """Read results written earlier, without parsing the documents again.

    Parameters
    ----------
    path : str or PathLike
        A folder written by :func:`run_dask` (its ``part-*.jsonl`` files, in order; else every
        ``.jsonl`` file in it, by name), a ``.jsonl`` file of ``geomap extract --format jsonl``,
        or a ``.json`` file of ``geomap extract --format json``.

    Returns
    -------
    GeoparseResult
        Rebuilt with :meth:`~geomap.model.DocumentResult.from_dict` (no document text).

    Raises
    ------
    InputError
        If the path is missing, holds no results, or a line is not a document of the JSON
        contract (the message names file and line).
    """
    try:
        return GeoparseResult(tuple(iter_results(path)))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: invalid JSON: {e.msg}") from e
