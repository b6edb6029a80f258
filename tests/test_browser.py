"""Open netplan's maps and reports in headless Chromium (marker ``browser``).

The page is loaded through the DevTools protocol over a pipe
(``--remote-debugging-pipe``): the test collects console messages, uncaught
exceptions and every network request, inspects the DOM after the scripts ran
and takes a screenshot, decoded here (PNG, zlib + numpy) and checked for
content. Locally the tests skip when Chromium is missing; with ``CI=true``
they fail instead.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from netplan.config import default_scenario
from netplan.maps import network_map

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _chromium()
    if path is None:
        message = (
            "headless Chromium not found (install Debian's `chromium`: apt-get install chromium)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return path


# --------------------------------------------------------------------------- DevTools over a pipe


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(
        self, executable: str, profile: Path, *, width: int = 1200, height: int = 800
    ) -> None:
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()

        def place_fds() -> None:  # runs in the child: the protocol wants fds 3 and 4
            read_end = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        args = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--mute-audio",
            f"--window-size={width},{height}",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=place_fds,
            close_fds=False,  # Python's own fds are not inheritable; fds 3 and 4 are
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        for fd in (self._to_child_w, self._from_child_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer from Chromium over the DevTools pipe")
            ready, _, _ = select.select([self._from_child_r], [], [], remaining)
            if ready:
                chunk = os.read(self._from_child_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_child_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})  # type: ignore[no-any-return]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.events.append(self._read_message(deadline))
            except TimeoutError:
                return


def load_page(
    executable: str,
    page: Path,
    profile: Path,
    *,
    expression: str,
    settle: float = 1.5,
    scale: float = 0.25,
) -> tuple[dict[str, Any], list[dict[str, Any]], bytes]:
    """Load ``page`` with the network cut off; return (``expression``'s value, events, PNG).

    Requests are still logged (``Network.requestWillBeSent``) before they fail,
    so a page that tries to reach the internet shows in the events.
    """
    tools = DevTools(executable, profile)
    try:
        target = tools.call("Target.createTarget", {"url": "about:blank"})
        session = tools.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            tools.call(domain, session=session)
        offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
        tools.call("Network.emulateNetworkConditions", offline, session=session)
        tools.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1200, "height": 800, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        tools.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        tools.wait_for("Page.loadEventFired", timeout=90)
        tools.drain(settle)
        value = tools.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
        )["result"].get("value")
        # A quarter-scale shot (300 × 200) by default: enough to judge content, quick to decode.
        clip = {"x": 0, "y": 0, "width": 1200, "height": 800, "scale": scale}
        shot = tools.call(
            "Page.captureScreenshot", {"format": "png", "clip": clip}, session=session
        )["data"]
        return value, list(tools.events), base64.b64decode(shot)
    finally:
        tools.close()


# --------------------------------------------------------------------------- PNG decoding


def decode_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG into an (h, w, channels) array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position = 8
    idat = b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, "only 8-bit non-interlaced PNGs"
            channels = {2: 3, 6: 4, 0: 1, 4: 2}[colour]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8)
    stride = width * channels
    rows = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            current = line
        elif kind == 1:
            current = _unfilter_left(line, channels, lambda a, x: (x + a) & 255)
        elif kind == 2:
            current = (line + previous) & 255
        elif kind == 3:
            current = _unfilter_left(line, channels, None, previous, average=True)
        else:
            current = _unfilter_left(line, channels, None, previous, paeth=True)
        out[y] = current
        previous = current
    return out.reshape(height, width, channels).astype(np.uint8)


def _unfilter_left(
    line: np.ndarray,
    channels: int,
    op: Any,
    up: np.ndarray | None = None,
    *,
    average: bool = False,
    paeth: bool = False,
) -> np.ndarray:
    pixels = line.reshape(-1, channels)
    above = up.reshape(-1, channels) if up is not None else None
    out = np.zeros_like(pixels)
    left = np.zeros(channels, dtype=np.int32)
    upper_left = np.zeros(channels, dtype=np.int32)
    for x in range(pixels.shape[0]):
        if average:
            assert above is not None
            value = (pixels[x] + (left + above[x]) // 2) & 255
        elif paeth:
            assert above is not None
            b = above[x]
            p = left + b - upper_left
            pa, pb, pc = np.abs(p - left), np.abs(p - b), np.abs(p - upper_left)
            predictor = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, b, upper_left))
            value = (pixels[x] + predictor) & 255
            upper_left = b
        else:
            value = op(left, pixels[x])
        out[x] = value
        left = value
    return out.reshape(-1)


def test_decode_png_round_trip() -> None:
    # A 2×2 RGB image written with filter types 1 and 2, decoded back.
    pixels = np.array(
        [[[10, 20, 30], [40, 50, 60]], [[70, 80, 90], [100, 110, 120]]], dtype=np.uint8
    )
    row0 = bytes([1, 10, 20, 30, 30, 30, 30])  # Sub: second pixel stored as the difference
    row1 = bytes([2, 60, 60, 60, 60, 60, 60])  # Up: both pixels stored as the difference
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row0 + row1))
    png += chunk(b"IEND", b"")
    assert decode_png(png).tolist() == pixels.tolist()


# --------------------------------------------------------------------------- fixtures


def _sample(n_demand: int = 3000, seed: int = 3) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    centres = np.array([[104.07, 30.67], [108.94, 34.34], [117.0, 36.65], [119.97, 31.81]])
    which = rng.integers(0, len(centres), n_demand)
    lon = centres[which, 0] + rng.normal(0, 0.8, n_demand)
    lat = centres[which, 1] + rng.normal(0, 0.6, n_demand)
    demand = gpd.GeoDataFrame(
        {"id": [f"d{i}" for i in range(n_demand)], "weight": rng.gamma(2.0, 1.0, n_demand)},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    sites = gpd.GeoDataFrame(
        {
            "id": ["hub1", "st1", "st2", "pt1", "pa1", "comp1", "cl1"],
            "name": [
                HOSTILE,
                "Xi'an station",
                "济南服务站",
                "Point <b>",
                "Partner & co",
                "Rival",
                "Old",
            ],
            "tier": [
                "regional_hub",
                "city_station",
                "city_station",
                "community_point",
                "partner",
                None,
                "city_station",
            ],
            "status": [
                "existing",
                "existing",
                "candidate",
                "existing",
                "candidate",
                "competitor",
                "closed",
            ],
        },
        geometry=gpd.points_from_xy(
            [104.07, 108.94, 117.0, 119.97, 112.0, 113.0, 110.0],
            [30.67, 34.34, 36.65, 31.81, 33.0, 34.0, 32.0],
        ),
        crs=4326,
    )
    return demand, sites


class _Coverage:
    def __init__(self, demand: gpd.GeoDataFrame) -> None:
        self.points = pd.DataFrame(
            {
                "id": demand["id"],
                "lon": demand.geometry.x,
                "lat": demand.geometry.y,
                "weight": demand["weight"],
                "covering_site": ["hub1"] * len(demand),
            }
        )
        self.blindspots = gpd.GeoDataFrame(
            {
                "zone_id": [HOSTILE, "z2"],
                "n_points": [10, 4],
                "weight": [25.0, 5.0],
                "area_km2": [120.0, 30.0],
                "nearest_site": [HOSTILE, "st1"],
                "distance_km": [80.0, 60.0],
            },
            geometry=[shapely.box(112, 28, 113, 29), shapely.box(115, 33, 115.5, 33.5)],
            crs=4326,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "total_weight": 100.0,
            "coverage_rate": 0.8,
            "weighted_coverage_rate": 0.75,
            "distance_km": {"p95": 42.0},
            "n_blindspots": 2,
        }


@pytest.fixture(scope="module")
def offline_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demand, sites = _sample()
    path = tmp_path_factory.mktemp("map") / "map.html"
    network_map(
        demand, sites, default_scenario(), coverage=_Coverage(demand), offline=True
    ).to_file(path)
    return path


DOM_PROBE = """
(() => {
  var map = Object.keys(window).filter(k => k.startsWith("map_")).map(k => window[k])
      .find(v => typeof L !== "undefined" && v instanceof L.Map);
  var kinds = {};
  if (map) {
    map.eachLayer(l => {
      var kind = l.options && l.options.npKind;
      if (kind) { kinds[kind] = (kinds[kind] || 0) + 1; }
    });
  }
  var note = document.querySelector(".np-tile-note");
  return {
    leaflet: typeof L !== "undefined" && typeof L.heatLayer === "function",
    zoom: map ? map.getZoom() : null,
    overlays: Array.from(document.querySelectorAll(".leaflet-control-layers-overlays label"))
        .map(e => e.textContent.trim()),
    checked: Array.from(document.querySelectorAll(".leaflet-control-layers-overlays input"))
        .map(e => e.checked),
    bases: Array.from(document.querySelectorAll(".leaflet-control-layers-base label"))
        .map(e => e.textContent.trim()),
    sites: document.querySelectorAll(".np-site").length,
    proposed: document.querySelectorAll(".np-status-proposed").length,
    candidates: kinds.candidate || 0,
    competitors: kinds.competitor || 0,
    zones: kinds.zone || 0,
    provinces: kinds.province || 0,
    cities: kinds.city || 0,
    places: Array.from(document.querySelectorAll(".np-place")).map(e => e.textContent),
    heat: document.querySelectorAll("canvas.leaflet-heatmap-layer").length,
    legend: (document.querySelector(".np-legend") || {}).textContent || "",
    kpis: (document.querySelector(".np-kpis") || {}).textContent || "",
    note: note ? [getComputedStyle(note).display !== "none", note.textContent] : null,
    scale: document.querySelectorAll(".leaflet-control-scale").length,
    injected: document.querySelectorAll("img[src='x']").length,
    alerts: window.__alerts || 0
  };
})()
"""

#: Land, background and province-border colours of the offline basemap (netplan.maps).
LAND = (248, 246, 240)
BACKGROUND = (221, 228, 234)


def _share(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 4) -> float:
    """Return the share of pixels within ``tolerance`` of ``colour`` in every channel."""
    rgb = image[:, :, :3].astype(np.int32)
    return float((np.abs(rgb - np.array(colour)).max(axis=2) <= tolerance).mean())


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method = event.get("method")
        params = event.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(json.dumps(params.get("args", []))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            found.append(params["entry"].get("text", "")[:500])
    return found


def _requests(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]


@pytest.fixture(scope="module")
def loaded(
    chromium: str, offline_map: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("profile")
    yield load_page(chromium, offline_map, profile, expression=DOM_PROBE)


def test_offline_map_has_no_javascript_errors(loaded: Any) -> None:
    _, events, _ = loaded
    assert _errors(events) == []


def test_offline_map_loads_nothing_from_the_network(loaded: Any, offline_map: Path) -> None:
    _, events, _ = loaded
    urls = _requests(events)
    assert urls, "the DevTools network log saw no request at all"
    assert all(url.startswith(("file:", "data:")) for url in urls), urls


def test_offline_map_layers_exist_in_the_dom(loaded: Any) -> None:
    value, _, _ = loaded
    assert value["leaflet"] is True
    assert value["overlays"][:4] == [
        "Province and city borders",
        "Place names",
        "Demand (heat map)",
        "Blind spots",
    ]
    for name in (
        "Regional hub: sites",
        "Regional hub: service radius",
        "City station: sites",
        "Community point: sites",
        "Candidate sites",
        "Competitors",
    ):
        assert name in value["overlays"]
    assert len(value["checked"]) == len(value["overlays"]) and all(value["checked"])
    assert value["bases"] == []  # no web tiles offered
    assert value["sites"] == 4  # three existing outlets and a closed one, as icons
    assert value["candidates"] == 2  # on the canvas, shown (no plan)
    assert value["competitors"] == 1
    assert value["zones"] == 2
    assert value["heat"] == 1
    assert value["scale"] == 1
    assert "Legend" in value["legend"] and "Competitor" in value["legend"]
    assert "75.0%" in value["kpis"]


def test_hostile_names_stay_text_in_the_browser(loaded: Any) -> None:
    value, _, _ = loaded
    assert value["injected"] == 0


def test_offline_map_draws_its_own_basemap(loaded: Any) -> None:
    value, _, png = loaded
    assert value["provinces"] == 34
    assert value["cities"] == 0  # city borders only from zoom 7
    assert value["zoom"] < 7
    for name in ("Sichuan", "Shaanxi", "Shandong", "Jiangsu"):
        assert name in value["places"]
    assert "Province border" in value["legend"] and "Service radius" in value["legend"]
    image = decode_png(png)
    # China's land is drawn (light fill) on a distinct background, with no tiles.
    assert _share(image, LAND) > 0.05
    assert _share(image, BACKGROUND) > 0.01


def test_screenshot_is_not_blank(loaded: Any) -> None:
    _, _, png = loaded
    image = decode_png(png)
    assert image.shape[0] == 200 and image.shape[1] == 300
    colours = np.unique(image[:, :, :3].reshape(-1, 3), axis=0)
    assert len(colours) > 200, f"only {len(colours)} distinct colours: the map looks blank"
    # The heat map and markers put saturated colours on the page, not only greys.
    rgb = image[:, :, :3].astype(np.int32)
    saturated = (rgb.max(axis=2) - rgb.min(axis=2)) > 80
    assert saturated.mean() > 0.002


def test_chinese_map_shows_chinese_labels(chromium: str, tmp_path: Path) -> None:
    demand, sites = _sample(500)
    path = tmp_path / "map_zh.html"
    network_map(demand, sites, default_scenario(), lang="zh", offline=True).to_file(path)
    value, events, _ = load_page(
        chromium, path, tmp_path / "profile", expression=DOM_PROBE, settle=0.5
    )
    assert _errors(events) == []
    assert "区域服务中心：网点" in value["overlays"]
    assert "服务需求（热力图）" in value["overlays"]
    assert "省界与市界" in value["overlays"] and "地名" in value["overlays"]
    assert "四川" in value["places"] and "Sichuan" not in value["places"]
    assert "图例" in value["legend"] and "省界" in value["legend"]
    assert value["injected"] == 0


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "national"


def test_report_opens_without_errors_or_network(chromium: str, tmp_path: Path) -> None:
    from netplan.coverage import coverage_from_points
    from netplan.report import read_coverage_outputs, report_html
    from netplan.scoring import score_sites

    demand, sites = _sample(800)
    scenario = default_scenario()
    sites = sites.assign(fixed_cost=1000.0, capacity=np.inf)
    coverage_from_points(demand, sites, scenario).to_files(tmp_path / "coverage")
    scores = score_sites(demand, sites, scenario).scores
    page = tmp_path / "report.html"
    page.write_text(
        report_html(
            coverage=read_coverage_outputs(tmp_path / "coverage"), scores=scores, lang="zh"
        ),
        encoding="utf-8",
    )
    value, events, png = load_page(
        chromium, page, tmp_path / "profile", expression=REPORT_PROBE, settle=0.3
    )
    assert _errors(events) == []
    assert all(url.startswith(("file:", "data:")) for url in _requests(events))
    assert value["sections"][0] == "summary"
    assert "scores" in value["sections"]
    assert value["cards"] >= 2  # coverage and blind spots (no plan given)
    assert value["charts"] == 1  # the distance curve, drawn and embedded
    assert value["drawn"] == value["images"]  # every embedded image decoded and laid out
    assert value["injected"] == 0
    assert len(np.unique(decode_png(png)[:, :, :3].reshape(-1, 3), axis=0)) > 20


#: What the report tests read from the page: sections, summary cards, embedded images.
REPORT_PROBE = """
(() => {
  const images = Array.from(document.querySelectorAll("img"));
  const summary = document.querySelector("#summary");
  return {
    sections: Array.from(document.querySelectorAll("section")).map(s => s.id),
    cards: document.querySelectorAll("#summary .card").length,
    summaryTop: summary ? summary.getBoundingClientRect().top : -1,
    summaryText: summary ? summary.innerText : "",
    charts: document.querySelectorAll("img.chart").length,
    maps: document.querySelectorAll("img.map").length,
    images: images.length,
    drawn: images.filter(i => i.complete && i.naturalWidth > 100 && i.naturalHeight > 100).length,
    injected: images.filter(i => !i.src.startsWith("data:image/svg+xml;base64,")).length
  };
})()
"""


@pytest.mark.slow
@pytest.mark.skipif(not (SAMPLES / "sites.csv").exists(), reason="national sample not present")
def test_demo_report_in_the_browser(chromium: str, tmp_path: Path) -> None:
    """The demo's report: the summary on the first screen, the map and charts embedded."""
    from netplan.demo import run_demo

    result = run_demo(tmp_path / "demo", time_limit=60.0)
    page = result.outputs["report"]
    value, events, png = load_page(
        chromium, page, tmp_path / "profile", expression=REPORT_PROBE, settle=0.5
    )
    (tmp_path / "report.png").write_bytes(png)
    assert _errors(events) == []
    assert all(url.startswith(("file:", "data:")) for url in _requests(events))
    assert value["sections"][:2] == ["summary", "map"]
    assert 0 <= value["summaryTop"] < 200  # the argument comes first
    assert value["cards"] == 4  # coverage, new cost against the budget, sites, blind spots
    assert "CNY" in value["summaryText"] and "per year" in value["summaryText"]
    assert "budget CNY 15.0 M" in value["summaryText"]
    assert value["maps"] == 1 and value["charts"] >= 1
    assert value["drawn"] == value["images"] >= 2
    assert value["injected"] == 0
    assert len(np.unique(decode_png(png)[:, :, :3].reshape(-1, 3), axis=0)) > 50


@pytest.mark.skipif(not (SAMPLES / "sites.csv").exists(), reason="national sample not present")
def test_national_sample_map_in_the_browser(chromium: str, tmp_path: Path) -> None:
    from netplan.config import load_scenario
    from netplan.coverage import coverage_from_points
    from netplan.io import read_installed_base, read_sites

    scenario = load_scenario(SAMPLES / "scenario.toml")
    demand = read_installed_base(SAMPLES / "installed_base.csv", scenario=scenario)
    sites = read_sites(SAMPLES / "sites.csv", scenario=scenario)
    coverage = coverage_from_points(demand, sites, scenario)
    path = network_map(demand, sites, scenario, coverage=coverage, offline=True).to_file(
        tmp_path / "national.html"
    )
    assert path.stat().st_size < 5_000_000
    value, events, png = load_page(chromium, path, tmp_path / "profile", expression=DOM_PROBE)
    assert _errors(events) == []
    assert all(url.startswith(("file:", "data:")) for url in _requests(events))
    assert value["sites"] + value["candidates"] + value["competitors"] == len(sites)
    assert value["zones"] == min(1000, len(coverage.blindspots))
    assert value["provinces"] == 34
    assert value["heat"] == 1
    assert len(np.unique(decode_png(png)[:, :, :3].reshape(-1, 3), axis=0)) > 200


def test_report_prints_to_pdf(chromium: str, tmp_path: Path) -> None:
    from netplan.report import report_html, report_pdf

    page = tmp_path / "report.html"
    page.write_text(report_html(lang="en", title=HOSTILE), encoding="utf-8")
    pdf = report_pdf(page, tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 1000


class _Plan:
    """A plan opening the candidate station st2 and leaving the partner pa1 unselected."""

    def __init__(self) -> None:
        self.sites = pd.DataFrame(
            {
                "id": ["hub1", "st1", "st2", "pt1", "pa1", "cl1"],
                "decision": ["kept", "kept", "opened", "kept", "not_selected", "closed"],
                "assigned_weight": [10.0, 5.0, 4.0, 1.0, 0.0, 0.0],
            }
        )

    def summary(self) -> dict[str, Any]:
        return {
            "before": {"weighted_coverage_rate": 0.5},
            "after": {"weighted_coverage_rate": 0.75},
        }


TOPMOST_PROBE = """
(() => Array.from(document.querySelectorAll(".np-status-proposed")).map(el => {
  var r = el.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
  var hit = document.elementFromPoint(x, y);
  return [r.width, x >= 0 && x <= innerWidth && y >= 0 && y <= innerHeight,
          !!hit && el.contains(hit)];
}))()
"""


def test_plan_map_shows_new_sites_on_top_and_hides_candidates(
    chromium: str, tmp_path: Path
) -> None:
    demand, sites = _sample(800)
    path = tmp_path / "plan.html"
    network_map(
        demand, sites, default_scenario(), coverage=_Coverage(demand), plan=_Plan()
    ).to_file(path)
    both = f"var v = {DOM_PROBE.strip()}; v.topmost = {TOPMOST_PROBE.strip()}; return v;"
    probe = f"(() => {{ {both} }})()"
    value, events, _ = load_page(chromium, path, tmp_path / "profile", expression=probe)
    assert _errors(events) == []
    assert all(url.startswith(("file:", "data:")) for url in _requests(events))
    overlays = dict(zip(value["overlays"], value["checked"], strict=True))
    assert overlays["New sites (plan)"] is True
    assert overlays["Candidates not selected"] is False
    assert value["proposed"] == 1 and value["candidates"] == 0  # hidden at opening
    # The new site is large, in view, and nothing is drawn over it.
    assert value["topmost"] == [[28, True, True]]
    assert "Candidates not selected are hidden" in value["legend"]


CITY_PROBE = """
(() => {
  var map = Object.keys(window).filter(k => k.startsWith("map_")).map(k => window[k])
      .find(v => v instanceof L.Map);
  map.setView([30.67, 104.07], 8, {animate: false});
  var cities = 0;
  map.eachLayer(l => { if (l.options && l.options.npKind === "city") { cities += 1; } });
  return {zoom: map.getZoom(), cities: cities,
          places: Array.from(document.querySelectorAll(".np-place")).map(e => e.textContent)};
})()
"""


def test_zoomed_in_the_map_shows_city_borders_and_names(
    chromium: str, offline_map: Path, tmp_path: Path
) -> None:
    value, events, _ = load_page(
        chromium, offline_map, tmp_path / "profile", expression=CITY_PROBE, settle=0.5
    )
    assert _errors(events) == []
    assert value["zoom"] == 8
    assert value["cities"] == 370
    assert "成都市" in value["places"]


def test_online_map_without_internet_still_works_and_says_so(chromium: str, tmp_path: Path) -> None:
    demand, sites = _sample(500)
    path = tmp_path / "online.html"
    network_map(demand, sites, default_scenario(), tiles=["amap", "osm"]).to_file(path)
    value, events, png = load_page(
        chromium, path, tmp_path / "profile", expression=DOM_PROBE, settle=2.5
    )
    # The tiles were asked for and failed; nothing else went to the network.
    outside = [u for u in _requests(events) if not u.startswith(("file:", "data:"))]
    assert outside and all(".is.autonavi.com/appmaptile" in u for u in outside), outside[:5]
    failed = [e for e in _errors(events) if "ERR_INTERNET_DISCONNECTED" not in e]
    assert failed == []
    assert value["bases"] == [
        "AMap (GaoDe) streets",
        "OpenStreetMap",
        "No tiles (offline outlines)",
    ]
    assert value["note"] is not None and value["note"][0] is True
    assert "could not be loaded" in value["note"][1]
    assert value["provinces"] == 34 and value["sites"] > 0
    # The outlines' land shows through where the tiles are missing.
    assert _share(decode_png(png), LAND) > 0.05


GCJ_PROBE = """
(() => {
  var map = Object.keys(window).filter(k => k.startsWith("map_")).map(k => window[k])
      .find(v => v instanceof L.Map);
  var points = %s;
  var moved = points.map(p => netplan.gcj02(p[0], p[1]));
  // The shifted tile layer asks for the tiles of the GCJ-02 image of the map centre.
  var centre = L.latLng(31.23, 121.47), zoom = 15;
  var plain = L.tileLayer(""), shifted = netplan.tileLayer({url: "", gcj02: true, options: {}});
  [plain, shifted].forEach(l => { l._map = map; l._tileZoom = zoom; });
  map.setView(centre, zoom, {animate: false});
  var a = plain._getTiledPixelBounds(centre).min, b = shifted._getTiledPixelBounds(centre).min;
  var g = netplan.gcj02(centre.lng, centre.lat);
  var expected = map.project(L.latLng(g[1], g[0]), zoom).subtract(map.project(centre, zoom));
  return {moved: moved, shift: [b.x - a.x, b.y - a.y], expected: [expected.x, expected.y]};
})()
"""


def test_gcj02_shift_in_the_page_matches_netplan_chinacrs(
    chromium: str, offline_map: Path, tmp_path: Path
) -> None:
    from netplan.chinacrs import wgs84_to_gcj02

    points = [[116.397, 39.909], [121.47, 31.23], [104.07, 30.67], [87.6, 43.8], [2.35, 48.85]]
    value, events, _ = load_page(
        chromium,
        offline_map,
        tmp_path / "profile",
        expression=GCJ_PROBE % json.dumps(points),
        settle=0.3,
    )
    assert _errors(events) == []
    lon, lat = wgs84_to_gcj02([p[0] for p in points], [p[1] for p in points])
    assert np.allclose(np.array(value["moved"]), np.column_stack([lon, lat]), atol=1e-9, rtol=0)
    assert value["moved"][-1] == points[-1]  # outside China: no offset
    # At zoom 15 the offset in Shanghai is tens of pixels; the tile grid moves by it.
    assert np.hypot(*value["expected"]) > 10
    assert np.allclose(value["shift"], np.floor(value["expected"]), atol=1.0)


@pytest.mark.slow
def test_demo_map_offline_in_the_browser(chromium: str, tmp_path: Path) -> None:
    from netplan.demo import run_demo

    result = run_demo(tmp_path / "demo")
    path = result.outputs["map"]
    assert path.stat().st_size < 3_500_000
    value, events, png = load_page(
        chromium, path, tmp_path / "profile", expression=DOM_PROBE, settle=2.0, scale=1.0
    )
    (tmp_path / "demo_map.png").write_bytes(png)
    assert _errors(events) == []
    assert all(url.startswith(("file:", "data:")) for url in _requests(events))
    assert value["provinces"] == 34 and "Sichuan" in value["places"]
    opened = int((result.plan.sites["decision"] == "opened").sum())
    assert value["proposed"] == opened > 0
    overlays = dict(zip(value["overlays"], value["checked"], strict=True))
    assert overlays["New sites (plan)"] is True and overlays["Candidates not selected"] is False
    image = decode_png(png)
    assert _share(image, LAND) > 0.05
