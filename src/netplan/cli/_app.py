"""The typer app, shared options and the error handling every command uses.

Commands live in their own modules (``netplan.cli.<command>``) and register on
:data:`app`. Each parses its arguments, calls one library function, writes the
output and leaves error handling to :func:`command`: a
:class:`~netplan.errors.NetplanError` becomes one line per problem on stderr
and the error's exit code (2 for bad input, 3 for an infeasible model); with
``--debug`` the traceback is shown instead.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import functools
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
import typer.core
from rich.console import Console

from netplan import __version__
from netplan.errors import NetplanError

if TYPE_CHECKING:
    from netplan.config import Scenario

P = ParamSpec("P")
R = TypeVar("R")


#: A choice option's error as typer words it: "'max-cvoer' is not one of 'tiered', 'max-cover'."
_NOT_ONE_OF = re.compile(
    r"^(?:Value error, )?'(?P<value>[^']*)' is not one of "
    r"(?P<choices>'[^']*'(?:, '[^']*')*)\.?$"
)


def did_you_mean_choice(message: str) -> str:
    """Return a choice option's error message with the closest choice suggested.

    Examples
    --------
    >>> did_you_mean_choice("'max-cvoer' is not one of 'tiered', 'max-cover'.")
    "'max-cvoer' is not one of 'tiered', 'max-cover' (did you mean 'max-cover'?)"
    """
    match = _NOT_ONE_OF.match(message.strip())
    if match is None:
        return message
    value = match["value"]
    names = re.findall(r"'([^']*)'", match["choices"])
    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.5)
    text = message.strip().removeprefix("Value error, ").rstrip(".")
    return f"{text} (did you mean '{lowered[close[0]]}'?)" if close else f"{text}."


class _Group(typer.core.TyperGroup):
    """The app's group: a typo in any choice option (--model, --format ...) gets a suggestion."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:
            exc.message = did_you_mean_choice(exc.message)
            raise

    def get_help_option(self, ctx: Any) -> Any:
        """Return the group's ``--help``, reading an absent flag as ``False``.

        typer coerces a flag's missing value (``None``) through a pydantic adapter,
        which imports pydantic (about 0.1 s) on every command, ``--help`` included;
        ``False`` is what the absent flag means and skips that coercion.
        """
        option: Any = super().get_help_option(ctx)
        if option is not None and not getattr(option, "_netplan_absent_is_false", False):
            process_value = option.process_value

            def absent_is_false(context: Any, value: Any) -> Any:
                return process_value(context, False if value is None else value)

            option.process_value = absent_is_false
            option._netplan_absent_is_false = True
        return option


app = typer.Typer(
    cls=_Group,
    name="netplan",
    help=(
        "Plan after-sales service outlet networks: coverage and blind spots, tiered site "
        "selection, site scoring, maps and reports.\n\n"
        "Example: netplan validate data/samples/national/sites.csv --kind sites"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: Console for results (stdout) and for messages (stderr). User text (file and column
#: names, cell values) is printed verbatim: no rich markup ("[note]" stays) and no emoji
#: codes (":x:" stays); style output with :class:`rich.text.Text` where wanted.
console = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


class _State:
    debug: bool = False
    #: A command has said it was interrupted (typer exits 130 silently before one runs).
    interrupt_reported: bool = False


state = _State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"netplan {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback instead of a one-line error.")
    ] = False,
    plain_csv: Annotated[
        bool,
        typer.Option(
            "--plain-csv",
            help=(
                "Write CSV outputs as plain UTF-8. Default: UTF-8 with a byte-order mark, which "
                "Excel in China needs to show Chinese text (pandas and GDAL read both). "
                "Also NETPLAN_CSV_ENCODING=utf-8."
            ),
        ),
    ] = False,
) -> None:
    """Plan after-sales service outlet networks."""
    state.debug = debug
    # netplan.io (pandas, geopandas) loads only when there is an encoding to set or reset: its
    # setting defaults to None, so `netplan coverage --help` does not pay for it.
    if plain_csv or "netplan.io" in sys.modules:
        from netplan.io import set_csv_encoding

        set_csv_encoding("utf-8" if plain_csv else None)
    ctx.call_on_close(_reset_csv_encoding)  # library calls after a run: the default


def _reset_csv_encoding() -> None:
    if "netplan.io" in sys.modules:
        from netplan.io import set_csv_encoding

        set_csv_encoding(None)


def command(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: one-line errors with exit codes, warnings on stderr.

    Parameters
    ----------
    func
        The command function.

    Returns
    -------
    Callable
        The wrapped function (register it with ``app.command()``).
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                _refuse_non_finite_options(kwargs)
                _refuse_unwritable_names(kwargs)
                _refuse_unusable_output_paths(kwargs)
                _refuse_overwriting_inputs(kwargs)
                result = func(*args, **kwargs)
            except NetplanError as exc:
                _print_warnings(caught)
                if state.debug:
                    raise
                for line in exc.lines():
                    err_console.print(f"error: {line}", markup=False)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                err_console.print("interrupted: no output was half-written", markup=False)
                state.interrupt_reported = True
                raise typer.Exit(130) from None
            except UnicodeEncodeError as exc:
                if "surrogates" not in str(exc):
                    raise _internal_error(exc, caught) from None
                _print_warnings(caught)
                if state.debug:
                    raise
                err_console.print(
                    "error: a file or folder name is not valid UTF-8 (it was copied from a system "
                    "using another encoding, e.g. GBK); rename it to UTF-8 text",
                    markup=False,
                )
                raise typer.Exit(2) from None
            except Exception as exc:  # a bug: one line, not a traceback (--debug shows it)
                if type(exc).__module__.split(".")[0] in ("typer", "click"):
                    raise  # usage errors and exits, handled by typer
                environment = _environment_error(exc)
                if environment is not None and not state.debug:  # the system refused: not a bug
                    _print_warnings(caught)
                    err_console.print(f"error: {environment}", markup=False)
                    raise typer.Exit(2) from None
                raise _internal_error(exc, caught) from None
            _print_warnings(caught)
        return result

    return wrapper


def _internal_error(exc: Exception, caught: list[warnings.WarningMessage]) -> Exception:
    """Print a bug's one-line message and return the exit to raise (``--debug``: ``exc``)."""
    _print_warnings(caught)
    if state.debug:
        return exc
    err_console.print(
        f"error: internal error ({type(exc).__name__}: {exc}); this is a bug in "
        "netplan: run again with --debug before the command and report the traceback",
        markup=False,
    )
    return typer.Exit(1)


#: System errors that come from the machine (disk full, read-only, permissions), not from
#: netplan: the CLI reports them in one line with exit code 2.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
_ACCESS_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.ENAMETOOLONG, errno.ELOOP, errno.EISDIR, errno.ENOTDIR}
)


def _environment_error(exc: BaseException) -> str | None:
    """Return the one-line message for an error the system raised, or ``None`` (a bug)."""
    if not isinstance(exc, OSError) or exc.errno not in _WRITE_ERRNOS | _ACCESS_ERRNOS:
        return None
    verb = "write" if exc.errno in _WRITE_ERRNOS else "access"
    name = exc.filename if exc.filename is not None else "a file"
    return f"cannot {verb} {name}: {exc.strerror or exc}"


#: Parameters naming files a command writes, and their option names.
_OUTPUT_OPTIONS = {
    "out": "--out",
    "xlsx": "--xlsx",
    "pdf": "--pdf",
    "json_out": "--json",
    "cells": "--cells",
}


def _option_name(parameter: str) -> str:
    """Return the option spelling (``--budget``) of a command parameter."""
    import click

    context = click.get_current_context(silent=True)
    if context is not None:
        for param in context.command.params:
            if param.name == parameter and param.opts:
                return max(param.opts, key=len)
    return "--" + parameter.replace("_", "-")


def _refuse_non_finite_options(kwargs: dict[str, Any]) -> None:
    """Raise when a number given as an option is NaN or infinite (``--budget nan``).

    Click's range checks let NaN through (every comparison with NaN is false),
    so every float option of every command is checked here, once.
    """
    import math

    from netplan.errors import InputError

    for name, value in kwargs.items():
        if isinstance(value, float) and not math.isfinite(value):
            msg = (
                f"{_option_name(name)} must be a finite number, got {value}; "
                "give a number (omit the option for no limit)"
            )
            raise InputError(msg)


def _refuse_unwritable_names(kwargs: dict[str, Any]) -> None:
    """Raise when an output path is not valid UTF-8 (GDAL and Arrow cannot write such names).

    Input files with such names are read (and shown decoded, see
    :func:`netplan.io.display_name`); outputs are refused before any work.
    """
    from netplan.errors import InputError
    from netplan.io import display_name

    for name, option in _OUTPUT_OPTIONS.items():
        target = kwargs.get(name)
        if not isinstance(target, Path):
            continue
        try:
            str(target).encode("utf-8")
        except UnicodeEncodeError:
            msg = (
                f"{option} {display_name(target)}: the name is not valid UTF-8 (written on a "
                "system using another encoding, e.g. GBK); choose a UTF-8 name"
            )
            raise InputError(msg) from None


#: Longest file name component and path, in bytes, when the system does not say.
_NAME_MAX = 255
_PATH_MAX = 4096


def _refuse_unusable_output_paths(kwargs: dict[str, Any]) -> None:
    """Raise when an output path can never be written.

    That is: a symbolic link on the way that leads nowhere (dangling or
    looping), or a name too long for the file system.
    """
    import os

    from netplan.errors import InputError
    from netplan.io import display_name

    for name, option in _OUTPUT_OPTIONS.items():
        target = kwargs.get(name)
        if not isinstance(target, Path):
            continue
        shown = display_name(target)
        name_max = _NAME_MAX
        for folder in target.parents:
            try:
                name_max = os.pathconf(folder, "PC_NAME_MAX")
                break
            except (OSError, ValueError):
                continue
        too_long = [part for part in target.parts if len(os.fsencode(part)) > name_max]
        if too_long or len(os.fsencode(os.path.abspath(target))) >= _PATH_MAX:
            what = f"a name in it is over {name_max} bytes" if too_long else "it is too long"
            msg = f"{option} {shown}: the path is too long for the file system ({what}); " + (
                "choose a shorter name"
            )
            raise InputError(msg)
        for step in (target, *target.parents):
            try:
                leads_nowhere = step.is_symlink() and not step.exists()
            except OSError as exc:
                msg = f"{option} {shown}: cannot use this path ({exc.strerror}); choose another"
                raise InputError(msg) from None
            if leads_nowhere:
                msg = (
                    f"{option} {shown}: {display_name(step)} is a symbolic link that leads "
                    "nowhere (its target is missing or it loops); remove it or choose another path"
                )
                raise InputError(msg)


def frame_output_format(path: Path, option: str) -> str:
    """Return the table format a file path asks for (its extension), or raise naming the choices.

    Raises
    ------
    InputError
        When the path has no extension or one netplan does not write.
    """
    from netplan.errors import InputError
    from netplan.io import OUTPUT_FORMATS, display_name

    fmt = path.suffix.lower().lstrip(".")
    if fmt not in OUTPUT_FORMATS:
        what = f"has the extension .{fmt}" if fmt else "has no extension"
        accepted = ", ".join(f".{f}" for f in OUTPUT_FORMATS)
        msg = f"{option} {display_name(path)} {what}; end the name with one of {accepted}"
        raise InputError(msg)
    return fmt


#: Files netplan reads (data, tables, scenarios): inside an input folder such a file is
#: an input, and no output may replace it. Reports, maps and workbooks are never read.
_READ_SUFFIXES = frozenset(
    {".csv", ".tsv", ".txt", ".json", ".geojson", ".parquet", ".gpkg", ".toml", ".svg"}
)


def _refuse_overwriting_inputs(kwargs: dict[str, Any]) -> None:
    """Raise when an output file named on the command line is one of its input files.

    Inputs are the files the command reads: its file arguments, and the data
    files inside its folder arguments (``--coverage``, ``--plan``, the folders
    ``compare`` reads, ...). Paths are compared by what they resolve to, so a
    link or another spelling of an input is refused too.
    """
    from netplan.errors import InputError, Problem

    sources = [
        value
        for name, value in kwargs.items()
        if name not in _OUTPUT_OPTIONS and isinstance(value, Path) and value.is_file()
    ]
    folders = [
        Path(os.path.realpath(value))
        for name, value in kwargs.items()
        if name not in _OUTPUT_OPTIONS and isinstance(value, Path) and value.is_dir()
    ]
    for name, option in _OUTPUT_OPTIONS.items():
        target = kwargs.get(name)
        if not isinstance(target, Path) or not target.is_file():
            continue
        for source in sources:
            if target.samefile(source):
                msg = (
                    f"is an input of this command; {option} would overwrite it: choose another file"
                )
                raise InputError([Problem(str(target), None, None, msg)])
        resolved = Path(os.path.realpath(target))
        if resolved.suffix.lower() not in _READ_SUFFIXES:
            continue
        for folder in folders:
            if resolved.is_relative_to(folder) or _inside(target, folder):
                msg = (
                    f"is a file of the input folder {folder}; {option} would overwrite it: "
                    "choose a file outside the folders this command reads"
                )
                raise InputError([Problem(str(target), None, None, msg)])


def _inside(target: Path, folder: Path) -> bool:
    """Whether the folder holding ``target`` is ``folder`` or one of its sub-folders (by inode)."""
    with contextlib.suppress(OSError):
        for parent in Path(os.path.realpath(target)).parents:
            if os.path.samefile(parent, folder):
                return True
    return False


@contextlib.contextmanager
def reading_outputs(*folders: Path | None) -> Iterator[None]:
    """Turn a crash on output folders edited by hand into an error naming them.

    ``netplan report``, ``map`` and ``compare`` read the folders other commands
    wrote; a ``summary.json`` or table changed by hand (a list where a table
    was, text where a number was) becomes an :class:`~netplan.errors.InputError`.
    """
    from netplan.errors import InputError

    try:
        yield
    except NetplanError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        named = ", ".join(str(f) for f in folders if f is not None) or "the output folders"
        msg = (
            f"cannot use the outputs in {named} ({type(exc).__name__}: {exc}): a file there is "
            "not as netplan wrote it; write them again with the command that made them"
        )
        raise InputError(msg) from None


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    seen: set[str] = set()
    for item in caught:
        from netplan.errors import NetplanWarning

        if not issubclass(item.category, NetplanWarning):
            continue
        text = str(item.message)
        if text not in seen:
            seen.add(text)
            err_console.print(f"warning: {text}", markup=False)


def scenario_from_option(path: Path | None, inputs: list[str] | None = None) -> Scenario:
    """Return the scenario named by ``--config`` (or the default) with ``--input`` options applied.

    ``inputs`` are ``--input KIND.KEY=VALUE`` values laid over the scenario's
    ``[inputs.*]`` sections (see :func:`netplan.inputs.with_inputs`).
    """
    from netplan.config import default_scenario, load_scenario

    scenario = default_scenario() if path is None else load_scenario(path)
    if inputs:
        from netplan.inputs import with_inputs

        scenario = with_inputs(scenario, inputs)
    return scenario


# Shared option types, defined once and reused by every command.
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=(
            "Scenario TOML file (tiers, promises, grades, weights); "
            "the built-in default if omitted."
        ),
        dir_okay=False,
    ),
]
InputOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        metavar="KIND.KEY=VALUE",
        help=(
            "Say which column holds what, as the scenario's [inputs.KIND] would, for this run "
            "(repeatable). KIND: customers, installed_base, sites; KEY: id, lon, lat, crs, layer, "
            "weight (customers), units/product/install_year (installed_base), "
            "tier/status/name/fixed_cost/capacity (sites). crs: WGS84, GCJ-02, BD-09 or "
            "EPSG:nnnn. Example: --input customers.weight=年服务次数 --input customers.crs=GCJ-02"
        ),
    ),
]
LonOption = Annotated[
    str | None, typer.Option("--lon", help="Longitude (or x) column, if not detected by name.")
]
LatOption = Annotated[
    str | None, typer.Option("--lat", help="Latitude (or y) column, if not detected by name.")
]
IdOption = Annotated[str | None, typer.Option("--id", help="Id column (default: `id`).")]
WeightOption = Annotated[
    str | None, typer.Option("--weight", help="Weight column (default: `weight`, else 1.0).")
]
CrsOption = Annotated[
    str | None,
    typer.Option(
        "--crs",
        help=(
            "CRS of the coordinates when the file has none, e.g. EPSG:4547, or GCJ-02 / BD-09 "
            "(Chinese web maps; converted to WGS84)."
        ),
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help=(
            "Write into an --out folder that holds other files (they are left alone); "
            "without it such a folder is refused."
        ),
    ),
]


LayerOption = Annotated[
    str | None,
    typer.Option("--layer", help="Layer to read from a GeoPackage (or other file) with several."),
]


def read_options(
    lon: str | None,
    lat: str | None,
    id_col: str | None,
    weight: str | None,
    crs: str | None,
    layer: str | None = None,
) -> dict[str, Any]:
    """Return the keyword arguments for :func:`netplan.io.read_points` from CLI options.

    ``layer`` is included only when given (the streaming readers take no layer).
    """
    options: dict[str, Any] = {
        "lon_col": lon,
        "lat_col": lat,
        "id_col": id_col,
        "weight_col": weight,
        "crs": crs,
    }
    if layer is not None:
        options["layer"] = layer
    return options


def exit_with(code: int) -> None:
    """Exit the CLI with ``code`` (flushing the consoles)."""
    sys.stdout.flush()
    raise typer.Exit(code)
