"""netplan: plan after-sales service outlet networks.

Load customers, installed base and sites (:mod:`netplan.io`), describe the
scenario (:mod:`netplan.config`), compute coverage and blind spots, choose
sites with a MILP, score candidates and render maps and reports.
"""

from __future__ import annotations

__version__ = "0.1.0"

from netplan.config import Scenario, Tier, default_scenario, load_scenario
from netplan.coverage import CoverageResult, coverage_from_points
from netplan.errors import ConfigError, InfeasibleError, InputError, NetplanError
from netplan.io import read_customers, read_installed_base, read_points, read_sites
from netplan.locate import Plan, plan_from_points

__all__ = [
    "ConfigError",
    "CoverageResult",
    "InfeasibleError",
    "InputError",
    "NetplanError",
    "Plan",
    "Scenario",
    "Tier",
    "__version__",
    "coverage_from_points",
    "default_scenario",
    "load_scenario",
    "plan_from_points",
    "read_customers",
    "read_installed_base",
    "read_points",
    "read_sites",
]
