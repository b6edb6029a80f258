"""netplan: plan after-sales service outlet networks.

Load customers, installed base and sites (:mod:`netplan.io`), describe the
scenario (:mod:`netplan.config`), compute coverage and blind spots, choose
sites with a MILP, score candidates and render maps and reports.

The names below are imported on first use, so that ``import netplan`` (and the
command line's start-up) does not pay for geopandas, the MILP solver or the
map renderer until a command needs them.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from netplan.config import Scenario, Tier, default_scenario, load_scenario
    from netplan.coverage import CoverageResult, coverage_from_points
    from netplan.errors import ConfigError, InfeasibleError, InputError, NetplanError
    from netplan.io import read_customers, read_installed_base, read_points, read_sites
    from netplan.locate import Plan, plan_from_points

#: Public name → the module that defines it (imported on first access).
_LAZY = {
    "ConfigError": "netplan.errors",
    "CoverageResult": "netplan.coverage",
    "InfeasibleError": "netplan.errors",
    "InputError": "netplan.errors",
    "NetplanError": "netplan.errors",
    "Plan": "netplan.locate",
    "Scenario": "netplan.config",
    "Tier": "netplan.config",
    "coverage_from_points": "netplan.coverage",
    "default_scenario": "netplan.config",
    "load_scenario": "netplan.config",
    "plan_from_points": "netplan.locate",
    "read_customers": "netplan.io",
    "read_installed_base": "netplan.io",
    "read_points": "netplan.io",
    "read_sites": "netplan.io",
}

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


def __getattr__(name: str) -> Any:
    """Import a public name (or a submodule, ``netplan.io``) on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        if importlib.util.find_spec(f"netplan.{name}") is None:
            msg = f"module 'netplan' has no attribute {name!r}"
            raise AttributeError(msg)
        return importlib.import_module(f"netplan.{name}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
