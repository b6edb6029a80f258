"""The command line: version, help on every command, validate, demo, error handling."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import typer
import typer.main
from typer.testing import CliRunner

from netplan import __version__
from netplan.cli import app
from netplan.cli._app import command as netplan_command
from netplan.errors import ConfigError, InfeasibleError, InputError, InputWarning
from netplan.io import write_frame

WriteCsv = Callable[..., Path]

GOOD = [
    ["id", "lon", "lat", "weight", "grade"],
    ["a", 104.0665, 30.5723, 2.5, "A"],
    ["b", 116.4074, 39.9042, 1, "B"],
    ["c", 121.4737, 31.2304, 4, "A"],
]
BAD = [
    ["id", "lon", "lat", "weight"],
    ["a", 216.4, 39.9, 2],
    ["a", 121.5, 31.2, -3],
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Yield every command under ``command`` with its full name (``"netplan validate"``).

    typer vendors its own click, so groups are recognised by their ``commands``.
    """
    name = " ".join(("netplan", *path))
    yield name, command
    for sub_name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, sub_name))


# --------------------------------------------------------------------------- version and help


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"netplan {__version__}\n"


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.stdout and "demo" in result.stdout
    assert "Example: netplan validate" in result.stdout
    assert "--debug" in result.stdout and "--version" in result.stdout


def test_every_command_has_help_with_an_example_and_every_option_has_help(
    runner: CliRunner,
) -> None:
    root = typer.main.get_command(app)
    commands = list(_walk(root))
    assert {"netplan", "netplan validate", "netplan demo"} <= {name for name, _ in commands}
    for name, command in commands:
        assert command.help and "Example" in command.help, f"{name}: help needs an Example"
        for param in command.params:
            help_text = getattr(param, "help", None)
            assert help_text and help_text.strip(), f"{name}: {param.name} has no help text"
        args = name.split()[1:]
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, f"{name} --help: {result.output}"
        assert "Example" in result.stdout, f"{name} --help shows no example"


def test_python_dash_m_and_console_script(tmp_path: Path) -> None:
    commands = [[sys.executable, "-m", "netplan", "--version"]]
    script = shutil.which("netplan", path=str(Path(sys.executable).parent))
    if script is not None:
        commands.append([script, "--version"])
    for command in commands:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"netplan {__version__}\n"
    assert script is not None, "the `netplan` console script is not installed beside python"


# --------------------------------------------------------------------------- validate


def test_validate_prints_a_summary(runner: CliRunner, write_csv: WriteCsv) -> None:
    path = write_csv(GOOD)
    result = runner.invoke(app, ["validate", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert f"{path} (customers)" in out
    assert "rows" in out and "│ 3 " in out
    assert "lon: lon, lat: lat" in out
    assert "EPSG:4326 (read as EPSG:4326)" in out
    assert "lon 104.0665 .. 121.4737, lat 30.5723 .. 39.9042" in out
    assert "total weight │ 7.50" in out
    assert "grade        │ A: 2, B: 1" in out
    assert "problems     │ 0" in out
    assert sorted(p.name for p in path.parent.iterdir()) == ["points.csv"]


def test_validate_sites_with_a_scenario(
    runner: CliRunner, write_csv: WriteCsv, tmp_path: Path
) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text("[tiers.depot]\nradius_km = 20\n", encoding="utf-8")
    path = write_csv(
        [["id", "lon", "lat", "tier", "status"], ["d1", 104.07, 30.57, "depot", "candidate"]],
        "sites.csv",
    )
    result = runner.invoke(
        app,
        ["validate", str(path), "--kind", "sites", "--config", str(scenario)],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "tier         │ depot: 1" in result.stdout
    assert "status       │ candidate: 1" in result.stdout
    assert "total weight" not in result.stdout


def test_validate_with_column_and_crs_options(runner: CliRunner, write_csv: WriteCsv) -> None:
    path = write_csv([["code", "E", "N", "calls"], ["k", 12_958_000, 4_852_000, 5]])
    result = runner.invoke(
        app,
        [
            "validate",
            str(path),
            "--id",
            "code",
            "--lon",
            "E",
            "--lat",
            "N",
            "--weight",
            "calls",
            "--crs",
            "EPSG:3857",
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "lon: E, lat: N" in result.stdout
    assert "EPSG:3857 (read as EPSG:4326)" in result.stdout
    assert "total weight │ 5.00" in result.stdout


def test_validate_bad_file_lists_every_problem_on_stderr(
    runner: CliRunner, write_csv: WriteCsv
) -> None:
    path = write_csv(BAD)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {path}, row 2, column 'lon': longitude 216.4 is outside -180..180",
        f"error: {path}, row 3, column 'id': duplicate id 'a' (first at row 2); ids must be unique",
        f"error: {path}, row 3, column 'weight': weight -3 is negative",
    ]
    assert "Traceback" not in result.output
    assert sorted(p.name for p in path.parent.iterdir()) == ["points.csv"]  # nothing written


def test_validate_prints_user_text_verbatim(runner: CliRunner, write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat", "[note]"], ["a", 104.07, 30.57, ":x:"]], "[x] pts.csv")
    result = runner.invoke(app, ["validate", str(path)], terminal_width=200)
    assert result.exit_code == 0
    assert "[x] pts.csv (customers)" in result.stdout  # no rich markup swallowed
    assert "id, weight, [note]" in result.stdout
    bad = write_csv([["id", "lon", "lat", "weight"], ["a", 104.07, 30.57, ":x:"]], "bad.csv")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.stderr == f"error: {bad}, row 2, column 'weight': weight ':x:' is not a number\n"


def test_validate_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}: file not found\n"


def test_validate_bad_scenario(runner: CliRunner, write_csv: WriteCsv, tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text("[tiers.hub]\nradius_kn = 20\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(write_csv(GOOD)), "--config", str(scenario)])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: {scenario}: `tiers.hub.radius_kn`: unknown key (did you mean `radius_km`?); "
    )
    assert len(result.stderr.splitlines()) == 1


def test_validate_bad_kind_is_a_usage_error(runner: CliRunner, write_csv: WriteCsv) -> None:
    result = runner.invoke(app, ["validate", str(write_csv(GOOD)), "--kind", "outlets"])
    assert result.exit_code == 2
    assert "Invalid value for '--kind'" in result.stderr


def test_validate_shows_warnings_on_stderr(
    runner: CliRunner, tmp_path: Path, points_gdf: gpd.GeoDataFrame
) -> None:
    shapes = points_gdf.copy()
    shapes.loc[0, "geometry"] = shapely.box(116.0, 39.5, 117.0, 40.5)
    path = write_frame(shapes, tmp_path / "shapes.geojson")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert result.stderr == (
        f"warning: {path}: 1 non-point geometry (polygons or lines) replaced by their centroid\n"
    )


def test_debug_re_raises_with_the_traceback(runner: CliRunner, write_csv: WriteCsv) -> None:
    path = write_csv(BAD)
    result = runner.invoke(app, ["--debug", "validate", str(path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError)
    assert result.exception.total == 3
    # the flag does not stick to later runs
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 2


def test_debug_re_raises_config_errors(
    runner: CliRunner, write_csv: WriteCsv, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["--debug", "validate", str(write_csv(GOOD)), "--config", str(tmp_path / "no.toml")]
    )
    assert isinstance(result.exception, ConfigError)


# --------------------------------------------------------------------------- demo


def test_demo_on_the_bundled_samples(runner: CliRunner, repo_root: Path, tmp_path: Path) -> None:
    samples = repo_root / "data" / "samples"
    if not (samples / "national" / "scenario.toml").exists():
        pytest.skip("data/samples/national/scenario.toml is not generated yet (make samples)")
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    inputs = out / "inputs.json"
    assert inputs.is_file()
    assert f"inputs: {inputs}" in result.stdout
    assert "outputs:" in result.stdout
    summary = json.loads(inputs.read_text(encoding="utf-8"))
    assert {"installed_base", "customers", "sites"} <= set(summary)
    assert summary["sites"]["n_rows"] > 0
    assert not any(p.name.endswith(".tmp") or ".tmp." in p.name for p in out.rglob("*"))
    # Every output the demo announces exists, and the headline figures the README's
    # walkthrough quotes are what the demo computes.
    for name in ("coverage", "plan", "scores", "map", "report", "xlsx"):
        assert f"{name}: " in result.stdout
    for path in ("coverage/summary.json", "plan/plan.csv", "scores/scores.csv", "map.html",
                 "report.html", "report.xlsx"):  # fmt: skip
        assert (out / path).is_file(), path
    figures = DemoFigures.read(out)
    assert figures.plan["status"] == "optimal"
    assert figures.plan["n_open_by_tier"] == dict(figures.open_by_tier())
    # Every figure the walkthrough quotes is read from README.md and compared
    # with the demo's outputs (the trade-off curve and exit code 3: -m slow).
    assert not _claim_problems(DEMO_CLAIMS, figures)


# --------------------------------------------------------------------------- walkthrough figures
#
# Each claim is a regular expression over the walkthrough's prose (README.md,
# code and pictures left out, whitespace collapsed, ** dropped) whose groups are
# the quoted figures, and a function giving those figures from the outputs.
# test_every_walkthrough_number_is_checked fails on a number no claim covers.

README = Path(__file__).resolve().parents[1] / "README.md"
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}
#: English names of the sample's cities, for claims naming sites (names are Chinese).
CITY_NAMES = {"济南": "Jinan", "常州": "Changzhou", "西安": "Xi'an", "成都": "Chengdu"}
#: Numbers in the walkthrough that are not results: headings, steps, timings, exit codes.
NOT_FIGURES = (
    r"5-minute",
    r"(?<![\w.])[1-9]\. (?=[A-Z])",  # step numbers: "1. Today's coverage"
    r"0–100 score",
    r"\(exit code 2\)",  # a validation error's exit code (tests/test_robustness.py)
    r"2-core",
)


def _walkthrough_prose() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- section: walkthrough -->")
    end = text.index("\n## ", text.index("\n## ", start) + 1)
    prose = text[start:end]
    prose = re.sub(r"```.*?```", " ", prose, flags=re.DOTALL)
    prose = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", prose)
    prose = re.sub(r"<!--.*?-->", " ", prose, flags=re.DOTALL)
    prose = re.sub(r"`[^`]*`", " ", prose)
    return re.sub(r"\s+", " ", prose.replace("**", ""))


def _pct(rate: float, digits: int = 1) -> str:
    return f"{100 * rate:.{digits}f}"


def _count(value: float) -> str:
    return f"{round(value):,}"


def _millions(value: float) -> str:
    return f"{value / 1e6:g}"


@dataclass
class DemoFigures:
    """The outputs of ``netplan demo`` a walkthrough claim may quote."""

    inputs: dict[str, Any]
    today: dict[str, Any]
    plan: dict[str, Any]
    sites: pd.DataFrame  # plan/plan.csv
    names: dict[str, str]  # site id -> name

    @classmethod
    def read(cls, out: Path) -> DemoFigures:
        def load(name: str) -> dict[str, Any]:
            return dict(json.loads((out / name).read_text(encoding="utf-8")))

        sites = pd.read_csv(out / "plan" / "plan.csv", dtype={"id": str}, encoding="utf-8-sig")
        names = dict(zip(sites["id"], sites["name"].fillna(""), strict=True))
        return cls(
            load("inputs.json"), load("coverage/summary.json"), load("plan/summary.json"),
            sites, names,
        )  # fmt: skip

    def decided(self, decision: str, tier: str) -> int:
        rows = self.sites[(self.sites["decision"] == decision) & (self.sites["tier"] == tier)]
        return len(rows)

    def open_by_tier(self) -> dict[str, int]:
        open_ = self.sites[self.sites["decision"].isin(["kept", "opened"])]
        return {str(k): int(v) for k, v in open_["tier"].value_counts().items()}


def _city(site_name: str) -> str:
    return next(english for city, english in CITY_NAMES.items() if site_name.startswith(city))


def _unsupported_stations(f: DemoFigures) -> tuple[str, ...]:
    chain = f.today["support_chain"]["city_station"]
    hubs = f.today["by_tier"]["regional_hub"]["n_sites"]
    assert hubs == 1, "the walkthrough says 'the only hub'"
    first, second = (_city(f.names[i]) for i in chain["unsupported_sites"])
    return first, second, _count(chain["support_radius_km"])


def _plan_sites(f: DemoFigures) -> tuple[str, ...]:
    opened = [f.decided("opened", tier) for tier in
              ("regional_hub", "city_station", "community_point", "partner")]  # fmt: skip
    open_ = f.sites[f.sites["decision"].isin(["kept", "opened"])]
    kept = int((f.sites["decision"] == "kept").sum())
    assert sum(opened) + kept == len(open_)
    return (
        _millions(f.plan["options"]["budget"]), str(kept), str(sum(opened)),
        *map(str, opened),
        str(f.open_by_tier()["regional_hub"]), str(f.open_by_tier()["city_station"]),
        _count(f.plan["net_cost_change"]), _count(open_["fixed_cost"].sum()),
    )  # fmt: skip


def _plan_effect(f: DemoFigures) -> tuple[str, ...]:
    before, after = f.plan["before"], f.plan["after"]
    assert f.plan["staffing"]["engineers"] == f.sites["engineers"].sum()
    return (
        _pct(before["weighted_coverage_rate"]), _pct(after["weighted_coverage_rate"]),
        _count(before["distance_km"]["p50"]), _count(after["distance_km"]["p50"]),
        str(f.plan["n_open"]), _count(f.plan["staffing"]["engineers"]),
    )  # fmt: skip


Claim = tuple[str, Callable[[Any], tuple[str, ...]]]

DEMO_CLAIMS: list[Claim] = [
    (
        r"with ([\d,]+) installed-base rows \(about ([\d,]+) service calls a year\), "
        r"([\d,]+) customers, (\w+) outlets",
        lambda f: (
            _count(f.inputs["installed_base"]["n_rows"]),
            _count(round(f.inputs["installed_base"]["total_weight"], -3)),
            _count(f.inputs["customers"]["n_rows"]),
            str(f.today["n_sites"]),
        ),
    ),
    (
        r"and ([\d,]+) candidate sites\.",
        lambda f: (_count(f.today["sites_by_status"]["candidate"]),),
    ),
    (
        r"Today's (\w+) outlets reach ([\d.]+) % of the service demand "
        r"\(([\d.]+) % of the customers\)",
        lambda f: (
            str(f.today["n_sites"]),
            _pct(f.today["weighted_coverage_rate"]),
            _pct(f.today["customers"]["coverage_rate"]),
        ),
    ),
    (
        r"the median machine is ([\d,]+) km from its nearest outlet; ([\d,]+) blind-spot zones",
        lambda f: (_count(f.today["distance_km"]["p50"]), _count(f.today["n_blindspots"])),
    ),
    (
        r"the (\S+) and (\S+) stations are more than ([\d,]+) km from the only hub",
        _unsupported_stations,
    ),
    (
        r"with a budget of ([\d.]+) M yuan a year \(the net change in yearly fixed cost\), "
        r"keeps today's (\d+) outlets and opens "
        r"(\d+): (\d+) regional hubs?, (\d+) city stations?, (\d+) community points? and "
        r"(\d+) authorised partners? \((\d+) hubs and (\d+) stations with those kept\), "
        r"for ([\d,]+) yuan a year more \(([\d,]+) in all\)",
        _plan_sites,
    ),
    (
        r"HiGHS proves it optimal within ([\d.]+) %",
        lambda f: (_pct(f.plan["gap"], 2),) if f.plan["solver"] == "highs" else ("not HiGHS",),
    ),
    (
        r"lifts weighted coverage from ([\d.]+) % to ([\d.]+) %, the median distance to the "
        r"nearest outlet falls from ([\d,]+) to ([\d,]+) km, and its (\d+) outlets need "
        r"([\d,]+) engineers",
        _plan_effect,
    ),
    (
        r"Asking for the sample's (\d+) % target",
        lambda f: (_pct(f.plan["options"]["coverage_target"], 0),),
    ),
    (
        r"within ([\d.]+) M yuan the best is ([\d.]+) %",
        lambda f: (
            _millions(f.plan["options"]["budget"]),
            _pct(f.plan["after"]["weighted_coverage_rate"]),
        ),
    ),
]

#: Claims checked by the slow test on the walkthrough's own frontier and optimize commands.
SLOW_CLAIMS: list[Claim] = [
    (
        r"The trade-off curve: ([\d.]+) M yuan a year buys (\d+) % coverage, ([\d.]+) M (\d+) %, "
        r"([\d.]+) M (\d+) %, ([\d.]+) M (\d+) %",
        lambda frontier: tuple(
            text
            for limit, rate in zip(
                frontier["limit"], frontier["weighted_coverage_rate"], strict=True
            )
            for text in (_millions(limit), _pct(rate, 0))
        ),
    ),
    (
        r"exits with code (\d) and says why: within [\d.]+ M yuan the best is ([\d.]+) %",
        lambda result: (str(result.exit_code), re.search(r"is (\d+\.\d)\d*%", result.output)[1]),
    ),
]


def _claim_spans(claims: list[Claim], prose: str) -> list[tuple[int, int]]:
    spans = []
    for pattern, _ in claims:
        match = re.search(pattern, prose)
        if match:
            spans += [match.span(i) for i in range(1, len(match.groups()) + 1)]
    return spans


def _claim_problems(claims: list[Claim], figures: Any, prose: str | None = None) -> list[str]:
    """What the walkthrough says that the outputs do not (empty: every claim holds)."""
    prose = _walkthrough_prose() if prose is None else prose
    problems = []
    for pattern, expected in claims:
        matches = list(re.finditer(pattern, prose))
        if len(matches) != 1:
            problems.append(f"README walkthrough: {len(matches)} matches of {pattern!r}")
            continue
        said = tuple(NUMBER_WORDS.get(g, g) for g in matches[0].groups())
        actual = expected(figures)
        if said != actual:
            problems.append(f"README says {said}, the outputs give {actual}: {matches[0][0]!r}")
    return problems


def _unchecked_numbers(prose: str) -> list[str]:
    """Numbers in ``prose`` (with some context) that no claim quotes and no NOT_FIGURES names."""
    covered = _claim_spans(DEMO_CLAIMS + SLOW_CLAIMS, prose)
    for pattern in NOT_FIGURES:
        covered += [m.span() for m in re.finditer(pattern, prose)]
    return [
        prose[max(0, m.start() - 30) : m.end() + 10]
        for m in re.finditer(r"(?<![\w.,])\d(?:[\d,.]*\d)?", prose)
        if not any(a <= m.start() and m.end() <= b for a, b in covered)
    ]


def test_every_walkthrough_number_is_checked() -> None:
    unchecked = _unchecked_numbers(_walkthrough_prose())
    assert not unchecked, f"figures in the README walkthrough that no test checks: {unchecked}"
    said = "1. Today's four outlets reach 11.7 % of the service demand (12.0 % of the customers)"
    assert _unchecked_numbers(said) == []
    (unchecked,) = _unchecked_numbers(said + "; 2,099 blind spots, in 2-core")
    assert unchecked.endswith("customers); 2,099 blind spo")


def test_claims_catch_a_wrong_figure() -> None:
    prose = "Today's four outlets reach 11.7 % of the service demand (12.0 % of the customers)"
    claim = [c for c in DEMO_CLAIMS if c[0].startswith("Today's")]
    today = {"n_sites": 4, "weighted_coverage_rate": 0.117, "customers": {"coverage_rate": 0.12}}
    figures = DemoFigures({}, today, {}, pd.DataFrame(), {})
    assert _claim_problems(claim, figures, prose) == []
    today["weighted_coverage_rate"] = 0.1161
    (problem,) = _claim_problems(claim, figures, prose)
    assert "README says ('4', '11.7', '12.0'), the outputs give ('4', '11.6', '12.0')" in problem
    (problem,) = _claim_problems(claim, figures, prose.replace("reach", "serve"))
    assert problem.startswith("README walkthrough: 0 matches")


def _walkthrough_call(command: str, samples: Path, out: Path) -> list[str]:
    """The walkthrough's ``netplan COMMAND ...`` line as arguments, $N and out/ made real."""
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- section: walkthrough -->")
    section = text[start : text.index("\n## ", text.index("\n## ", start) + 1)]
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            if words[:2] == ["netplan", command]:
                return [w.replace("$N", str(samples)).replace("out/", f"{out}/") for w in words[1:]]
    raise AssertionError(f"no `netplan {command}` in the README walkthrough")


@pytest.mark.slow
def test_walkthrough_frontier_and_target_figures(
    runner: CliRunner, repo_root: Path, tmp_path: Path
) -> None:
    """The walkthrough's frontier and 80 % target runs say what the README quotes (~1 min)."""
    samples = repo_root / "data" / "samples" / "national"
    args = _walkthrough_call("frontier", samples, tmp_path)
    assert runner.invoke(app, args).exit_code == 0
    frontier = pd.read_csv(tmp_path / "frontier" / "frontier.csv", encoding="utf-8-sig")
    assert (frontier["status"] == "optimal").all()
    assert not _claim_problems(SLOW_CLAIMS[:1], frontier)
    # "Asking for the sample's 80 % target on top of that budget (`...`) exits with code 3"
    asked = re.search(r"on top of that\s+budget \(`([^`]+)`\)", README.read_text(encoding="utf-8"))
    assert asked is not None
    args = _walkthrough_call("optimize", samples, tmp_path)
    args = [a for a in args if a not in ("--objective", "max_coverage")] + asked[1].split()
    result = runner.invoke(app, args, terminal_width=400)
    assert not _claim_problems(SLOW_CLAIMS[1:], result)


def test_demo_with_a_missing_samples_folder(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--samples", str(tmp_path / "none"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- the command wrapper


def _app_with(body: Callable[[], None]) -> typer.Typer:
    """Return a one-command app running ``body`` under netplan's error handling."""
    test_app = typer.Typer()

    @test_app.command()
    @netplan_command
    def run() -> None:
        """Run the body.

        Example: run
        """
        body()

    return test_app


def test_infeasible_model_exits_with_code_3(runner: CliRunner) -> None:
    def body() -> None:
        raise InfeasibleError("no plan covers 95% within the budget; raise the budget to 2.1e6")

    result = runner.invoke(_app_with(body), [])
    assert result.exit_code == 3
    assert result.stderr == (
        "error: no plan covers 95% within the budget; raise the budget to 2.1e6\n"
    )


def test_interrupt_exits_with_code_130(runner: CliRunner) -> None:
    def body() -> None:
        raise KeyboardInterrupt

    result = runner.invoke(_app_with(body), [])
    assert result.exit_code == 130
    assert result.stderr == "interrupted: no output was half-written\n"


def test_only_netplan_warnings_are_shown_once_each(runner: CliRunner) -> None:
    def body() -> None:
        for _ in range(3):
            warnings.warn("check the ids", InputWarning, stacklevel=1)
        warnings.warn("a library's own deprecation", DeprecationWarning, stacklevel=1)

    result = runner.invoke(_app_with(body), [])
    assert result.exit_code == 0
    assert result.stderr == "warning: check the ids\n"


def test_unexpected_errors_are_not_swallowed(runner: CliRunner) -> None:
    def body() -> None:
        raise ZeroDivisionError("a bug")

    # One line naming the bug and --debug, exit code 1: never a traceback, never silence.
    result = runner.invoke(_app_with(body), [])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: internal error (ZeroDivisionError: a bug); ")
    assert "--debug" in result.stderr
