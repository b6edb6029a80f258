"""Folium maps of a service network: sites by tier, radii, demand heat, blind spots.

:func:`network_map` draws any combination of demand points, sites, a coverage
result and a plan on one Leaflet map, as a planner reads it:

* a basemap of its own: the provinces of China (and their cities once zoomed
  in, from zoom 7) from :mod:`netplan.boundaries`, drawn as light outlines
  with the province names as labels, so the map reads with no tiles at all;
* one toggleable layer per tier, each with its own colour and marker shape;
  the status shows in the marker (existing and required: filled; closed: grey
  with a red cross); the sites a plan opens in a layer of their own, large
  and on top; candidates (those a plan did not select) as small hollow
  circles on a canvas, in a layer hidden at opening when a plan is drawn;
  competitors as grey dots in their own layer;
* the service radius of every active site, one layer per tier (hidden at
  opening when a tier has many sites), with the radii in the legend;
* demand as a heat map on a sequential, colour-blind-safe scale (viridis),
  aggregated on a longitude/latitude grid so a million points still open fast;
* blind-spot zones as red polygons drawn above the heat map, darker for more
  uncovered demand;
* a legend, a panel of key figures, a layer control, a scale bar, and
  tooltips and popups (id, name, tier, status, assigned demand, score).

Every exported map is **offline**: Leaflet, the heat-map plugin and the
outlines are inlined and the page loads nothing from the network. Web tiles
are an opt-in extra (``tiles=`` here, ``--online``/``--tiles`` on the command
line): a base layer under the outlines, with AMap (GaoDe) tiles that work in
mainland China shifted from GCJ-02 to WGS84 as the map moves (see
``docs/methods.md``); when tiles fail to load, the map still works and says
so in a small note.

Every user string (site ids and names, tier labels, scenario names) is
escaped with :func:`html.escape` before it reaches the page, and every data
block is embedded as HTML-safe JSON, so a site named
``<img src=x onerror=alert(1)>`` shows as text.

Output is byte-identical for the same input: folium's random element ids are
replaced by a counter while the map is built and rendered.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import importlib.resources
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import branca.element
import folium
import numpy as np
import pandas as pd
import shapely
from folium.plugins import HeatMap
from folium.template import Template

from netplan.boundaries import boundary_source
from netplan.boundaries import outlines as boundary_outlines
from netplan.chinacrs import in_china
from netplan.config import Scenario, default_scenario
from netplan.errors import InputError
from netplan.i18n import check_lang, text
from netplan.io import write_text
from netplan.results import CoverageLike, PlanLike

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import NDArray

__all__ = [
    "COMPETITOR_COLOUR",
    "DEFAULT_TILES",
    "HEAT_GRADIENT",
    "TIER_COLOURS",
    "TIER_SHAPES",
    "TILE_PROVIDERS",
    "NetworkMap",
    "TileProvider",
    "add_roadmap_layers",
    "aggregate_heat",
    "display_status",
    "network_map",
    "write_map",
]

#: Colours given to tiers in scenario order (colour-blind-friendly, Okabe-Ito based).
TIER_COLOURS = ("#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#8c564b")
#: Marker shapes given to tiers in scenario order.
TIER_SHAPES = ("diamond", "square", "circle", "triangle", "star", "hexagon", "triangle_down")
#: Colour of competitors' outlets.
COMPETITOR_COLOUR = "#6b6b6b"
#: Statuses a site shows on the map, in legend order.
DISPLAY_STATUSES = ("existing", "required", "proposed", "candidate", "closed")
#: Markers drawn above others (Leaflet z-index offsets): new sites, then the network.
_FRONT = {"proposed": 2000, "existing": 1000, "required": 1000, "closed": 500}
#: Blind-spot colour ramp, light to dark (more uncovered demand).
BLINDSPOT_COLOURS = ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")
#: Demand heat-map colours by density (0-1 keys): viridis, sequential and readable with
#: every common colour-vision deficiency and in grey, from light yellow (little demand)
#: to deep blue (most), so that more demand reads darker on the light basemap. It has
#: no red: red belongs to the blind spots, drawn above it.
HEAT_GRADIENT: Mapping[float, str] = {
    0.2: "#fde725",
    0.4: "#7ad151",
    0.6: "#22a884",
    0.8: "#2a788e",
    1.0: "#414487",
}

# The offline basemap: land, borders and names (colours of a light, quiet base).
_LAND_COLOUR = "#f8f6f0"
_BACKGROUND_COLOUR = "#dde4ea"
_PROVINCE_BORDER = "#8a939c"
_CITY_BORDER = "#b9c0c7"
#: Zoom from which city borders show (city names from one level deeper).
CITY_OUTLINE_MIN_ZOOM = 7
_CITY_LABEL_MIN_ZOOM = 8
#: Simplification of the drawn outlines (km): under a pixel up to zoom 6; keeps files small.
OUTLINE_TOLERANCE_KM = 2.0
#: Outline vertices are written as integer steps of this many degrees (~110 m).
_OUTLINE_QUANTUM = 0.001

#: Short province names for labels, by the first two digits of the code: (English, Chinese).
_PROVINCE_LABELS = {
    "11": ("Beijing", "北京"),
    "12": ("Tianjin", "天津"),
    "13": ("Hebei", "河北"),
    "14": ("Shanxi", "山西"),
    "15": ("Inner Mongolia", "内蒙古"),
    "21": ("Liaoning", "辽宁"),
    "22": ("Jilin", "吉林"),
    "23": ("Heilongjiang", "黑龙江"),
    "31": ("Shanghai", "上海"),
    "32": ("Jiangsu", "江苏"),
    "33": ("Zhejiang", "浙江"),
    "34": ("Anhui", "安徽"),
    "35": ("Fujian", "福建"),
    "36": ("Jiangxi", "江西"),
    "37": ("Shandong", "山东"),
    "41": ("Henan", "河南"),
    "42": ("Hubei", "湖北"),
    "43": ("Hunan", "湖南"),
    "44": ("Guangdong", "广东"),
    "45": ("Guangxi", "广西"),
    "46": ("Hainan", "海南"),
    "50": ("Chongqing", "重庆"),
    "51": ("Sichuan", "四川"),
    "52": ("Guizhou", "贵州"),
    "53": ("Yunnan", "云南"),
    "54": ("Tibet", "西藏"),
    "61": ("Shaanxi", "陕西"),
    "62": ("Gansu", "甘肃"),
    "63": ("Qinghai", "青海"),
    "64": ("Ningxia", "宁夏"),
    "65": ("Xinjiang", "新疆"),
    "71": ("Taiwan", "台湾"),
    "81": ("Hong Kong", "香港"),
    "82": ("Macao", "澳门"),
}


@dataclass(frozen=True)
class TileProvider:
    """A web tile source offered as a base layer under the outlines.

    Attributes
    ----------
    url
        Leaflet URL template (``{s}``, ``{z}``, ``{x}``, ``{y}``).
    attribution
        Attribution HTML (trusted: netplan's own).
    subdomains
        Values of ``{s}``.
    max_zoom
        Deepest zoom the source serves.
    gcj02
        Whether the tiles are drawn in GCJ-02 (Chinese providers): the layer is
        then shifted by the offset at the map centre so that WGS84 data sit right.
    label_key
        Key of its name in :mod:`netplan.i18n`.
    """

    url: str
    attribution: str
    subdomains: str
    max_zoom: int
    gcj02: bool
    label_key: str


_AMAP_ATTRIBUTION = "&copy; AutoNavi 高德地图"
_OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
#: Tile sources for ``tiles=`` / ``--tiles``, by name. AMap (GaoDe) serves mainland China.
TILE_PROVIDERS: Mapping[str, TileProvider] = {
    "amap": TileProvider(
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}",
        _AMAP_ATTRIBUTION,
        "1234",
        18,
        True,
        "base_amap",
    ),
    "amap_satellite": TileProvider(
        "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
        _AMAP_ATTRIBUTION,
        "1234",
        18,
        True,
        "base_amap_satellite",
    ),
    "osm": TileProvider(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        _OSM_ATTRIBUTION,
        "",
        19,
        False,
        "base_osm",
    ),
    # CartoDB positron, named by URL: xyzservices' provider entry now asks for an API key.
    "positron": TileProvider(
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
        _OSM_ATTRIBUTION + ' &copy; <a href="https://carto.com/attributions">CARTO</a>',
        "abcd",
        20,
        False,
        "base_positron",
    ),
}
#: Tiles offered by ``offline=False`` / ``--online`` (the first is shown at opening).
DEFAULT_TILES = ("amap", "osm", "positron")


# --------------------------------------------------------------------------- deterministic ids

_ID_LOCK = threading.RLock()


@contextlib.contextmanager
def _counter_ids(prefix: str) -> Iterator[None]:
    """Make branca/folium element ids a counter (``prefix`` + n) inside the block."""
    counter = iter(range(1, 1 << 62))

    def generate(cls: type) -> str:
        return f"{prefix}{next(counter)}"

    with _ID_LOCK:
        original = branca.element.Element.__dict__["_generate_id"]
        branca.element.Element._generate_id = classmethod(generate)  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            branca.element.Element._generate_id = original  # type: ignore[method-assign]


# --------------------------------------------------------------------------- raw page pieces


class _Raw(branca.element.Element):
    """A piece of HTML put into the page as it is (no template parsing)."""

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "Raw"
        self.content = content

    def render(self, **kwargs: Any) -> str:
        return self.content


class _Script(folium.MacroElement):
    """JavaScript run with a JSON data block, adding its layers to the parent layer.

    The code sees ``layer`` (the parent: a feature group, or the map), ``map``
    and ``data``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(layer, map, data) {
        {{ this.code }}
        })({{ this._parent.get_name() }}, {{ this.map_name }}, {{ this.data_json }});
        {% endmacro %}
        """
    )

    def __init__(self, code: str, data: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Script"
        self.code = code
        self.data = data

    @property
    def data_json(self) -> str:
        """The data as JSON that is safe in a script and inert to template parsing."""
        return _script_json(self.data)

    @property
    def map_name(self) -> str:
        """The JavaScript name of the map this script is drawn on."""
        element: Any = self._parent
        while element is not None and not isinstance(element, folium.Map):
            element = getattr(element, "_parent", None)
        if element is None:  # pragma: no cover - scripts are always added under a map
            msg = "a map script must be added to a map or one of its layers"
            raise RuntimeError(msg)
        return str(element.get_name())


class _Tiles(folium.map.Layer):
    """A web tile layer, a base layer under the outlines (shifted to WGS84 for GCJ-02 tiles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = netplan.tileLayer({{ this.spec_json }});
        {% endmacro %}
        """
    )

    def __init__(self, provider: TileProvider, name: str, *, show: bool) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "Tiles"
        self.spec = {
            "url": provider.url,
            "gcj02": provider.gcj02,
            "options": {
                "attribution": provider.attribution,
                "subdomains": provider.subdomains or "abc",
                "maxZoom": provider.max_zoom,
                "maxNativeZoom": provider.max_zoom,
            },
        }

    @property
    def spec_json(self) -> str:
        """The layer's URL and options as script-safe JSON."""
        return _script_json(self.spec)


class _Control(folium.MacroElement):
    """A Leaflet control holding trusted, pre-escaped HTML (legend, key figures)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function() {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.content_json }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, content: str, *, position: str, css_class: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Control"
        self.content = content
        self.position = position
        self.css_class = css_class

    @property
    def content_json(self) -> str:
        """The content as a JSON string, safe in a script and inert to template parsing."""
        return _script_json(self.content)


#: netplan's own page helpers, inlined after Leaflet: the WGS84 → GCJ-02 offset (the
#: formula of :func:`netplan.chinacrs.wgs84_to_gcj02`), the shifted tile layer for
#: Chinese tiles, the decoder of the outlines and the zoom gate of detail layers.
_HELPERS_JS = """
var netplan = (function() {
"use strict";
var PI = Math.PI, A = 6378245.0, EE = 0.00669342162296594323;
function inChina(lon, lat) {
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}
function gcj02(lon, lat) {
    if (!inChina(lon, lat)) { return [lon, lat]; }
    var x = lon - 105.0, y = lat - 35.0, root = Math.sqrt(Math.abs(x));
    var common = (20 * Math.sin(6 * PI * x) + 20 * Math.sin(2 * PI * x)) * 2 / 3;
    var dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + common;
    dLat += (20 * Math.sin(PI * y) + 40 * Math.sin(PI * y / 3)) * 2 / 3;
    dLat += (160 * Math.sin(PI * y / 12) + 320 * Math.sin(PI * y / 30)) * 2 / 3;
    var dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + common;
    dLon += (20 * Math.sin(PI * x) + 40 * Math.sin(PI * x / 3)) * 2 / 3;
    dLon += (150 * Math.sin(PI * x / 12) + 300 * Math.sin(PI * x / 30)) * 2 / 3;
    var radLat = lat * PI / 180, magic = 1 - EE * Math.sin(radLat) * Math.sin(radLat);
    var sqrtMagic = Math.sqrt(magic);
    dLat = dLat * 180 / ((A * (1 - EE)) / (magic * sqrtMagic) * PI);
    dLon = dLon * 180 / (A / sqrtMagic * Math.cos(radLat) * PI);
    return [lon + dLon, lat + dLat];
}
function toGcj(center) {
    var moved = gcj02(center.lng, center.lat);
    return L.latLng(moved[1], moved[0]);
}
// GCJ-02 tiles show a place at its GCJ-02 position. Drawing the tile grid as if the
// map were centred on the GCJ-02 image of its WGS84 centre moves every tile back by
// the offset there: exact at the centre, and the offset changes by a few metres per
// kilometre, so the error stays under a pixel at any zoom.
var GcjTileLayer = L.TileLayer.extend({
    _setZoomTransform: function(level, center, zoom) {
        L.TileLayer.prototype._setZoomTransform.call(this, level, toGcj(center), zoom);
    },
    _getTiledPixelBounds: function(center) {
        return L.TileLayer.prototype._getTiledPixelBounds.call(this, toGcj(center));
    }
});
var tiles = {note: null};
function showNote(show) {
    if (tiles.note) { tiles.note.style.display = show ? "" : "none"; }
}
function tileLayer(spec) {
    var Layer = spec.gcj02 ? GcjTileLayer : L.TileLayer;
    var layer = new Layer(spec.url, spec.options);
    layer.npLoaded = 0;
    layer.on("tileload", function() { layer.npLoaded += 1; showNote(false); });
    layer.on("tileerror", function() { if (!layer.npLoaded) { showNote(true); } });
    return layer;
}
// A ring is [x0, y0, dx1, dy1, ...] in steps of `quantum` degrees (x: lon, y: lat).
function rings(polygon, quantum) {
    return polygon.map(function(ring) {
        var out = [], x = 0, y = 0;
        for (var i = 0; i < ring.length; i += 2) {
            x += ring[i];
            y += ring[i + 1];
            out.push([y * quantum, x * quantum]);
        }
        return out;
    });
}
// Keep `child` in `parent` only from zoom `minZoom` on.
function zoomGate(map, parent, child, minZoom) {
    function update() {
        if (map.getZoom() >= minZoom) { parent.addLayer(child); }
        else { parent.removeLayer(child); }
    }
    map.on("zoomend", update);
    update();
}
return {gcj02: gcj02, tileLayer: tileLayer, tiles: tiles, showNote: showNote, rings: rings,
        zoomGate: zoomGate};
})();
"""

#: Run first on the map: panes in drawing order, one canvas for the overlays, the tile note.
_SETUP_JS = """
data.panes.forEach(function(p) {
    var pane = map.createPane(p[0]);
    pane.style.zIndex = p[1];
    if (!p[2]) { pane.style.pointerEvents = "none"; }
});
// Blind spots, radii, candidates and competitors share one canvas above the heat map.
map.options.renderer = L.canvas({pane: "npVectors"});
if (data.note) {
    var note = L.control({position: "bottomleft"});
    note.onAdd = function() {
        var div = L.DomUtil.create("div", "np-panel np-tile-note");
        div.textContent = data.note;
        div.style.display = "none";
        netplan.tiles.note = div;
        return div;
    };
    note.addTo(map);
    map.on("baselayerchange", function() { netplan.showNote(false); });
}
if (data.attribution && map.attributionControl) {
    map.attributionControl.addAttribution(data.attribution);
}
"""

_OUTLINES_JS = """
data = netplanOutlines;  // a block of its own in the page head (see _add_outlines)
var land = L.canvas({pane: "npLand"}), lines = L.canvas({pane: "npBorders"});
var cityLines = L.canvas({pane: "npCityBorders"});
function shape(unit) {
    return unit.map(function(polygon) { return netplan.rings(polygon, data.quantum); });
}
data.provinces.forEach(function(unit) {
    var latlngs = shape(unit);
    L.polygon(latlngs, {
        renderer: land, stroke: false, fillColor: data.land, fillOpacity: 1, interactive: false
    }).addTo(layer);
    L.polygon(latlngs, {
        renderer: lines, color: data.province_border, weight: 1.2, opacity: 1, fill: false,
        interactive: false, npKind: "province"
    }).addTo(layer);
});
var cities = L.featureGroup();
data.cities.forEach(function(unit) {
    L.polygon(shape(unit), {
        renderer: cityLines, color: data.city_border, weight: 0.8, opacity: 1, fill: false,
        dashArray: "4 3", interactive: false, npKind: "city"
    }).addTo(cities);
});
netplan.zoomGate(map, layer, cities, data.city_min_zoom);
"""

_LABELS_JS = """
var groups = {};
data.labels.forEach(function(l) {
    var group = groups[l[3]] || (groups[l[3]] = L.layerGroup());
    L.marker([l[0], l[1]], {
        icon: L.divIcon({className: "np-place np-place-" + l[4], html: "<span>" + l[2] + "</span>",
                         iconSize: null}),
        pane: "npLabels", interactive: false, keyboard: false
    }).addTo(group);
});
Object.keys(groups).forEach(function(zoom) {
    netplan.zoomGate(map, layer, groups[zoom], Number(zoom));
});
"""

_SITES_JS = """
var icons = {};
Object.keys(data.icons).forEach(function(key) {
    var spec = data.icons[key];
    icons[key] = L.divIcon({
        html: spec[0], className: "np-site " + spec[1],
        iconSize: [spec[2], spec[2]], iconAnchor: [spec[2] / 2, spec[2] / 2]
    });
});
data.sites.forEach(function(s) {
    var marker = L.marker([s[0], s[1]], {
        icon: icons[s[2]], keyboard: false, zIndexOffset: data.icons[s[2]][3]
    });
    marker.bindTooltip(s[3]);
    marker.bindPopup(s[4], {maxWidth: 360});
    marker.addTo(layer);
});
"""

#: Many sites (candidates, competitors) as circles on the shared canvas: fast at any count.
_POINTS_JS = """
data.points.forEach(function(p) {
    var marker = L.circleMarker([p[0], p[1]], {
        radius: data.radius, color: data.colours[p[2]], weight: data.weight, opacity: 1,
        fillColor: data.fill || data.colours[p[2]], fillOpacity: data.fill_opacity,
        npKind: data.kind
    });
    marker.bindTooltip(p[3]);
    marker.bindPopup(p[4], {maxWidth: 360});
    marker.addTo(layer);
});
"""

_RADII_JS = """
data.centres.forEach(function(c) {
    L.circle([c[0], c[1]], {
        radius: c[2], color: data.colour, weight: 1.2, opacity: 0.8, dashArray: "5 4",
        fillColor: data.colour, fillOpacity: 0.05, interactive: false, npKind: "radius"
    }).addTo(layer);
});
"""

_ZONES_JS = """
L.geoJSON(data, {
    style: function(f) {
        return {color: "#8c0000", weight: 1.2, opacity: 0.9,
                fillColor: f.properties.c, fillOpacity: 0.6, npKind: "zone"};
    },
    onEachFeature: function(f, l) {
        l.bindTooltip(f.properties.t);
        l.bindPopup(f.properties.p, {maxWidth: 360});
    }
}).addTo(layer);
"""

#: Panes in drawing order: (name, z-index, takes pointer events). Leaflet's own: tiles
#: 200, overlays (the heat map) 400, markers (sites) 600, tooltips 650, popups 700.
_PANES = (
    ("npLand", 150, False),
    ("npCityBorders", 240, False),
    ("npBorders", 250, False),
    ("npVectors", 410, True),
    ("npLabels", 450, False),
)

_HEAT_CSS_GRADIENT = ", ".join(HEAT_GRADIENT.values())

_PAGE_CSS = """<style>
.leaflet-container { background: @BACKGROUND@;
  font: 12px/1.4 system-ui, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC",
  sans-serif; }
.leaflet-control-layers-expanded { padding: 6px 10px 6px 6px; }
.leaflet-control-layers label { margin: 1px 0; }
.leaflet-heatmap-layer { opacity: 0.85; }
.np-site { background: none; border: none; }
.np-site svg { display: block; overflow: visible; }
.np-status-proposed svg {
  filter: drop-shadow(0 0 1.5px #fff) drop-shadow(0 1px 2px rgba(0,0,0,.55)); }
.np-place span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  color: #4f5963; font-size: 13px; font-weight: 600; letter-spacing: 0.03em;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 4px #fff; }
.np-place-minor span { font-size: 11px; }
.np-place-city span { font-size: 11px; font-weight: 400; color: #67717b; }
.np-panel { background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); font: 12px/1.35 system-ui, "PingFang SC",
  "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; max-width: 300px; }
.np-panel h4 { margin: 0 0 4px; font-size: 13px; }
.np-panel table { border-collapse: collapse; }
.np-panel td { padding: 1px 4px; vertical-align: middle; }
.np-panel td.num { text-align: right; white-space: nowrap; }
.np-panel .np-note { color: #555; font-size: 11px; }
.np-tile-note { max-width: 340px; color: #7a4b00; background: rgba(255,248,225,0.96); }
.np-swatch { display: inline-block; width: 14px; height: 10px; border: 1px solid #555; }
.np-heat-bar { display: inline-block; width: 90px; height: 10px;
  background: linear-gradient(to right, @HEAT@); }
.np-popup td { padding: 1px 6px 1px 0; vertical-align: top; }
.np-popup th { text-align: left; padding-right: 6px; font-weight: 600; }
</style>""".replace("@BACKGROUND@", _BACKGROUND_COLOUR).replace("@HEAT@", _HEAT_CSS_GRADIENT)


# --------------------------------------------------------------------------- the result


@dataclass
class NetworkMap:
    """A built map and what it shows.

    Attributes
    ----------
    map
        The :class:`folium.Map` (render it with :meth:`html`, which keeps the
        output deterministic, rather than ``map.save``).
    layer_names
        Names of the overlay layers, in layer-control order (plain text).
    offline
        Whether the page opens with no network at all (no web tiles offered);
        Leaflet and everything drawn are inlined either way.
    lang
        ``"en"`` or ``"zh"``.
    tiles
        Names of the web tile layers offered (keys of :data:`TILE_PROVIDERS`).
    n_sites, n_heat_cells, n_zones
        What was drawn: sites (all statuses), aggregated heat-map cells,
        blind-spot zones.
    n_regions
        Province and city outlines drawn (0 when the data lie outside China).
    heat_cell_deg
        Size (degrees) of the grid the demand was aggregated to for the heat map.
    """

    map: folium.Map
    layer_names: list[str] = field(default_factory=list)
    offline: bool = True
    lang: str = "en"
    tiles: list[str] = field(default_factory=list)
    n_sites: int = 0
    n_heat_cells: int = 0
    n_zones: int = 0
    n_regions: int = 0
    heat_cell_deg: float | None = None

    def html(self) -> str:
        """Return the page as HTML text, byte-identical for the same input."""
        with _counter_ids("r"):
            return str(self.map.get_root().render())

    def summary(self) -> dict[str, Any]:
        """Return what the map shows as plain data."""
        return {
            "layers": list(self.layer_names),
            "offline": self.offline,
            "lang": self.lang,
            "tiles": list(self.tiles),
            "n_sites": self.n_sites,
            "n_heat_cells": self.n_heat_cells,
            "n_zones": self.n_zones,
            "n_regions": self.n_regions,
            "heat_cell_deg": self.heat_cell_deg,
        }

    def to_file(self, path: str | Path) -> Path:
        """Write the map to ``path`` atomically and return the path."""
        return write_text(path, self.html())


def write_map(network: NetworkMap, path: str | Path) -> Path:
    """Write a :class:`NetworkMap` to an HTML file atomically; return the path."""
    return network.to_file(path)


# --------------------------------------------------------------------------- helpers


def _esc(value: Any) -> str:
    """Return ``value`` as escaped HTML text (``None``/NaN as an empty string).

    Braces become character references too: folium parses every element's
    rendered script as a Jinja template once more, so user text such as
    ``{{ ... }}`` must never reach the page as braces.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


#: A Jinja start delimiter (``{{``, ``{%``, ``{#``): in JSON it occurs only inside strings.
_JINJA_START = re.compile(r"\{(?=[{%#])")


def _script_json(data: Any) -> str:
    r"""Return ``data`` as HTML-safe JSON (as Jinja's ``tojson``) with no Jinja delimiter.

    folium renders each element's script and then parses the result as a
    template again; a ``{`` that starts a delimiter is written ``\u007b``,
    which JavaScript reads back as ``{``.
    """
    from jinja2.utils import htmlsafe_json_dumps

    return _JINJA_START.sub(r"\\u007b", str(htmlsafe_json_dumps(data, sort_keys=True)))


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    if not math.isfinite(number):
        return "—"
    return f"{number:,.{digits}f}"


def _percent(value: Any) -> str:
    if value is None:
        return "—"
    number = float(value)
    return "—" if not math.isfinite(number) else f"{100 * number:.1f}%"


def _marker_svg(
    shape: str,
    size: int,
    fill: str,
    stroke: str,
    *,
    width: float = 1.5,
    dash: str | None = None,
    cross: bool = False,
) -> str:
    """Return an inline SVG marker (trusted: colours and shapes are netplan's own)."""
    half = size / 2
    inset = width + 1
    r = half - inset
    c = half
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"'
    if dash:
        style += f' stroke-dasharray="{dash}"'
    if shape == "circle":
        body = f'<circle cx="{c:g}" cy="{c:g}" r="{r:g}" {style}/>'
    elif shape == "square":
        body = f'<rect x="{inset:g}" y="{inset:g}" width="{2 * r:g}" height="{2 * r:g}" {style}/>'
    else:
        body = f'<polygon points="{_polygon_points(shape, c, r)}" {style}/>'
    if cross:
        a, b = inset + 1, size - inset - 1
        body += (
            f'<path d="M{a:g} {a:g}L{b:g} {b:g}M{b:g} {a:g}L{a:g} {b:g}" '
            'stroke="#c00000" stroke-width="2.5"/>'
        )
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">{body}</svg>'


def _polygon_points(shape: str, c: float, r: float) -> str:
    if shape == "diamond":
        angles, radii = [90, 0, 270, 180], [r] * 4
    elif shape == "triangle":
        angles, radii = [90, 210, 330], [r] * 3
    elif shape == "triangle_down":
        angles, radii = [270, 30, 150], [r] * 3
    elif shape == "hexagon":
        angles, radii = [0, 60, 120, 180, 240, 300], [r] * 6
    else:  # star
        angles = [90 + 36 * k for k in range(10)]
        radii = [r if k % 2 == 0 else r * 0.45 for k in range(10)]
    points = [
        f"{c + rad * math.cos(math.radians(a)):.1f},{c - rad * math.sin(math.radians(a)):.1f}"
        for a, rad in zip(angles, radii, strict=True)
    ]
    return " ".join(points)


def _site_icon(shape: str, colour: str, status: str) -> tuple[str, int]:
    """Return the SVG and pixel size of a site marker of one tier and display status."""
    if status == "proposed":
        return _marker_svg(shape, 28, colour, "#000000", width=3, dash="5,2.5"), 28
    if status == "candidate":
        return _marker_svg(shape, 14, "#ffffff", colour, width=2), 14
    if status == "closed":
        return _marker_svg(shape, 16, "#bdbdbd", colour, width=1.5, cross=True), 16
    if status == "required":
        return _marker_svg(shape, 18, colour, "#000000", width=2.5), 18
    return _marker_svg(shape, 18, colour, "#222222", width=1.5), 18


def display_status(gdf_sites: pd.DataFrame, plan: PlanLike | None = None) -> pd.Series:
    """Return how each site shows on the map.

    Without a plan the status column is used as it is (``existing``,
    ``required``, ``candidate``, ``closed``, ``competitor``). With a plan,
    its ``decision`` per site id decides: ``kept`` → existing (or required),
    ``opened`` → proposed, ``closed`` → closed, ``not_selected`` → candidate;
    competitors stay competitors.

    Parameters
    ----------
    gdf_sites
        Sites with ``id`` and ``status``.
    plan
        A plan whose ``sites`` frame has ``id`` and ``decision``.

    Returns
    -------
    pandas.Series
        One display status per site, aligned with ``gdf_sites``.
    """
    status = gdf_sites["status"].astype(object).fillna("existing").astype(str)
    if plan is None:
        return pd.Series(status.to_numpy(), index=gdf_sites.index, dtype=object)
    decisions = plan.sites.set_index(plan.sites["id"].astype(str))["decision"]
    decision = gdf_sites["id"].astype(str).map(decisions)
    mapped = decision.map(
        {"kept": "existing", "opened": "proposed", "closed": "closed", "not_selected": "candidate"}
    )
    out = np.where(mapped.isna(), status, mapped).astype(object)
    out = np.where(
        (decision == "kept").to_numpy() & (status == "required").to_numpy(), "required", out
    )
    out = np.where((status == "competitor").to_numpy(), "competitor", out)
    return pd.Series(out, index=gdf_sites.index, dtype=object)


def aggregate_heat(
    lon: NDArray[np.float64] | Sequence[float],
    lat: NDArray[np.float64] | Sequence[float],
    weight: NDArray[np.float64] | Sequence[float],
    *,
    max_cells: int = 20_000,
) -> tuple[NDArray[np.float64], float]:
    """Aggregate weighted points onto a lon/lat grid for a heat map.

    The cell starts at 1/2000 of the larger side of the extent and doubles
    until at most ``max_cells`` cells hold demand; each cell becomes one
    point at the weighted centroid of its points, carrying their total weight.

    Parameters
    ----------
    lon, lat, weight
        Point coordinates (degrees) and weights (≥ 0; zero-weight points are dropped).
    max_cells
        Upper bound on the number of heat-map points.

    Returns
    -------
    tuple
        ``(cells, cell_deg)``: an ``(n, 3)`` array of ``lat, lon, weight``
        sorted by latitude then longitude, and the cell size in degrees.
    """
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
    x, y, w = x[keep], y[keep], w[keep]
    if len(x) == 0:
        return np.empty((0, 3)), 0.0
    x0, y0 = float(x.min()), float(y.min())
    extent = max(float(x.max()) - x0, float(y.max()) - y0, 1e-6)
    cell = extent / 2000.0
    while True:
        ix = np.floor((x - x0) / cell).astype(np.int64)
        iy = np.floor((y - y0) / cell).astype(np.int64)
        keys = ix * (int(iy.max()) + 1) + iy
        unique, inverse = np.unique(keys, return_inverse=True)
        if len(unique) <= max_cells:
            break
        cell *= 2.0
    total = np.bincount(inverse, weights=w)
    cells = np.column_stack(
        [
            np.bincount(inverse, weights=w * y) / total,
            np.bincount(inverse, weights=w * x) / total,
            total,
        ]
    )
    order = np.lexsort((cells[:, 1], cells[:, 0]))
    return cells[order], cell


def _points_frame(gdf: pd.DataFrame, what: str) -> pd.DataFrame:
    """Return ``id, lon, lat`` (+ other columns) from a GeoDataFrame or a frame with lon/lat."""
    frame = pd.DataFrame(gdf).copy()
    geometry = getattr(gdf, "geometry", None) if "geometry" in frame.columns else None
    if geometry is not None:
        frame["lon"] = shapely.get_x(np.asarray(geometry.values))
        frame["lat"] = shapely.get_y(np.asarray(geometry.values))
        frame = frame.drop(columns=["geometry"])
    missing = [c for c in ("id", "lon", "lat") if c not in frame.columns]
    if missing:
        msg = f"{what}: columns {', '.join(missing)} are missing; pass points read with netplan.io"
        raise InputError(msg)
    frame["id"] = frame["id"].astype(str)
    return frame


def _tier_styles(scenario: Scenario, tiers_seen: Sequence[str]) -> dict[str, tuple[str, str]]:
    names = list(scenario.tiers) + sorted(t for t in set(tiers_seen) if t not in scenario.tiers)
    return {
        name: (TIER_COLOURS[i % len(TIER_COLOURS)], TIER_SHAPES[i % len(TIER_SHAPES)])
        for i, name in enumerate(names)
    }


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name} ({count + 1})")
    return out


def _popup_table(rows: Sequence[tuple[str, str]], css_class: str = "np-popup") -> str:
    """Return an HTML table from rows of (escaped label, escaped value)."""
    body = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    return f'<table class="{css_class}">{body}</table>'


def _vendor_text(name: str) -> str:
    return (importlib.resources.files("netplan") / "templates" / "vendor" / name).read_text("utf-8")


def _vendor_data_uri(name: str) -> str:
    raw = (importlib.resources.files("netplan") / "templates" / "vendor" / name).read_bytes()
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _inline_script(source: str) -> str:
    # A closing tag inside a script block would end it early; none of the vendored
    # files contains one, and this keeps it that way for any future version.
    return "<script>" + source.replace("</script", "<\\/script") + "</script>"


def _heat_plugin_source() -> str:
    try:
        return (
            importlib.resources.files("folium") / "templates" / "leaflet_heat.min.js"
        ).read_text("utf-8")
    except (FileNotFoundError, OSError) as exc:  # pragma: no cover - depends on the folium build
        msg = (
            "the installed folium has no templates/leaflet_heat.min.js, needed for the "
            f"heat map ({exc}); install folium>=0.17"
        )
        raise InputError(msg) from None


def _inline_assets(figure: branca.element.Figure, *, heat: bool) -> None:
    """Put Leaflet, its images, the heat-map plugin and netplan's helpers into the page."""
    css = _vendor_text("leaflet.css")
    for image in ("layers-2x.png", "layers.png", "marker-icon.png"):
        css = css.replace(f"url(images/{image})", f"url({_vendor_data_uri(image)})")
    figure.header.add_child(_Raw(f"<style>{css}</style>"), name="np_leaflet_css")
    figure.header.add_child(_Raw(_inline_script(_vendor_text("leaflet.js"))), name="np_leaflet_js")
    if heat:
        figure.header.add_child(_Raw(_inline_script(_heat_plugin_source())), name="np_heat_js")
    figure.header.add_child(_Raw(_inline_script(_HELPERS_JS)), name="np_helpers_js")


def _check_tiles(tiles: Sequence[str] | None, offline: bool | None) -> list[str]:
    """Return the tile layers to offer, checked; raise on an unknown name or a contradiction."""
    if tiles is None or (isinstance(tiles, Sequence) and not isinstance(tiles, str) and not tiles):
        return [] if offline is None or offline else list(DEFAULT_TILES)
    names = [tiles] if isinstance(tiles, str) else list(tiles)
    if offline:
        msg = (
            f"offline=True draws no web tiles, but tiles={names!r} were asked for; "
            "drop one of the two (tiles make the page load from the internet)"
        )
        raise InputError(msg)
    unknown = [name for name in names if name not in TILE_PROVIDERS]
    if unknown:
        msg = f"unknown tile provider {unknown[0]!r}; choose from {', '.join(TILE_PROVIDERS)}"
        raise InputError(msg)
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- the map


def network_map(
    gdf_demand: pd.DataFrame | None = None,
    gdf_sites: pd.DataFrame | None = None,
    scenario: Scenario | None = None,
    *,
    coverage: CoverageLike | None = None,
    plan: PlanLike | None = None,
    scores: pd.DataFrame | None = None,
    lang: str = "en",
    offline: bool | None = None,
    tiles: Sequence[str] | None = None,
    outlines: bool = True,
    title: str | None = None,
    max_heat_cells: int = 20_000,
    max_radius_shown: int = 60,
    max_zones: int = 1_000,
) -> NetworkMap:
    """Build the map of a service network.

    The page is self-contained: Leaflet, its plugin and netplan's own basemap
    (province and city outlines, province names) are inlined, and it loads
    nothing from the network unless web tiles are asked for.

    Parameters
    ----------
    gdf_demand
        Demand points (``id``, ``weight``, point geometry, or ``lon``/``lat``
        columns); when ``None``, the coverage result's points are used.
    gdf_sites
        Sites (``id``, ``tier``, ``status``, optional ``name``, geometry); when
        ``None``, the plan's sites (``plan.csv`` has ``lon``/``lat``).
    scenario
        Scenario giving tier labels and radii; the built-in default when ``None``.
    coverage
        A coverage result (``points`` with ``covering_site``, ``blindspots``,
        ``summary()``): blind spots, assigned demand and key figures.
    plan
        A plan (``sites`` with ``id``, ``decision``, ``assigned_weight``;
        ``summary()`` with ``before``/``after``): proposed and closed sites,
        before/after key figures.
    scores
        Site scores (``site_id``, ``total_score``, ``rank``), shown in popups.
    lang
        ``"en"`` or ``"zh"``.
    offline
        ``None`` or ``True`` (the default): no web tiles, the page opens with
        no network. ``False``: offer the :data:`DEFAULT_TILES` (AMap, then
        OpenStreetMap and CartoDB positron) as base layers, when ``tiles`` is
        not given.
    tiles
        Web tile layers to offer, by name (keys of :data:`TILE_PROVIDERS`:
        ``amap``, ``amap_satellite``, ``osm``, ``positron``), the first shown at
        opening; a base layer "no tiles" keeps the offline basemap. AMap tiles
        (GCJ-02) are shifted so that WGS84 data sit right. Giving tiles with
        ``offline=True`` is an error.
    outlines
        Draw the offline basemap (province and city outlines of China, place
        names) when the data lie in China's bounding rectangle.
    title
        Title of the page and the key-figure panel.
    max_heat_cells
        Most heat-map points (demand is aggregated on a grid to fit).
    max_radius_shown
        A tier's radius layer is visible at opening only if it has at most
        this many circles.
    max_zones
        Most blind-spot zones drawn (the heaviest; half for today and half
        for the plan when both are drawn).

    Returns
    -------
    NetworkMap
        The map (write it with :func:`write_map`) and what it shows.

    Raises
    ------
    InputError
        When there is nothing to draw, a frame lacks ``id`` or coordinates, or
        ``tiles`` names an unknown provider (or comes with ``offline=True``).
    """
    lang = check_lang(lang)
    tile_names = _check_tiles(tiles, offline)
    scenario = scenario or default_scenario()
    if gdf_demand is None and coverage is not None:
        gdf_demand = coverage.points
    if gdf_sites is None and plan is not None and {"lon", "lat", "tier"} <= set(plan.sites.columns):
        # A plan table carries coordinates: draw its sites with their status before the plan.
        gdf_sites = plan.sites.rename(columns={"status_before": "status"})
    if gdf_demand is None and gdf_sites is None:
        msg = "nothing to draw: give demand points, sites or a coverage result"
        raise InputError(msg)
    with _counter_ids("b"):
        return _build(
            gdf_demand,
            gdf_sites,
            scenario,
            coverage=coverage,
            plan=plan,
            scores=scores,
            lang=lang,
            tiles=tile_names,
            outlines=outlines,
            title=title,
            max_heat_cells=max_heat_cells,
            max_radius_shown=max_radius_shown,
            max_zones=max_zones,
        )


def _build(
    gdf_demand: pd.DataFrame | None,
    gdf_sites: pd.DataFrame | None,
    scenario: Scenario,
    *,
    coverage: CoverageLike | None,
    plan: PlanLike | None,
    scores: pd.DataFrame | None,
    lang: str,
    tiles: list[str],
    outlines: bool,
    title: str | None,
    max_heat_cells: int,
    max_radius_shown: int,
    max_zones: int,
) -> NetworkMap:
    page_title = title if title is not None else f"{text('map_title', lang)}: {scenario.name}"
    figure = branca.element.Figure(title=_esc(page_title))
    fmap = folium.Map(
        location=None,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
        zoom_start=4,
        font_size="12px",
        zoomSnap=0.25,
        zoomDelta=0.5,
    )
    figure.add_child(fmap)
    # Everything is inlined: folium's CDN links for Leaflet are dropped.
    fmap.default_js = []
    fmap.default_css = []
    result = NetworkMap(map=fmap, offline=not tiles, lang=lang, tiles=list(tiles))

    demand = _points_frame(gdf_demand, "demand") if gdf_demand is not None else None
    sites = _points_frame(gdf_sites, "sites") if gdf_sites is not None else None
    heat = demand is not None and len(demand) > 0
    _inline_assets(figure, heat=heat)
    figure.header.add_child(_Raw(_PAGE_CSS), name="np_page_css")  # after Leaflet's, to win
    draw_outlines = outlines and _in_china(demand, sites)
    setup = {
        "panes": [list(p) for p in _PANES],
        "note": text("tiles_failed", lang) if tiles else None,
        "attribution": _esc(boundary_source()) if draw_outlines else None,
    }
    _Script(_SETUP_JS, setup).add_to(fmap)
    if tiles:
        _add_tiles(fmap, tiles, lang, result)
    if draw_outlines:
        _add_outlines(figure, fmap, lang, result)

    bounds: list[tuple[float, float, float, float]] = []
    if heat:
        assert demand is not None
        heat_bounds = _add_heat(fmap, demand, lang, max_heat_cells, result)
        if heat_bounds is not None:
            bounds.append(heat_bounds)

    zones = getattr(coverage, "blindspots", None) if coverage is not None else None
    # The plan's network coverage, computed with the plan (Plan.coverage, or plan/coverage/).
    after_coverage = getattr(plan, "coverage", None) if coverage is not None else None
    # Both layers together stay within max_zones (the heaviest half of each).
    zone_limit = max_zones // 2 if after_coverage is not None else max_zones
    if zones is not None and len(zones):
        today_key = "layer_blindspots_today" if plan is not None else "layer_blindspots"
        result.n_zones = _add_zones(
            fmap,
            zones,
            lang,
            zone_limit,
            result,
            name_key=today_key,
            show=after_coverage is None,
        )
    if after_coverage is not None and len(after_coverage.blindspots):
        result.n_zones += _add_zones(
            fmap,
            after_coverage.blindspots,
            lang,
            zone_limit,
            result,
            name_key="layer_blindspots_plan",
        )

    if sites is not None and len(sites):
        _add_sites(fmap, sites, scenario, coverage, plan, scores, lang, max_radius_shown, result)
        bounds.append(
            (
                float(sites["lon"].min()),
                float(sites["lat"].min()),
                float(sites["lon"].max()),
                float(sites["lat"].max()),
            )
        )

    _add_panels(
        fmap,
        sites,
        scenario,
        coverage,
        plan,
        lang,
        page_title,
        after_coverage,
        outlines=draw_outlines,
    )
    # The layer list folds into its button on screens narrower than a desktop monitor, so
    # that it does not hide the east of China (it opens on hover or tap).
    control = folium.LayerControl(collapsed=True, position="topright")
    control.add_to(fmap)
    _Script(f"if (window.innerWidth >= 1600) {{ {control.get_name()}.expand(); }}", None).add_to(
        fmap
    )
    if bounds:
        west = min(b[0] for b in bounds)
        south = min(b[1] for b in bounds)
        east = max(b[2] for b in bounds)
        north = max(b[3] for b in bounds)
        fmap.fit_bounds([[south, west], [north, east]], padding=(20, 20))
    return result


def _in_china(*frames: pd.DataFrame | None) -> bool:
    """Return whether any point of the frames lies in China's bounding rectangle."""
    for frame in frames:
        if frame is not None and len(frame) and in_china(frame["lon"], frame["lat"]).any():
            return True
    return False


def _add_tiles(fmap: folium.Map, tiles: Sequence[str], lang: str, result: NetworkMap) -> None:
    """Add the web tile layers as base layers (the first shown), and a "no tiles" base layer."""
    for position, name in enumerate(tiles):
        provider = TILE_PROVIDERS[name]
        _Tiles(provider, _esc(text(provider.label_key, lang)), show=position == 0).add_to(fmap)
    # An empty base layer: the offline outlines alone.
    folium.FeatureGroup(name=_esc(text("base_none", lang)), overlay=False, show=False).add_to(fmap)


def _add_outlines(
    figure: branca.element.Figure, fmap: folium.Map, lang: str, result: NetworkMap
) -> None:
    """Add the basemap: province (and, zoomed in, city) outlines, then their names."""
    provinces, province_labels = _outline_data("province", lang)
    cities, city_labels = _outline_data("city", lang)
    data = {
        "quantum": _OUTLINE_QUANTUM,
        "provinces": provinces,
        "cities": cities,
        "land": _LAND_COLOUR,
        "province_border": _PROVINCE_BORDER,
        "city_border": _CITY_BORDER,
        "city_min_zoom": CITY_OUTLINE_MIN_ZOOM,
    }
    name = text("layer_outlines", lang)
    group = folium.FeatureGroup(name=_esc(name), show=True)
    # The outlines (~0.5 MB) go into a script block of their own: folium parses every
    # element's rendered script once more as a template, which would cost ~0.5 s here.
    block = _inline_script(f"var netplanOutlines = {_script_json(data)};")
    figure.header.add_child(_Raw(block), name="np_outlines_data")
    _Script(_OUTLINES_JS, None).add_to(group)
    group.add_to(fmap)
    result.layer_names.append(name)
    result.n_regions = len(provinces) + len(cities)

    name = text("layer_place_names", lang)
    group = folium.FeatureGroup(name=_esc(name), show=True)
    _Script(_LABELS_JS, {"labels": [*province_labels, *city_labels]}).add_to(group)
    group.add_to(fmap)
    result.layer_names.append(name)


@functools.lru_cache(maxsize=4)
def _outline_data(level: str, lang: str) -> tuple[list[Any], list[list[Any]]]:
    """Return the encoded outlines of a level and their labels (cached; treat as read-only).

    Every unit is a list of polygons, each a list of rings ``[x0, y0, dx1, dy1, ...]``
    in steps of :data:`_OUTLINE_QUANTUM` degrees (the first vertex absolute, then
    differences: about a third of the size of plain coordinates). A label is
    ``[lat, lon, escaped text, min zoom, css class]``.
    """
    frame = boundary_outlines("province" if level == "province" else "city", OUTLINE_TOLERANCE_KM)
    units = [_encode_unit(geometry) for geometry in frame.geometry.to_numpy()]
    labels: list[list[Any]] = []
    areas = _areas_km2(frame)
    for code, name, province, lon, lat, area in zip(
        frame["code"].astype(str),
        frame["name"].astype(str),
        frame["province"].astype(str),
        frame["label_lon"].to_numpy(np.float64),
        frame["label_lat"].to_numpy(np.float64),
        areas,
        strict=True,
    ):
        if level == "city" and name == province:
            continue  # a municipality or SAR: its province label already names it
        if level == "province":
            short = _PROVINCE_LABELS.get(code[:2])
            label = name if short is None else short[0 if lang == "en" else 1]
            # Big provinces are named from zoom 3, the rest from 4, the smallest from 6.
            min_zoom = 3 if area >= 300_000 else 4 if area >= 20_000 else 6
            css = "province" if area >= 20_000 else "minor"
        else:
            label, min_zoom, css = name, _CITY_LABEL_MIN_ZOOM, "city"
        labels.append([round(float(lat), 4), round(float(lon), 4), _esc(label), min_zoom, css])
    return units, labels


def _areas_km2(frame: gpd.GeoDataFrame) -> NDArray[np.float64]:
    """Return the approximate area of each unit (km², degrees scaled at its label latitude)."""
    degrees = shapely.area(frame.geometry.to_numpy())
    scale = 111.32**2 * np.cos(np.radians(frame["label_lat"].to_numpy(np.float64)))
    return np.asarray(degrees * scale, dtype=np.float64)


def _encode_unit(geometry: Any) -> list[list[list[int]]]:
    """Return a (multi)polygon as polygons of delta-encoded integer rings (see _outline_data)."""
    polygons = shapely.get_parts(geometry)
    out = []
    for polygon in polygons:
        holes = range(shapely.get_num_interior_rings(polygon))
        rings = [shapely.get_exterior_ring(polygon)]
        rings += [shapely.get_interior_ring(polygon, k) for k in holes]
        encoded = [_encode_ring(ring) for ring in rings]
        if encoded[0]:  # an outer ring that rounds to under three vertices: nothing to draw
            out.append([ring for ring in encoded if ring])
    return out


def _encode_ring(ring: Any) -> list[int]:
    """Return a ring as ``[x0, y0, dx1, dy1, ...]`` integer steps, or ``[]`` when degenerate."""
    steps = np.rint(shapely.get_coordinates(ring)[:-1] / _OUTLINE_QUANTUM).astype(np.int64)
    # Drop vertices that round onto the one before (nothing to draw).
    keep = np.ones(len(steps), dtype=bool)
    keep[1:] = np.any(steps[1:] != steps[:-1], axis=1)
    steps = steps[keep]
    if len(steps) < 3:
        return []
    deltas = np.diff(steps, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    return list(deltas.reshape(-1).tolist())


def _add_heat(
    fmap: folium.Map,
    demand: pd.DataFrame,
    lang: str,
    max_heat_cells: int,
    result: NetworkMap,
) -> tuple[float, float, float, float] | None:
    """Add the demand heat layer (aggregated to at most ``max_heat_cells``); return its bounds."""
    weights = demand["weight"].to_numpy(np.float64) if "weight" in demand else np.ones(len(demand))
    cells, cell_deg = aggregate_heat(
        demand["lon"].to_numpy(np.float64),
        demand["lat"].to_numpy(np.float64),
        weights,
        max_cells=max_heat_cells,
    )
    if len(cells):
        scale = float(np.quantile(cells[:, 2], 0.98)) or float(cells[:, 2].max())
        intensity = np.minimum(cells[:, 2] / scale, 1.0)
        data = [
            [round(float(a), 5), round(float(b), 5), round(float(c), 3)]
            for a, b, c in zip(cells[:, 0], cells[:, 1], intensity, strict=True)
        ]
        name = _esc(text("layer_demand_heat", lang))
        layer = HeatMap(  # type: ignore[no-untyped-call]
            data,
            name=name,
            min_opacity=0.3,
            radius=14,
            blur=16,
            max_zoom=9,
            gradient={str(stop): colour for stop, colour in HEAT_GRADIENT.items()},
        )
        layer.default_js = []  # the plugin is inlined in the page
        layer.add_to(fmap)
        result.layer_names.append(text("layer_demand_heat", lang))
        result.n_heat_cells = len(cells)
        result.heat_cell_deg = cell_deg
        return (
            float(cells[:, 1].min()),
            float(cells[:, 0].min()),
            float(cells[:, 1].max()),
            float(cells[:, 0].max()),
        )
    return None


def _add_zones(
    fmap: folium.Map,
    zones: gpd.GeoDataFrame,
    lang: str,
    max_zones: int,
    result: NetworkMap,
    *,
    name_key: str = "layer_blindspots",
    show: bool = True,
) -> int:
    frame = zones.copy()
    if "weight" not in frame.columns:
        frame["weight"] = 0.0
    frame = frame.sort_values("weight", ascending=False, kind="mergesort").head(max_zones)
    weights = frame["weight"].to_numpy(np.float64)
    top = float(weights.max()) if len(weights) else 0.0
    geometries = shapely.simplify(np.asarray(frame.geometry.values), 0.005, preserve_topology=True)
    # A zone around a pole (or across the antimeridian) is not a valid lon/lat polygon;
    # GEOS refuses to round such a ring, so repair it first.
    geometries = shapely.make_valid(geometries)
    geometries = shapely.set_precision(geometries, 1e-5)
    features = []
    for position, (_, row) in enumerate(frame.iterrows()):
        level = 0 if top <= 0 else min(int(math.sqrt(float(row["weight"]) / top) * 5), 4)
        zone_id = row.get("zone_id", position + 1)
        # Where the zone is (province and city holding most of its weight), when known.
        place = " ".join(
            str(row.get(key))
            for key in ("province", "city")
            if isinstance(row.get(key), str) and row.get(key)
        )
        rows = [
            (_esc(text("field_zone", lang)), _esc(zone_id)),
            (_esc(text("field_weight", lang)), _number(row.get("weight"), 1)),
            (_esc(text("field_points", lang)), _number(row.get("n_points"))),
            (_esc(text("field_area", lang)), _number(row.get("area_km2"), 1)),
            (_esc(text("field_nearest", lang)), _esc(row.get("nearest_site"))),
            (_esc(text("field_distance", lang)), _number(row.get("distance_km"), 1)),
        ]
        if place:
            rows.insert(1, (_esc(text("field_place", lang)), _esc(place)))
        popup = _popup_table(rows)
        named = f"{zone_id} · {place}" if place else str(zone_id)
        tooltip = f"{_esc(text('field_zone', lang))} {_esc(named)}: {_number(row.get('weight'), 1)}"
        geometry = shapely.geometry.mapping(geometries[position])
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"c": BLINDSPOT_COLOURS[level], "t": tooltip, "p": popup},
            }
        )
    name = text(name_key, lang)
    group = folium.FeatureGroup(name=_esc(name), show=show)
    _Script(_ZONES_JS, {"type": "FeatureCollection", "features": features}).add_to(group)
    group.add_to(fmap)
    result.layer_names.append(name)
    return len(features)


def _assigned_weights(
    sites: pd.DataFrame, coverage: CoverageLike | None, plan: PlanLike | None
) -> pd.Series | None:
    if plan is not None and "assigned_weight" in plan.sites.columns:
        table = plan.sites.set_index(plan.sites["id"].astype(str))["assigned_weight"]
        return sites["id"].map(table)
    if coverage is not None:
        points = coverage.points
        if "covering_site" in points.columns and "weight" in points.columns:
            frame = pd.DataFrame(
                {"site": points["covering_site"].astype(object), "weight": points["weight"]}
            ).dropna(subset=["site"])
            table = frame.groupby(frame["site"].astype(str))["weight"].sum()
            return sites["id"].map(table).fillna(0.0)
    return None


def _add_sites(
    fmap: folium.Map,
    sites: pd.DataFrame,
    scenario: Scenario,
    coverage: CoverageLike | None,
    plan: PlanLike | None,
    scores: pd.DataFrame | None,
    lang: str,
    max_radius_shown: int,
    result: NetworkMap,
) -> None:
    status = display_status(sites, plan)
    tier = (
        sites["tier"].astype(object)
        if "tier" in sites.columns
        else pd.Series(None, index=sites.index)
    )
    tiers_seen = [str(t) for t in tier.dropna().unique()]
    styles = _tier_styles(scenario, tiers_seen)
    assigned = _assigned_weights(sites, coverage, plan)
    score_table = None
    if scores is not None and len(scores):
        score_table = scores.assign(site_id=scores["site_id"].astype(str)).set_index("site_id")
    names = sites["name"] if "name" in sites.columns else pd.Series("", index=sites.index)
    status_label = {s: text(f"status_{s}", lang) for s in (*DISPLAY_STATUSES, "competitor")}

    def popup_for(i: int, tier_name: str | None, shown: str) -> tuple[str, str]:
        site_id = sites["id"].iat[i]
        name = names.iat[i]
        label = scenario.tier_label(tier_name, lang) if tier_name else status_label["competitor"]
        rows = [(_esc(text("field_id", lang)), _esc(site_id))]
        if isinstance(name, str) and name:
            rows.append((_esc(text("field_name", lang)), _esc(name)))
        rows.append((_esc(text("field_tier", lang)), _esc(label)))
        rows.append((_esc(text("field_status", lang)), _esc(status_label.get(shown, shown))))
        if assigned is not None and shown != "competitor":
            rows.append((_esc(text("field_assigned", lang)), _number(assigned.iat[i], 1)))
        if score_table is not None and site_id in score_table.index:
            entry = score_table.loc[str(site_id)]
            rows.append((_esc(text("field_score", lang)), _number(entry.get("total_score"), 1)))
            if "rank" in entry:
                rows.append((_esc(text("field_rank", lang)), _number(entry.get("rank"))))
        display = f"{name} ({site_id})" if isinstance(name, str) and name else str(site_id)
        tooltip = f"{_esc(display)}: {_esc(label)}, {_esc(status_label.get(shown, shown))}"
        return tooltip, _popup_table(rows)

    lat = sites["lat"].to_numpy(np.float64)
    lon = sites["lon"].to_numpy(np.float64)
    shown_status = status.to_numpy().astype(str)
    tier_names = [t if isinstance(t, str) else None for t in tier.tolist()]
    # Data keys of tiers (tier names may be any text): t0, t1, ... in scenario order.
    tier_key = {name: f"t{position}" for position, name in enumerate(styles)}

    def icon_rows(members: NDArray[np.intp]) -> tuple[dict[str, list[Any]], list[list[Any]]]:
        """Return the SVG icons and marker rows of sites drawn as icons (tier shape)."""
        icons: dict[str, list[Any]] = {}
        rows = []
        for i in members.tolist():
            shown, tier_name = shown_status[i], tier_names[i]
            colour, shape = styles.get(tier_name or "", (COMPETITOR_COLOUR, "circle"))
            key = f"{tier_key.get(tier_name or '', '')}-{shown}"
            if key not in icons:
                svg, size = _site_icon(shape, colour, shown)
                css = f"np-tier-{_css_token(tier_name or '')} np-status-{shown}"
                icons[key] = [svg, css, size, _FRONT.get(shown, 0)]
            tooltip, popup = popup_for(int(i), tier_name, shown)
            rows.append([round(float(lat[i]), 6), round(float(lon[i]), 6), key, tooltip, popup])
        return icons, rows

    def point_rows(members: NDArray[np.intp], shown: str) -> list[list[Any]]:
        """Return canvas-circle rows ``[lat, lon, colour key, tooltip, popup]``."""
        rows = []
        for i in members.tolist():
            tier_name = tier_names[i] if shown != "competitor" else None
            tooltip, popup = popup_for(int(i), tier_names[i], shown)
            key = tier_key.get(tier_name or "", "")
            rows.append([round(float(lat[i]), 6), round(float(lon[i]), 6), key, tooltip, popup])
        return rows

    # The sites a plan opens: one layer, large markers on top of everything.
    proposed = np.flatnonzero(shown_status == "proposed")
    if len(proposed):
        icons, rows = icon_rows(proposed)
        name = text("layer_proposed", lang)
        group = folium.FeatureGroup(name=_esc(name), show=True)
        _Script(_SITES_JS, {"icons": icons, "sites": rows}).add_to(group)
        group.add_to(fmap)
        result.layer_names.append(name)
        result.n_sites += len(rows)

    # Today's network (existing, required, closed) and the service radii, per tier.
    labels = _unique_names([scenario.tier_label(name, lang) for name in styles])
    in_network = np.isin(shown_status, ["existing", "required", "closed"])
    is_active = np.isin(shown_status, ["existing", "required", "proposed"])
    for (tier_name, (colour, _shape)), label in zip(styles.items(), labels, strict=True):
        of_tier = (tier == tier_name).to_numpy() & (shown_status != "competitor")
        members = np.flatnonzero(of_tier & in_network)
        if len(members):
            icons, rows = icon_rows(members)
            layer_name = text("layer_sites", lang, tier=label)
            group = folium.FeatureGroup(name=_esc(layer_name), show=True)
            _Script(_SITES_JS, {"icons": icons, "sites": rows}).add_to(group)
            group.add_to(fmap)
            result.layer_names.append(layer_name)
            result.n_sites += len(rows)
        active = np.flatnonzero(of_tier & is_active)
        radius_km = _radius_km(scenario, tier_name)
        if not len(active) or radius_km is None:
            continue
        centres = [
            [round(float(lat[i]), 6), round(float(lon[i]), 6), round(radius_km * 1000.0, 1)]
            for i in active.tolist()
        ]
        radius_name = text("layer_radius", lang, tier=label)
        radius_group = folium.FeatureGroup(
            name=_esc(radius_name), show=len(active) <= max_radius_shown
        )
        _Script(_RADII_JS, {"colour": colour, "centres": centres}).add_to(radius_group)
        radius_group.add_to(fmap)
        result.layer_names.append(radius_name)

    # Candidates (those a plan did not select): small hollow circles on the canvas, hidden
    # at opening when a plan is drawn, so that the new sites stand out.
    candidates = np.flatnonzero(shown_status == "candidate")
    if len(candidates):
        name = text(
            "layer_candidates_not_selected" if plan is not None else "layer_candidates", lang
        )
        group = folium.FeatureGroup(name=_esc(name), show=plan is None)
        data = {
            "kind": "candidate",
            "points": point_rows(candidates, "candidate"),
            "colours": {"": COMPETITOR_COLOUR} | {tier_key[t]: c for t, (c, _) in styles.items()},
            "fill": "#ffffff",
            "fill_opacity": 0.9,
            "radius": 4.5,
            "weight": 2,
        }
        _Script(_POINTS_JS, data).add_to(group)
        group.add_to(fmap)
        result.layer_names.append(name)
        result.n_sites += len(candidates)

    competitors = np.flatnonzero(shown_status == "competitor")
    if len(competitors):
        name = text("layer_competitors", lang)
        group = folium.FeatureGroup(name=_esc(name), show=True)
        data = {
            "kind": "competitor",
            "points": point_rows(competitors, "competitor"),
            "colours": {"": "#ffffff"},
            "fill": COMPETITOR_COLOUR,
            "fill_opacity": 1.0,
            "radius": 4,
            "weight": 1,
        }
        _Script(_POINTS_JS, data).add_to(group)
        group.add_to(fmap)
        result.layer_names.append(name)
        result.n_sites += len(competitors)


def _radius_km(scenario: Scenario, tier_name: str) -> float | None:
    """Return a tier's service radius in km (``None``: unknown tier, or a travel-time matrix)."""
    if tier_name not in scenario.tiers or scenario.distance_model == "matrix":
        return None
    return float(scenario.tiers[tier_name].reach_km(distance_model=scenario.distance_model))


def _css_token(name: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in name)


def _add_panels(
    fmap: folium.Map,
    sites: pd.DataFrame | None,
    scenario: Scenario,
    coverage: CoverageLike | None,
    plan: PlanLike | None,
    lang: str,
    page_title: str,
    after_coverage: CoverageLike | None = None,
    *,
    outlines: bool = False,
) -> None:
    tiers_seen = (
        []
        if sites is None or "tier" not in sites.columns
        else [str(t) for t in sites["tier"].dropna().unique()]
    )
    styles = _tier_styles(scenario, tiers_seen)
    shown_tiers = [t for t in styles if t in tiers_seen] or list(scenario.tiers)
    _Control(
        _legend_html(sites, scenario, plan, lang, styles, shown_tiers, outlines=outlines),
        position="bottomleft",
        css_class="np-panel np-legend",
    ).add_to(fmap)

    # Key figures: coverage (today) and the plan's before/after.
    kpi_rows: list[tuple[str, str]] = []
    cov = coverage.summary() if coverage is not None else None
    plan_summary = plan.summary() if plan is not None else None
    # Today: the coverage result when given (it has the blind-spot zones), else the plan's "before".
    before = cov or (plan_summary or {}).get("before")
    after = (plan_summary or {}).get("after")
    if after is not None and after_coverage is not None:
        zone_keys = ("n_blindspots", "blindspot_weight", "blindspot_method")
        after_kpis = after_coverage.summary()
        after = {**after, **{key: after_kpis.get(key) for key in zone_keys}}

    def pair(key: str, fmt: Any) -> str:
        first = fmt(_dig(before, key)) if before else "—"
        if after:
            return f"{first} → {fmt(_dig(after, key))}"
        return first

    if before or after:
        kpi_rows.append((_esc(text("kpi_total_weight", lang)), pair("total_weight", _number)))
        kpi_rows.append((_esc(text("kpi_coverage_rate", lang)), pair("coverage_rate", _percent)))
        kpi_rows.append(
            (_esc(text("kpi_weighted_coverage", lang)), pair("weighted_coverage_rate", _percent))
        )
        kpi_rows.append(
            (
                _esc(text("kpi_p95_distance", lang)),
                pair("distance_km.p95", lambda v: _number(v, 1) + " km"),
            )
        )
        kpi_rows.append((_esc(text("kpi_blindspots", lang)), pair("n_blindspots", _number)))
    if sites is not None and "tier" in sites.columns:
        status = display_status(sites, plan)
        active = sites[status.isin(["existing", "required", "proposed"]).to_numpy()]
        counts = active["tier"].astype(str).value_counts()
        parts = [
            f"{_esc(scenario.tier_label(name, lang))}: {int(counts.get(name, 0))}"
            for name in shown_tiers
        ]
        kpi_rows.append((_esc(text("kpi_sites_by_tier", lang)), "<br>".join(parts)))
    header = _esc(page_title)
    if after:
        header += (
            f"<br><small>{_esc(text('kpi_before', lang))} → {_esc(text('kpi_after', lang))}</small>"
        )
    body = "".join(
        f'<tr><td>{label}</td><td class="num">{value}</td></tr>' for label, value in kpi_rows
    )
    panel = f"<h4>{header}</h4><b>{_esc(text('kpis', lang))}</b><table>{body}</table>"
    _Control(panel, position="topleft", css_class="np-panel np-kpis").add_to(fmap)


def _legend_html(
    sites: pd.DataFrame | None,
    scenario: Scenario,
    plan: PlanLike | None,
    lang: str,
    styles: Mapping[str, tuple[str, str]],
    shown_tiers: Sequence[str],
    *,
    outlines: bool,
) -> str:
    """Return the legend: tiers with their radii, the statuses drawn, overlays, basemap."""
    rows = []
    for name in shown_tiers:
        colour, shape = styles[name]
        radius_km = _radius_km(scenario, name)
        radius = (
            _esc(text("legend_radius_km", lang, km=f"{radius_km:,.0f}"))
            if radius_km is not None
            else ""
        )
        rows.append(
            f"<tr><td>{_marker_svg(shape, 16, colour, '#222222')}</td>"
            f'<td>{_esc(scenario.tier_label(name, lang))}</td><td class="num">{radius}</td></tr>'
        )
    present = set(display_status(sites, plan).astype(str)) if sites is not None else set()
    status_rows = []
    for shown in DISPLAY_STATUSES:
        if present and shown not in present:
            continue
        if shown == "candidate":
            svg = _marker_svg("circle", 11, "#ffffff", "#777777", width=2)
        else:
            svg, _ = _site_icon("circle", "#777777", shown)
        status_rows.append(f"<tr><td>{svg}</td><td>{_esc(text(f'status_{shown}', lang))}</td></tr>")
    if not present or "competitor" in present:
        competitor_svg = _marker_svg("circle", 10, COMPETITOR_COLOUR, "#ffffff", width=1)
        status_rows.append(
            f"<tr><td>{competitor_svg}</td><td>{_esc(text('status_competitor', lang))}</td></tr>"
        )
    radius_svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" '
        'r="6.5" fill="none" stroke="#555555" stroke-width="1.2" stroke-dasharray="3,2"/></svg>'
    )
    extra = [
        f"<tr><td>{radius_svg}</td><td>{_esc(text('legend_radius', lang))}</td></tr>",
        f'<tr><td><span class="np-swatch" style="background:{BLINDSPOT_COLOURS[3]}"></span></td>'
        f"<td>{_esc(text('legend_blindspot', lang))}</td></tr>",
        f'<tr><td colspan="2"><span class="np-heat-bar"></span> '
        f"{_esc(text('legend_heat', lang))}</td></tr>",
    ]
    if outlines:
        for colour, dash, key in (
            (_PROVINCE_BORDER, "", "legend_province_border"),
            (_CITY_BORDER, ' stroke-dasharray="4,3"', "legend_city_border"),
        ):
            line = (
                '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="10"><line x1="0" '
                f'y1="5" x2="16" y2="5" stroke="{colour}" stroke-width="1.5"{dash}/></svg>'
            )
            extra.append(f"<tr><td>{line}</td><td>{_esc(text(key, lang))}</td></tr>")
    note = ""
    if plan is not None and "candidate" in present:
        note = f'<div class="np-note">{_esc(text("legend_candidates_hidden", lang))}</div>'
    return (
        f"<h4>{_esc(text('legend', lang))}</h4>"
        f"<b>{_esc(text('legend_tiers', lang))}</b><table>{''.join(rows)}</table>"
        f"<b>{_esc(text('legend_status', lang))}</b>"
        f"<table>{''.join(status_rows)}{''.join(extra)}</table>{note}"
    )


def _dig(data: Mapping[str, Any] | None, dotted: str) -> Any:
    """Return ``data['a']['b']`` for ``"a.b"``, or ``None`` when absent.

    Blind-spot figures of a summary whose ``blindspot_method`` is ``None`` (zones
    not computed, as in a plan's before/after) count as absent.
    """
    if (
        dotted in ("n_blindspots", "blindspot_weight")
        and isinstance(data, Mapping)
        and "blindspot_method" in data
        and data["blindspot_method"] is None
    ):
        return None
    current: Any = data
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


# --------------------------------------------------------------------------- roadmap layers


def add_roadmap_layers(
    network: NetworkMap, roadmap_sites: pd.DataFrame, scenario: Scenario | None = None
) -> NetworkMap:
    """Add one toggleable layer per year of a roadmap: the sites opened (and closed) that year.

    Parameters
    ----------
    network
        A map from :func:`network_map`; the layers are added to it (and returned).
    roadmap_sites
        The roadmap's sites (``roadmap.csv``): ``site_id``, ``tier``,
        ``decision``, ``year_opened``, ``lon``, ``lat``, optional ``name``,
        ``year_closed``, ``engineers``, ``fixed_cost``.
    scenario
        Tier labels and colours; the built-in default when ``None``.

    Returns
    -------
    NetworkMap
        ``network``, with a layer ``Roadmap year N: M sites opened`` per year.
    """
    scenario = scenario or default_scenario()
    lang = network.lang
    frame = roadmap_sites.reset_index(drop=True)
    tiers = frame["tier"].astype(object)
    styles = _tier_styles(scenario, [str(t) for t in tiers.dropna().unique()])
    opened = pd.to_numeric(frame["year_opened"], errors="coerce")
    closed = (
        pd.to_numeric(frame["year_closed"], errors="coerce")
        if "year_closed" in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    years = sorted(
        {int(y) for y in opened.dropna().tolist() if y >= 1}
        | {int(y) for y in closed.dropna().tolist() if y >= 1}
    )
    names = frame["name"] if "name" in frame.columns else pd.Series("", index=frame.index)
    with _counter_ids("y"):
        _add_year_layers(network, frame, scenario, years, opened, closed, styles, names, lang)
    return network


def _add_year_layers(
    network: NetworkMap,
    frame: pd.DataFrame,
    scenario: Scenario,
    years: list[int],
    opened: pd.Series,
    closed: pd.Series,
    styles: Mapping[str, tuple[str, str]],
    names: pd.Series,
    lang: str,
) -> None:
    tiers = [t if isinstance(t, str) else None for t in frame["tier"].tolist()]
    lat = frame["lat"].to_numpy(dtype=np.float64)
    lon = frame["lon"].to_numpy(dtype=np.float64)
    for year in years:
        members = np.flatnonzero(((opened == year) | (closed == year)).to_numpy())
        n_opened = int((opened == year).sum())
        layer_name = text("layer_roadmap_year", lang, year=year, n=n_opened)
        group = folium.FeatureGroup(name=_esc(layer_name), show=True)
        for i in members.tolist():
            tier_name = tiers[i]
            colour = (
                styles[tier_name][0]
                if tier_name is not None and tier_name in styles
                else COMPETITOR_COLOUR
            )
            is_closed = closed.iat[i] == year
            label = scenario.tier_label(tier_name, lang) if tier_name else ""
            name = names.iat[i]
            site_id = str(frame["site_id"].iat[i])
            display = f"{name} ({site_id})" if isinstance(name, str) and name else site_id
            event = text("roadmap_closed" if is_closed else "roadmap_opened", lang, year=year)
            rows = [
                (_esc(text("field_id", lang)), _esc(site_id)),
                (_esc(text("field_tier", lang)), _esc(label)),
                (_esc(text("field_status", lang)), _esc(event)),
            ]
            if isinstance(name, str) and name:
                rows.insert(1, (_esc(text("field_name", lang)), _esc(name)))
            if "engineers" in frame.columns and not is_closed:
                rows.append(
                    (_esc(text("field_engineers", lang)), _number(frame["engineers"].iat[i]))
                )
            if "fixed_cost" in frame.columns:
                rows.append(
                    (_esc(text("field_fixed_cost", lang)), _number(frame["fixed_cost"].iat[i]))
                )
            folium.CircleMarker(
                location=[round(float(lat[i]), 6), round(float(lon[i]), 6)],
                radius=8,
                color="#555555" if is_closed else colour,
                weight=2,
                fill=True,
                fill_color="#ffffff" if is_closed else colour,
                fill_opacity=0.9,
                tooltip=f"{_esc(display)}: {_esc(label)}, {_esc(event)}",
                popup=folium.Popup(_popup_table(rows), max_width=320),
            ).add_to(group)
        group.add_to(network.map)
        network.layer_names.append(layer_name)
