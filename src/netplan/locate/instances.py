"""Readers for the public benchmark instances (OR-Library p-median and warehouse, SJC MCLP).

These feed the published optima through netplan's models, in tests and in
``benchmarks/bench_locate.py``. The formats and their traps (duplicate edges,
the ``capacity`` placeholder, mixed line endings) are described in the
benchmarks README; every reader splits on whitespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from netplan.errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "CapInstance",
    "MclpInstance",
    "PmedInstance",
    "read_cap",
    "read_cap_optima",
    "read_mclp_sjc",
    "read_pmed",
    "read_pmed_optima",
]


@dataclass(frozen=True)
class PmedInstance:
    """An OR-Library p-median instance: all-pairs shortest-path distances and ``p``."""

    name: str
    p: int
    distances: NDArray[np.float64]


@dataclass(frozen=True)
class CapInstance:
    """An OR-Library warehouse instance.

    ``allocation_costs[i, j]`` is the cost of serving customer ``i``'s whole
    demand from warehouse ``j`` (customers × warehouses).
    """

    name: str
    capacities: NDArray[np.float64]
    fixed_costs: NDArray[np.float64]
    demands: NDArray[np.float64]
    allocation_costs: NDArray[np.float64]


@dataclass(frozen=True)
class MclpInstance:
    """An SJC maximal-covering instance: planar coordinates (m) and demands."""

    name: str
    x: NDArray[np.int64]
    y: NDArray[np.int64]
    demand: NDArray[np.float64]

    def cover(self, service_distance: float) -> sp.csr_array:
        """Return the cover matrix: ``j`` covers ``i`` iff ``d_ij ≤ service_distance``.

        The test uses exact integer arithmetic (squared distances), so a pair
        exactly ``service_distance`` apart is covered.
        """
        dx = self.x[:, None] - self.x[None, :]
        dy = self.y[:, None] - self.y[None, :]
        squared = dx * dx + dy * dy
        limit = (
            round(service_distance) ** 2
            if float(service_distance).is_integer()
            else service_distance**2
        )
        rows, cols = np.nonzero(squared <= limit)
        values = np.sqrt(squared[rows, cols].astype(np.float64))
        return sp.csr_array((values, (rows, cols)), shape=(len(self.x), len(self.x)))


def _tokens(path: Path) -> list[str]:
    if not path.exists():
        msg = f"{path}: benchmark file not found"
        raise InputError(msg)
    return path.read_text(encoding="ascii", errors="replace").split()


def read_pmed(path: str | Path) -> PmedInstance:
    """Read ``pmedK.txt``: the graph, with the **last** occurrence of a repeated edge winning.

    Returns
    -------
    PmedInstance
        ``distances`` is the n × n all-pairs shortest-path matrix.
    """
    path = Path(path)
    values = np.array(_tokens(path), dtype=np.int64)
    n, m, p = (int(v) for v in values[:3])
    edges = values[3 : 3 + 3 * m].reshape(m, 3)
    i, j, cost = edges[:, 0] - 1, edges[:, 1] - 1, edges[:, 2].astype(np.float64)
    # Last occurrence wins: keep, for each unordered pair, the last edge listed.
    low, high = np.minimum(i, j), np.maximum(i, j)
    key = low * n + high
    reversed_key = key[::-1]
    _, first_in_reversed = np.unique(reversed_key, return_index=True)
    keep = len(key) - 1 - first_in_reversed
    graph = sp.csr_array(
        (
            np.concatenate([cost[keep], cost[keep]]),
            (np.concatenate([low[keep], high[keep]]), np.concatenate([high[keep], low[keep]])),
        ),
        shape=(n, n),
    )
    distances = shortest_path(graph, method="D", directed=False)
    return PmedInstance(name=path.stem, p=p, distances=distances)


def read_pmed_optima(path: str | Path) -> dict[str, float]:
    """Read ``pmedopt.txt`` into ``{"pmed1": 5819.0, ...}``."""
    text = Path(path).read_text(encoding="ascii", errors="replace")
    return {name: float(value) for name, value in re.findall(r"(pmed\d+)\s+(\d+(?:\.\d+)?)", text)}


def read_cap(path: str | Path, *, capacity: float | None = None) -> CapInstance:
    """Read ``capNN.txt`` (or ``capa/b/c.txt`` with ``capacity`` replacing the placeholder word).

    Parameters
    ----------
    path
        The instance file.
    capacity
        Capacity of every warehouse, required for files whose capacity field is
        the word ``capacity``; when given for other files it overrides theirs.
    """
    path = Path(path)
    tokens = _tokens(path)
    m, n = int(tokens[0]), int(tokens[1])
    head = tokens[2 : 2 + 2 * m]
    raw_capacity = head[0::2]
    if capacity is None and any(not _is_number(t) for t in raw_capacity):
        msg = f"{path}: capacities are the word 'capacity'; pass capacity=... (see capopt.txt)"
        raise InputError(msg)
    capacities = (
        np.full(m, float(capacity))
        if capacity is not None
        else np.array(raw_capacity, dtype=np.float64)
    )
    fixed = np.array(head[1::2], dtype=np.float64)
    body = np.array(tokens[2 + 2 * m : 2 + 2 * m + n * (m + 1)], dtype=np.float64).reshape(n, m + 1)
    return CapInstance(
        name=path.stem,
        capacities=capacities,
        fixed_costs=fixed,
        demands=body[:, 0],
        allocation_costs=body[:, 1:],
    )


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_cap_optima(path: str | Path) -> dict[tuple[str, float | None], float]:
    """Read ``capopt.txt`` or ``uncapopt.txt`` into ``{(instance, capacity or None): optimum}``.

    Rows of ``capa``/``capb``/``capc`` read ``value (capacity 8000)``, and
    continuation rows leave out the instance name; both carry the capacity.
    """
    out: dict[tuple[str, float | None], float] = {}
    current: str | None = None
    for line in Path(path).read_text(encoding="ascii", errors="replace").splitlines():
        match = re.match(
            r"^\s*(cap\w+?)?(?:\.txt)?\s+([-+]?\d+(?:\.\d+)?)\s*(?:\(capacity\s+(\d+(?:\.\d+)?)\))?\s*$",
            line,
            flags=re.IGNORECASE,
        )
        if match is None:
            continue
        name, value, capacity = match.groups()
        if name is not None:
            current = name.lower()
        if current is None:
            continue
        out[(current, float(capacity) if capacity is not None else None)] = float(value)
    return out


def read_mclp_sjc(path: str | Path) -> MclpInstance:
    """Read ``SJCnnn.txt`` (header ``n 9999 p S``, then ``x y demand``; mixed line endings)."""
    path = Path(path)
    tokens = _tokens(path)
    n = int(tokens[0])
    body = np.array(tokens[4 : 4 + 3 * n], dtype=np.float64).reshape(n, 3)
    return MclpInstance(
        name=path.stem,
        x=body[:, 0].astype(np.int64),
        y=body[:, 1].astype(np.int64),
        demand=body[:, 2],
    )
