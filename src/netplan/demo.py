"""The demo job: the main netplan run on the bundled samples.

``netplan demo`` (and ``make demo``) call :func:`run_demo`. It grows with the
library: today it loads and validates the national sample and writes a summary
of the inputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from netplan.config import Scenario, load_scenario
from netplan.io import read_customers, read_installed_base, read_sites, write_text
from netplan.summary import InputSummary, input_summary

__all__ = ["DemoResult", "run_demo", "samples_dir"]


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
    msg = "the bundled samples (data/samples) are not here; run from a source checkout or pass --samples"
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
    outputs
        Files written, by name.
    """

    scenario: Scenario
    inputs: dict[str, InputSummary] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)


def run_demo(out_dir: str | Path, *, samples: str | Path | None = None) -> DemoResult:
    """Run the main job on the national sample and write its outputs to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder for the outputs (created).
    samples
        Samples folder; :func:`samples_dir` when ``None``.

    Returns
    -------
    DemoResult
        The loaded scenario, input summaries and written files.
    """
    base = Path(samples) if samples is not None else samples_dir()
    national = base / "national"
    out = Path(out_dir)
    scenario = load_scenario(national / "scenario.toml")
    installed = read_installed_base(national / "installed_base.csv", scenario=scenario)
    customers = read_customers(national / "customers.csv", scenario=scenario)
    sites = read_sites(national / "sites.csv", scenario=scenario)
    result = DemoResult(scenario=scenario)
    for name, frame in (("installed_base", installed), ("customers", customers), ("sites", sites)):
        result.inputs[name] = input_summary(frame)
    payload = {name: summary.to_dict() for name, summary in result.inputs.items()}
    result.outputs["inputs"] = write_text(
        out / "inputs.json", json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    )
    return result
