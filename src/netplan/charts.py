"""Charts and the static network map of the report, drawn offline with matplotlib.

Every figure is rendered with the Agg backend into an SVG document that the
report embeds as a ``data:`` image, so the page needs no network and no font:
text is drawn as glyph outlines (Chinese with a CJK font found by
:func:`cjk_font`). The SVG is deterministic: no date in its metadata and fixed
element ids (``svg.hashsalt``), so the same results give the same bytes.

This module draws what it is given; it computes no coverage and reads no file.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CJK_FONT_NAMES",
    "MapLayers",
    "Series",
    "cjk_font",
    "figure_data_uri",
    "line_chart",
    "network_map_figure",
]

#: CJK font families looked for, in order (Debian's fonts-noto-cjk first).
CJK_FONT_NAMES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Noto Serif CJK SC",
)

#: Colour-blind-safe colours (Okabe-Ito) used by every chart.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Return the family name of an installed CJK font matplotlib can use, or ``None``."""
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONT_NAMES if name in installed), None)


def _has_cjk(texts: Sequence[str]) -> bool:
    return any(
        any("\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in t) for t in texts
    )


@contextmanager
def _style(texts: Sequence[str]) -> Iterator[list[str]]:
    """Set matplotlib up for one figure; yield the notes (a missing CJK font)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import rc_context

    notes: list[str] = []
    families = ["DejaVu Sans"]
    if _has_cjk(texts):
        font = cjk_font()
        if font is None:
            notes.append("no CJK font found: Chinese labels may show as boxes (fonts-noto-cjk)")
        else:
            families = [font, "DejaVu Sans"]
    settings: dict[str, Any] = {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#e3e3e3",
        "svg.hashsalt": "netplan",
        "svg.fonttype": "path",
        "path.simplify": True,
    }
    with rc_context(settings), warnings.catch_warnings():  # type: ignore[arg-type]
        # Without a CJK font, matplotlib warns once per missing glyph; the note says it once.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        yield notes


def figure_data_uri(figure: Figure) -> str:
    """Return ``figure`` as a deterministic SVG ``data:`` URI (and close it)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    finally:
        plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class Series:
    """One line of a :func:`line_chart`."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    marker: str | None = None


def line_chart(
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    y_percent: bool = True,
    x_format: Callable[[float], str] | None = None,
    x_max: float | None = None,
    integer_x: bool = False,
    notes: list[str] | None = None,
) -> str:
    """Return a line chart as an SVG data URI.

    Parameters
    ----------
    series
        The lines, drawn in :data:`PALETTE` order.
    x_label, y_label
        Axis titles (with their units).
    y_percent
        Label the y axis in percent (values are shares 0-1).
    x_format
        Formats an x tick value (e.g. an amount with its currency).
    x_max
        Right end of the x axis (default: the data's).
    integer_x
        Ticks on whole numbers only (years, numbers of sites).
    notes
        Receives a line when Chinese labels had no CJK font.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    texts = [x_label, y_label, *(s.name for s in series)]
    with _style(texts) as found:
        figure, axes = plt.subplots(figsize=(7.2, 3.2))
        for position, line in enumerate(series):
            axes.plot(
                line.x,
                line.y,
                color=PALETTE[position % len(PALETTE)],
                linewidth=2.2,
                marker=line.marker,
                label=line.name,
            )
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        if y_percent:
            axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            axes.set_ylim(0.0, 1.0)
        if x_format is not None:
            axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: x_format(value)))
        axes.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=integer_x))
        if x_max is not None:
            axes.set_xlim(left=min(0.0, *(min(s.x) for s in series if len(s.x))), right=x_max)
        if len(series) > 1:
            axes.legend(frameon=False, loc="lower right")
        figure.tight_layout()
        uri = figure_data_uri(figure)
    if notes is not None:
        notes.extend(n for n in found if n not in notes)
    return uri


@dataclass
class MapLayers:
    """What the static network map shows.

    Attributes
    ----------
    outlines
        Province (or other) outlines as shapely geometries, drawn light grey.
    zones_today, zones_plan
        Blind-spot polygons today and left by the plan (shapely geometries).
    sites
        ``(label, lon, lat, style)`` groups; ``style`` is ``"opened"``,
        ``"kept"`` or ``"closed"``; one colour per tier in the order given.
    labels
        Legend texts: ``zones_today``, ``zones_plan``, ``opened``, ``kept``, ``closed``.
    outline_labels
        ``(name, lon, lat)`` of each outline (province names), drawn small and grey.
    """

    outlines: Sequence[Any] = ()
    zones_today: Sequence[Any] = ()
    zones_plan: Sequence[Any] = ()
    sites: Sequence[tuple[str, Sequence[float], Sequence[float], str]] = ()
    labels: dict[str, str] = field(default_factory=dict)
    outline_labels: Sequence[tuple[str, float, float]] = ()


def _draw_polygons(axes: Axes, geometries: Sequence[Any], **style: Any) -> bool:
    """Draw polygon outlines/fills; return whether anything was drawn."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon

    patches = []
    for geometry in geometries:
        if geometry is None or geometry.is_empty:
            continue
        parts = getattr(geometry, "geoms", [geometry])
        for part in parts:
            if part.geom_type == "Polygon":
                patches.append(Polygon(np.asarray(part.exterior.coords)[:, :2], closed=True))
            elif part.geom_type in ("LineString", "LinearRing", "MultiLineString"):
                for line in getattr(part, "geoms", [part]):
                    coords = np.asarray(line.coords)
                    axes.plot(
                        coords[:, 0],
                        coords[:, 1],
                        **{k: v for k, v in style.items() if k in ("color", "linewidth")},
                    )
    if patches:
        axes.add_collection(PatchCollection(patches, **style))
    return bool(patches)


def network_map_figure(layers: MapLayers, *, notes: list[str] | None = None) -> str:
    """Return the static map of the network (outlines, blind spots, sites) as an SVG data URI.

    Longitude is scaled by the cosine of the mean latitude so shapes are not
    stretched. Opened sites are drawn large and outlined, kept sites smaller,
    closed sites as crosses.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    labels = layers.labels
    texts = [
        *labels.values(),
        *(group[0] for group in layers.sites),
        *(name for name, _, _ in layers.outline_labels),
    ]
    with _style(texts) as found:
        figure, axes = plt.subplots(figsize=(9.0, 6.6))
        axes.grid(False)
        for side in ("top", "right", "bottom", "left"):
            axes.spines[side].set_visible(False)
        axes.set_xticks([])
        axes.set_yticks([])
        _draw_polygons(
            axes,
            list(layers.outlines),
            facecolor="#f7f7f5",
            edgecolor="#9a9a9a",
            linewidth=0.5,
            zorder=1,
        )
        for name, label_lon, label_lat in layers.outline_labels:
            axes.annotate(
                name,
                (label_lon, label_lat),
                fontsize=6.5,
                color="#7a7a7a",
                ha="center",
                va="center",
                zorder=4,
                annotation_clip=True,
            )
        handles: list[Any] = []
        if _draw_polygons(
            axes,
            list(layers.zones_today),
            facecolor="#fcbba1",
            edgecolor="#fc9272",
            linewidth=0.3,
            zorder=2,
        ):
            handles.append(
                Patch(
                    facecolor="#fcbba1",
                    edgecolor="#fc9272",
                    label=labels.get("zones_today", ""),
                )
            )
        if _draw_polygons(
            axes,
            list(layers.zones_plan),
            facecolor="#cb181d",
            edgecolor="#99000d",
            linewidth=0.3,
            zorder=3,
        ):
            handles.append(
                Patch(facecolor="#cb181d", edgecolor="#99000d", label=labels.get("zones_plan", ""))
            )
        colours: dict[str, str] = {}
        for label, _, _, _ in layers.sites:
            colours.setdefault(label, PALETTE[len(colours) % len(PALETTE)])
        sizes = {"opened": 70.0, "kept": 46.0, "closed": 40.0}
        for label, lon, lat, style in layers.sites:
            if not len(lon):
                continue
            colour = colours[label]
            if style == "closed":
                axes.scatter(
                    lon, lat, s=sizes[style], marker="x", color=colour, linewidths=1.4, zorder=5
                )
            else:
                axes.scatter(
                    lon,
                    lat,
                    s=sizes.get(style, 34.0),
                    marker="o" if style == "opened" else "s",
                    facecolor=colour,
                    edgecolor="black",
                    linewidths=1.0 if style == "opened" else 0.8,
                    zorder=6 if style == "opened" else 5,
                )
        for label, colour in colours.items():
            handles.append(Line2D([], [], linestyle="none", marker="o", color=colour, label=label))
        styles_used = {style for _, lon, _, style in layers.sites if len(lon)}
        for style, marker in (("opened", "o"), ("kept", "s"), ("closed", "x")):
            if style in styles_used and labels.get(style):
                handles.append(
                    Line2D(
                        [],
                        [],
                        linestyle="none",
                        marker=marker,
                        markerfacecolor="#ffffff" if marker != "x" else "#555555",
                        markeredgecolor="#000000" if marker != "x" else "#555555",
                        color="#555555",
                        label=labels[style],
                    )
                )
        boxes = [
            g.bounds
            for g in (*layers.zones_today, *layers.zones_plan)
            if g is not None and not g.is_empty
        ]
        boxes += [(min(x), min(y), max(x), max(y)) for _, x, y, _ in layers.sites if len(x)]
        if boxes:  # the view is the network's extent; outlines beyond it are cut off
            array = np.asarray(boxes, dtype=float)
            west, south = array[:, 0].min(), array[:, 1].min()
            east, north = array[:, 2].max(), array[:, 3].max()
            pad_x, pad_y = max(0.04 * (east - west), 0.2), max(0.04 * (north - south), 0.2)
            axes.set_xlim(west - pad_x, east + pad_x)
            axes.set_ylim(south - pad_y, north + pad_y)
        else:
            axes.autoscale_view()
        (y0, y1) = axes.get_ylim()
        mean_lat = float(np.clip((y0 + y1) / 2, -80, 80))
        axes.set_aspect(1.0 / max(np.cos(np.radians(mean_lat)), 0.2))
        if handles:
            axes.legend(handles=handles, loc="lower left", fontsize=8, frameon=True, framealpha=0.9)
        figure.tight_layout()
        uri = figure_data_uri(figure)
    if notes is not None:
        notes.extend(n for n in found if n not in notes)
    return uri
