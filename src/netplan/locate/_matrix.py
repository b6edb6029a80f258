"""Sparse-matrix helpers shared by the location models (vectorised, no loops over pairs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from netplan.errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Above this many multiply-adds the dominance check (``AᵀA``) is skipped as not worth it.
DOMINANCE_WORK_LIMIT = 3e8


def as_csr(matrix: Any, *, what: str = "matrix") -> sp.csr_array:
    """Return ``matrix`` as a CSR array whose stored entries are the allowed pairs.

    A dense array stores every entry (a boolean one only its ``True``
    entries, with value 1); a sparse one keeps exactly its stored entries,
    explicit zeros included (a zero distance is a real pair).
    """
    if sp.issparse(matrix):
        csr = sp.csr_array(matrix, dtype=np.float64)
        csr.sort_indices()
        csr.sum_duplicates()
        return csr
    array = np.asarray(matrix)
    if array.ndim != 2:
        msg = f"`{what}` must be a 2-D (demand × site) matrix, got shape {array.shape}"
        raise InputError(msg)
    if array.dtype == bool:
        return sp.csr_array(array.astype(np.float64))
    values = np.asarray(array, dtype=np.float64)
    if np.isnan(values).any():
        msg = f"`{what}` holds NaN entries; give a number for every pair, or pass a sparse matrix"
        raise InputError(msg)
    n_rows, n_cols = values.shape
    finite = np.isfinite(values)
    if finite.all():
        indptr = np.arange(0, n_rows * n_cols + 1, n_cols, dtype=np.int64)
        indices = np.tile(np.arange(n_cols, dtype=np.int32), n_rows)
        return sp.csr_array((values.ravel(), indices, indptr), shape=(n_rows, n_cols))
    rows, cols = np.nonzero(finite)
    return sp.csr_array((values[rows, cols], (rows, cols)), shape=(n_rows, n_cols))


def structure(csr: sp.csr_array) -> sp.csr_array:
    """Return the 0/1 pattern of ``csr`` (stored entries, explicit zeros included)."""
    return sp.csr_array(
        (np.ones(len(csr.indices)), csr.indices.copy(), csr.indptr.copy()), shape=csr.shape
    )


def row_ids(csr: sp.csr_array) -> NDArray[np.int64]:
    """Return the row index of every stored entry."""
    return np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))


def select_columns(
    csr: sp.csr_array, keep: NDArray[np.bool_]
) -> tuple[sp.csr_array, NDArray[np.int64]]:
    """Return ``csr`` restricted to the ``keep`` columns (renumbered) and the kept column ids."""
    kept = np.flatnonzero(keep)
    new_index = np.full(csr.shape[1], -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))
    entry_keep = keep[csr.indices]
    rows = row_ids(csr)[entry_keep]
    out = sp.csr_array(
        (csr.data[entry_keep], (rows, new_index[csr.indices[entry_keep]])),
        shape=(csr.shape[0], len(kept)),
    )
    out.sort_indices()
    return out, kept


def merge_identical_rows(
    pattern: sp.csr_array, extra_key: NDArray[np.int64] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Group rows with identical column sets (and equal ``extra_key``).

    Rows are hashed with two independent random 64-bit keys per column
    (summed modulo 2⁶⁴, exactly), then every grouped row is checked against
    its group's representative, so the grouping is exact.

    Returns
    -------
    group
        Group number of every row (``0 .. n_groups - 1``, in order of first appearance).
    representative
        First row of every group.
    """
    n_rows, n_cols = pattern.shape
    if n_rows == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(20240611)
    keys = rng.integers(0, np.iinfo(np.int64).max, size=(2, n_cols), dtype=np.int64).view(np.uint64)
    counts = np.diff(pattern.indptr)
    hashes = []
    for key in keys:
        values = key[pattern.indices]
        sums = np.zeros(n_rows, dtype=np.uint64)
        nonempty = counts > 0
        if values.size:
            starts = pattern.indptr[:-1][nonempty]
            sums[nonempty] = np.add.reduceat(values, starts)
        hashes.append(sums)
    columns = [hashes[0], hashes[1], counts.astype(np.uint64)]
    if extra_key is not None:
        columns.append(np.asarray(extra_key).astype(np.int64).view(np.uint64))
    table = np.stack(columns, axis=1)
    _, first, group = np.unique(table, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    # Renumber groups in order of first appearance (deterministic, input order).
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[group]
    representative = np.sort(first)
    # Exact check: every row's pattern equals its representative's.
    binary = structure(pattern)
    difference = binary - binary[representative[group]]
    if difference.count_nonzero() != 0:  # pragma: no cover - 128-bit hash collision
        return np.arange(n_rows, dtype=np.int64), np.arange(n_rows, dtype=np.int64)
    return group.astype(np.int64), representative.astype(np.int64)


def dominated_columns(
    pattern: sp.csr_array,
    costs: NDArray[np.float64] | None,
    *,
    protected: NDArray[np.bool_],
    groups: NDArray[np.int64] | None = None,
) -> NDArray[np.bool_]:
    """Return the columns that another column dominates, exactly.

    Column ``j`` is dominated by ``k`` when ``k`` covers every row ``j``
    covers, costs no more (when ``costs`` is given) and is in the same group
    (when ``groups`` is given). Ties (identical columns, equal costs) keep the
    lowest index. Protected columns (forced open) are never dropped. In a
    covering model (set cover, max cover) some optimal solution never uses a
    dominated column, so dropping them is exact.
    """
    n_cols = pattern.shape[1]
    dropped = np.zeros(n_cols, dtype=bool)
    sizes = np.diff(pattern.tocsc().indptr)
    per_row = np.diff(pattern.indptr).astype(np.float64)
    if float(per_row @ per_row) > DOMINANCE_WORK_LIMIT or n_cols < 2:
        return dropped
    binary = structure(pattern)
    overlap = (binary.T @ binary).tocoo()
    j, k, shared = overlap.row, overlap.col, overlap.data
    candidate = (j != k) & (shared == sizes[j]) & (sizes[j] > 0)
    if costs is not None:
        candidate &= costs[k] <= costs[j]
    if groups is not None:
        candidate &= groups[k] == groups[j]
    # Mutual domination (identical columns, equal cost): only the higher index is dropped.
    mutual = candidate & (sizes[k] == sizes[j])
    if costs is not None:
        mutual &= costs[k] == costs[j]
    candidate &= ~mutual | (k < j)
    dropped[np.unique(j[candidate])] = True
    dropped[sizes == 0] = True
    dropped &= ~protected
    return dropped


def nearest_open(
    csr: sp.csr_array, open_mask: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return, per row, the open column with the smallest value (``-1``/``inf`` if none).

    Ties go to the lowest column index.
    """
    n_rows = csr.shape[0]
    site = np.full(n_rows, -1, dtype=np.int64)
    distance = np.full(n_rows, np.inf)
    entry_open = open_mask[csr.indices]
    if not entry_open.any():
        return site, distance
    rows = row_ids(csr)[entry_open]
    cols = csr.indices[entry_open].astype(np.int64)
    values = csr.data[entry_open]
    order = np.lexsort((cols, values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    site[rows[first]] = cols[first]
    distance[rows[first]] = values[first]
    return site, distance
