"""Configuration: defaults of the ``geomap`` command line from a TOML file.

The file is ``--config FILE`` (or ``$GEOMAP_CONFIG``), else ``geomap.toml`` in the working
directory when there is one. Keys are option names without the dashes (``geocoder-url`` or
``geocoder_url``); top-level keys apply to every command that has the option, tables to one
command (``[map]``, ``[extract]``, ``[gazetteer.lookup]``)::

    offline = true                 # every command with --offline
    gazetteer = "data/gazetteer.sqlite"

    [map]
    title = "Week 19"
    geojson = "week19.geojson"

    [extract]
    format = "csv"

Values become click's ``default_map``, so the precedence is: the command line, then
environment variables (``GEOMAP_GAZETTEER``, ``GEOMAP_OFFLINE``...), then this file, then the
built-in defaults. Paths are read as on the command line (relative to the working directory).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .exc import InputError

__all__ = ["CONFIG_FILE", "ENV_VAR", "ConfigError", "find_config", "load_config", "default_map"]

#: File looked for in the working directory.
CONFIG_FILE = "geomap.toml"
#: Environment variable naming a configuration file.
ENV_VAR = "GEOMAP_CONFIG"


class ConfigError(InputError):
    """A configuration file cannot be read or names an option no command has."""


def find_config(path: str | Path | None = None, *, cwd: str | Path | None = None) -> Path | None:
    """The configuration file to use: ``path`` if given, else ``geomap.toml`` in ``cwd`` if present.

    Parameters
    ----------
    path : str or Path, optional
        An explicit file (``--config``).
    cwd : str or Path, optional
        Folder to look in (default: the working directory).

    Returns
    -------
    Path or None
        None when no file is named and the folder has no ``geomap.toml``.
    """
    if path is not None:
        return Path(path)
    candidate = Path(cwd or ".") / CONFIG_FILE
    return candidate if candidate.is_file() else None


def load_config(path: str | Path) -> dict[str, Any]:
    """Parse a TOML configuration file.

    Raises
    ------
    ConfigError
        If the file cannot be read or is not valid TOML (the message names the file and,
        for syntax errors, the line and column).
    """
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from e


def _option_keys(command) -> dict[str, str]:
    """``{key: parameter name}`` for the options of a click command (``--geocoder-url`` gives
    the keys ``geocoder-url`` and ``geocoder_url``; the parameter name is a key too)."""
    keys: dict[str, str] = {}
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", None) != "option" or param.name in ("help", "version", "config"):
            continue
        for opt in param.opts:
            if opt.startswith("--"):
                keys[opt[2:]] = param.name
                keys[opt[2:].replace("-", "_")] = param.name
        keys[param.name] = param.name
    return keys


def default_map(config: dict[str, Any], group, *, source: str | Path = CONFIG_FILE) -> dict[str, Any]:
    """Turn a parsed configuration into click's ``default_map`` for a command group.

    Parameters
    ----------
    config : dict
        From :func:`load_config`.
    group : click.Group
        The root command (``geomap.cli.main``); its commands and subgroups are walked.
    source : str or Path
        The file's name, for messages.

    Returns
    -------
    dict
        ``{option: value, command: {option: value}, group: {command: {...}}}`` keyed by click
        parameter names, ready for ``ctx.default_map``.

    Raises
    ------
    ConfigError
        If a key names no option (of any command, for top-level keys; of that command, in a
        table) or a table names no command.
    """
    return _for_command(config, group, {}, source, "")


def _commands(command) -> dict:
    return getattr(command, "commands", {}) or {}


def _for_command(table: dict[str, Any], command, inherited: dict[str, Any], source,
                 where: str) -> dict[str, Any]:
    keys = _option_keys(command)
    subcommands = _commands(command)
    result: dict[str, Any] = {}
    shared = dict(inherited)
    for key, value in table.items():
        if isinstance(value, dict):
            continue
        if key in keys:
            result[keys[key]] = value
        elif subcommands and _known_anywhere(key, command):
            pass  # a key of a group (or the top level) for the commands that have it
        else:
            place = f"[{where}]" if where else "the top level"
            raise ConfigError(f"{source}: {place} has no option {key!r} "
                              f"(options: {', '.join(sorted(k for k in keys if '_' not in k)) or 'none'})")
        shared[key] = value
    for key, value in table.items():
        if not isinstance(value, dict):
            continue
        if key not in subcommands:
            place = f"[{where}]" if where else "the top level"
            raise ConfigError(f"{source}: {place} has a table [{key}] but there is no command "
                              f"{(where.replace('.', ' ') + ' ' + key).strip()!r} "
                              f"(commands: {', '.join(sorted(subcommands)) or 'none'})")
    for name, sub in subcommands.items():
        sub_keys = _option_keys(sub)
        # Options from above apply where the command has them; its own table wins.
        sub_map = {sub_keys[k]: v for k, v in shared.items() if k in sub_keys}
        own = table.get(name)
        if isinstance(own, dict) or _commands(sub):
            nested = _for_command(own if isinstance(own, dict) else {}, sub, shared,
                                  source, f"{where}.{name}" if where else name)
            sub_map.update(nested)
        if sub_map:
            result[name] = sub_map
    return result


def _known_anywhere(key: str, command) -> bool:
    if key in _option_keys(command):
        return True
    return any(_known_anywhere(key, sub) for sub in _commands(command).values())
