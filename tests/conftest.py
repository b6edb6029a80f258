"""Shared fixtures: tiny input files built in ``tmp_path`` and small scenarios.

Everything here writes real files that the real readers then read; nothing is
mocked. Helpers are fixtures (not importable functions) so every test module
can use them without ``tests`` being a package.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest

from netplan.config import Scenario, scenario_from_dict

#: Repository root (the folder holding ``data/samples``).
REPO_ROOT = Path(__file__).resolve().parents[1]

#: Three well-known Chinese city centres (lon, lat).
CITIES = {
    "beijing": (116.4074, 39.9042),
    "shanghai": (121.4737, 31.2304),
    "chengdu": (104.0665, 30.5723),
}


@pytest.fixture
def repo_root() -> Path:
    """Return the repository root."""
    return REPO_ROOT


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Return a function that writes text (UTF-8) or bytes to ``tmp_path / name``."""

    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode(encoding) if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def write_csv(
    write_file: Callable[..., Path],
) -> Callable[..., Path]:
    """Return a function writing rows as a CSV (quoted as needed) with a delimiter and encoding."""

    def write(
        rows: list[list[object]],
        name: str = "points.csv",
        *,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> Path:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
        return write_file(name, buffer.getvalue(), encoding=encoding)

    return write


@pytest.fixture
def points_gdf() -> gpd.GeoDataFrame:
    """Return three customer points in EPSG:4326 with ids, weights and a text column."""
    lon, lat = zip(*CITIES.values(), strict=True)
    return gpd.GeoDataFrame(
        {"id": list(CITIES), "weight": [2.5, 1.0, 0.0], "name": ["北京", "上海", "成都"]},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


@pytest.fixture
def small_scenario() -> Scenario:
    """Return a two-tier scenario with demand rates and age bands."""
    return scenario_from_dict(
        {
            "scenario": {"name": "small"},
            "tiers": {
                "hub": {
                    "label": "Hub",
                    "label_zh": "中心",
                    "radius_km": 200,
                    "fixed_cost": 1000,
                    "capacity": 500,
                },
                "station": {
                    "label": "Station",
                    "radius_km": 40,
                    "parent": "hub",
                    "support_radius_km": 300,
                    "fixed_cost": 100,
                },
            },
            "demand": {
                "default_rate": 0.5,
                "reference_year": 2026,
                "service_rates": {"excavator": 2.0, "crane": 3.0},
                "age_bands": {"0-2": 0.5, "3-5": 1.0, "6+": 2.0},
            },
        },
        source="small.toml",
    )
