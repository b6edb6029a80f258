"""The demo job: the main netplan run on the bundled samples.

``netplan demo`` (and ``make demo``) call :func:`run_demo`. On the national
sample (an equipment maker's installed base over China, today's network of
four outlets and ~400 candidate sites) it

1. loads and validates the inputs (summaries in ``inputs.json``);
2. computes today's coverage and blind spots (``coverage/``);
3. chooses sites with the tiered MILP under the scenario's budget (``plan/``);
4. scores the candidates (``scores/``);
5. writes the coverage map (``map.html``, self-contained, offline) and the
   executive report (``report.html`` and ``report.xlsx``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from netplan.config import Scenario, load_scenario
from netplan.coverage import CoverageResult, coverage_from_points
from netplan.io import read_customers, read_installed_base, read_sites, write_text
from netplan.locate import Plan, plan_from_points
from netplan.maps import network_map
from netplan.reach import reach_from_points
from netplan.report import write_report
from netplan.scoring import ScoreResult, score_sites
from netplan.summary import InputSummary, input_summary

__all__ = ["DemoResult", "run_demo", "samples_dir"]

#: Time limit (seconds) of the demo's MILP; the plan reports its gap if it stops early.
DEMO_TIME_LIMIT = 60.0


def samples_dir() -> Path:
    """Return the folder of the bundled samples (``data/samples`` of a source checkout).

    Raises
    ------
    FileNotFoundError
        When netplan runs from an installation without the samples.
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "data" / "samples"
        if (candidate / "national").is_dir():
            return candidate
    msg = (
        "the bundled samples (data/samples) are not here; "
        "run from a source checkout or pass --samples"
    )
    raise FileNotFoundError(msg)


@dataclass
class DemoResult:
    """What the demo produced.

    Attributes
    ----------
    scenario
        The national sample's scenario.
    inputs
        Summaries of the loaded inputs, by name.
    coverage
        Today's coverage of the installed base.
    plan
        The tiered plan under the scenario's budget.
    scores
        Candidate site scores.
    outputs
        Files and folders written, by name.
    """

    scenario: Scenario
    inputs: dict[str, InputSummary] = field(default_factory=dict)
    coverage: CoverageResult | None = None
    plan: Plan | None = None
    scores: ScoreResult | None = None
    outputs: dict[str, Path] = field(default_factory=dict)


def run_demo(
    out_dir: str | Path,
    *,
    samples: str | Path | None = None,
    time_limit: float = DEMO_TIME_LIMIT,
    step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the main job on the national sample and write its outputs to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder for the outputs (created).
    samples
        Samples folder; :func:`samples_dir` when ``None``.
    time_limit
        Seconds the MILP may take; an early stop returns the incumbent with its gap.
    step
        Called with a short description before each step (for progress display).

    Returns
    -------
    DemoResult
        The loaded scenario, input summaries, results and written files.
    """
    announce = step or (lambda _text: None)
    base = Path(samples) if samples is not None else samples_dir()
    national = base / "national"
    out = Path(out_dir)

    announce("loading and validating the national sample")
    scenario = load_scenario(national / "scenario.toml")
    installed = read_installed_base(national / "installed_base.csv", scenario=scenario)
    customers = read_customers(national / "customers.csv", scenario=scenario)
    sites = read_sites(national / "sites.csv", scenario=scenario)
    result = DemoResult(scenario=scenario)
    for name, frame in (("installed_base", installed), ("customers", customers), ("sites", sites)):
        result.inputs[name] = input_summary(frame)
    payload = {name: summary.to_dict() for name, summary in result.inputs.items()}
    result.outputs["inputs"] = write_text(
        out / "inputs.json",
        json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
    )

    announce("computing today's coverage and blind spots")
    # One reach matrix of the installed base against every site serves today's
    # coverage (its existing columns), the plan and the scores.
    reach = reach_from_points(installed, sites, scenario)
    coverage = coverage_from_points(installed, sites, scenario, customers=customers, reach=reach)
    coverage.to_files(out / "coverage")
    result.coverage = coverage
    result.outputs["coverage"] = out / "coverage"

    announce("choosing sites (tiered MILP under the scenario's budget)")
    plan = plan_from_points(installed, sites, scenario, time_limit=time_limit, reach=reach)
    plan.to_files(out / "plan")
    result.plan = plan
    result.outputs["plan"] = out / "plan"

    announce("scoring candidate sites")
    scores = score_sites(installed, sites, scenario, reach=reach)
    scores.to_files(out / "scores")
    result.scores = scores
    result.outputs["scores"] = out / "scores"

    announce("writing the map and the report")
    network_map(
        installed,
        sites,
        scenario,
        coverage=coverage,
        plan=plan,
        scores=scores.scores,
        offline=True,
    ).to_file(out / "map.html")
    result.outputs["map"] = out / "map.html"
    paths = write_report(
        out / "report.html",
        xlsx=out / "report.xlsx",
        coverage=coverage,
        plan=plan,
        scores=scores.scores,
        scenario=scenario,
        map_href="map.html",
    )
    result.outputs["report"] = paths["report"]
    if "xlsx" in paths:
        result.outputs["xlsx"] = paths["xlsx"]
    return result
