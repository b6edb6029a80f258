"""Plans that explain themselves: why a plan opens nothing, or spends far less than it may.

A plan that opens no new site, or spends less than half its budget, while
demand is left uncovered, looks like a bug to a planner. :func:`explain_plan`
says why, from the model's own data (the reach matrix the plan was solved
on, the sites' statuses, costs and capacities, the support pairs and the
limits), one sentence per binding limit, in English and Chinese, with
figures:

``spend``
    What the plan spends against the budget, and its coverage (the lead).
``support_chain``
    Candidates that would cover more demand but have no open parent-tier site
    within ``support_radius_km``; whether opening a parent would allow them,
    and what that costs against the budget left.
``budget``
    The cheapest candidate that would cover more demand (and may open now)
    costs more than the budget left.
``tier_counts``, ``p``
    A count limit is reached while candidates of that tier would cover more.
``capacity``
    Open sites are full while demand within their reach is not served.
``required``
    Required sites take part of the budget.
``reach``
    The demand left uncovered is beyond the reach of every site that may open.
``target_met``
    A minimum-cost plan whose coverage target today's network already meets.

The tiered and the max-cover models are explained (the models with a budget
or counts); the support chain only where the model enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from netplan.i18n import text
from netplan.locate._matrix import structure
from netplan.locate.models import net_cost_terms
from netplan.locate.tiered import openable_sites

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from netplan.config import PlanOptions, Scenario

__all__ = ["LOW_SPEND_SHARE", "PlanFacts", "explain_plan"]

#: A plan spending less than this share of its budget, with demand uncovered, explains itself.
LOW_SPEND_SHARE = 0.5
#: Relative tolerance on money and weights.
_TOLERANCE = 1e-9


@dataclass
class PlanFacts:
    """What a model saw and what it chose, per site and per demand row.

    Attributes
    ----------
    cover
        Demand × site reach matrix the model solved on (a stored entry: the
        site reaches the point within its tier's promise).
    weights
        Demand weight per row.
    tiers, statuses, site_ids
        Per site (``tiers`` ``None`` for sites without a tier).
    fixed_costs, capacities
        Per site (capacity ``inf`` for none).
    support
        Site × site support pairs (``(j, h)``: ``h`` of ``j``'s parent tier
        within ``j``'s support radius); ``None`` when the model has no chain.
    needs_support
        ``True`` for sites whose tier has a parent.
    open_sites
        The plan: ``True`` for open sites.
    covered_share
        Per demand row, the share of its weight the plan serves (0 or 1, or a
        fraction under capacities).
    assigned_weight
        Per site, the demand weight the plan assigns to it.
    """

    cover: sp.csr_array
    weights: NDArray[np.float64]
    tiers: NDArray[np.object_]
    statuses: NDArray[np.object_]
    site_ids: NDArray[np.object_]
    fixed_costs: NDArray[np.float64]
    capacities: NDArray[np.float64]
    support: sp.csr_array | None
    needs_support: NDArray[np.bool_]
    open_sites: NDArray[np.bool_]
    covered_share: NDArray[np.float64]
    assigned_weight: NDArray[np.float64]


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _weight(value: float) -> str:
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def _share(value: float) -> str:
    return f"{100 * value:.1f}%"


def _union_gain(
    pattern: sp.csr_array, left_out: NDArray[np.float64], sites: NDArray[np.bool_]
) -> float:
    """Return the weight left out that any of ``sites`` reaches (each point counted once)."""
    return float(left_out[(pattern @ sites.astype(np.float64)) > 0].sum())


def _entry(reason: str, key: str, figures: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Return one explanation: its reason, English and Chinese sentences and the figures."""
    english = {k: (v["en"] if isinstance(v, dict) else v) for k, v in values.items()}
    chinese = {k: (v["zh"] if isinstance(v, dict) else v) for k, v in values.items()}
    return {
        "reason": reason,
        "text": text(key, "en", **english),
        "text_zh": text(key, "zh", **chinese),
        "figures": figures,
    }


def _both(key: str, **values: Any) -> dict[str, str]:
    """Return a sub-sentence in both languages (``{"en": ..., "zh": ...}``)."""
    return {"en": text(key, "en", **values), "zh": text(key, "zh", **values)}


def _label(scenario: Scenario, tier: Any) -> dict[str, str]:
    name = str(tier)
    return {"en": scenario.tier_label(name, "en"), "zh": scenario.tier_label(name, "zh")}


def explain_plan(
    facts: PlanFacts, options: PlanOptions, scenario: Scenario
) -> list[dict[str, Any]]:
    """Return why the plan opens nothing or spends little, or ``[]`` when it needs no excuse.

    A plan explains itself when demand is left uncovered and it opens no new
    site, or spends less than :data:`LOW_SPEND_SHARE` of a positive budget.

    Parameters
    ----------
    facts
        The model's data and the plan.
    options
        The limits the plan was solved under.
    scenario
        Tier labels, parents and support radii.

    Returns
    -------
    list of dict
        ``reason``, ``text`` (English), ``text_zh`` (Chinese) and ``figures``
        per sentence; the first is the lead (``spend``) and the others name
        the binding limits (see the module's reasons).
    """
    weights = np.asarray(facts.weights, dtype=np.float64)
    total = float(weights.sum())
    pattern = structure(sp.csr_array(facts.cover))
    is_open = np.asarray(facts.open_sites, dtype=bool)
    has_tier = np.array([t is not None and t == t for t in facts.tiers.tolist()], dtype=bool)
    existing = (facts.statuses == "existing") & has_tier
    # Served share per row: the plan's own (reach, or the capacitated assignment).
    served = np.clip(np.asarray(facts.covered_share, dtype=np.float64), 0.0, 1.0)
    coverage = float(weights @ served) / total if total > 0 else 1.0
    coef, constant = net_cost_terms(facts.fixed_costs, existing, options.closing_cost)
    spent = float(coef[is_open].sum()) + constant
    opened = int((is_open & ~existing).sum())
    budget = options.budget
    low_spend = budget is not None and budget > 0 and spent < LOW_SPEND_SHARE * budget
    if total <= 0 or coverage >= 1 - _TOLERANCE or not (opened == 0 or low_spend):
        return []

    figures = {"spent": spent, "budget": budget, "weighted_coverage_rate": coverage}
    entries: list[dict[str, Any]] = []
    if opened == 0:
        note = _both("explain_nothing_budget", budget=_money(budget)) if budget else ""
        entries.append(
            _entry("spend", "explain_nothing", figures, budget=note, coverage=_share(coverage))
        )
    else:
        assert budget is not None
        entries.append(
            _entry(
                "spend",
                "explain_spend",
                figures,
                spent=_money(spent),
                budget=_money(budget),
                share=_share(spent / budget),
                coverage=_share(coverage),
            )
        )
    target = options.coverage_target
    min_cost = options.model == "tiered" and (
        options.objective == "min_cost" or (options.objective is None and budget is None)
    )
    if target is not None and min_cost and coverage >= target - 1e-9:
        entries.append(
            _entry(
                "target_met",
                "explain_target_met",
                {"coverage_target": target, "weighted_coverage_rate": coverage},
                target=_share(target),
                coverage=_share(coverage),
            )
        )
        return entries

    # What each site that may still open would add: the uncovered weight it reaches.
    allowed = has_tier & np.isin(facts.statuses, ["existing", "candidate", "required"])
    may_add = allowed & ~is_open
    uncovered_weight = weights * (1.0 - served)
    gain = np.asarray(pattern.T @ uncovered_weight, dtype=np.float64)
    useful = may_add & (gain > 0)
    budget_left = None if budget is None else budget - spent
    chained = (
        np.asarray(facts.needs_support, dtype=bool) & ~existing
        if facts.support is not None
        else np.zeros(len(is_open), dtype=bool)
    )
    support = (
        sp.csr_array(facts.support)
        if facts.support is not None
        else sp.csr_array((len(is_open), len(is_open)))
    )
    supported_now = (support @ is_open.astype(np.float64)) > 0
    blocked = useful & chained & ~supported_now
    # Sites that can open at all once the chain is respected (a parent needing its own parent).
    can_open = openable_sites(facts.tiers, allowed, allowed & is_open, support, chained)
    parents_now = may_add & (~chained | supported_now)
    entries += _support_entries(
        facts,
        scenario,
        support,
        blocked,
        (may_add, parents_now, can_open),
        coef,
        budget_left,
        pattern,
        uncovered_weight,
    )

    openable_now = useful & ~blocked
    if budget_left is not None and budget is not None and openable_now.any():
        index = np.flatnonzero(openable_now)
        cheapest = int(index[np.lexsort((-gain[index], coef[index]))[0]])
        if coef[cheapest] > budget_left + _TOLERANCE * max(1.0, abs(budget)):
            entries.append(
                _entry(
                    "budget",
                    "explain_budget",
                    {
                        "site_id": str(facts.site_ids[cheapest]),
                        "cost": float(coef[cheapest]),
                        "budget_left": budget_left,
                        "gain": float(gain[cheapest]),
                    },
                    site=str(facts.site_ids[cheapest]),
                    tier=_label(scenario, facts.tiers[cheapest]),
                    gain=_weight(float(gain[cheapest])),
                    cost=_money(float(coef[cheapest])),
                    left=_money(budget_left),
                    budget=_money(budget),
                )
            )
    entries += _count_entries(
        facts, options, scenario, is_open, openable_now, pattern, uncovered_weight
    )
    entries += _capacity_entries(facts, options, is_open, pattern, weights)
    required = (facts.statuses == "required") & has_tier
    if budget is not None and required.any():
        cost = float(coef[required].sum())
        if cost > 0:
            entries.append(
                _entry(
                    "required",
                    "explain_required",
                    {"n_required": int(required.sum()), "cost": cost, "budget": budget},
                    n=int(required.sum()),
                    cost=_money(cost),
                    budget=_money(budget),
                )
            )
    beyond = np.where((pattern @ allowed.astype(np.float64)) > 0, 0.0, uncovered_weight)
    if beyond.sum() > 0:
        entries.append(_reach_entry(pattern, beyond, allowed, total))
    return entries


def _support_entries(
    facts: PlanFacts,
    scenario: Scenario,
    support: sp.csr_array,
    blocked: NDArray[np.bool_],
    parents: tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]],
    coef: NDArray[np.float64],
    budget_left: float | None,
    pattern: sp.csr_array,
    left_out: NDArray[np.float64],
) -> list[dict[str, Any]]:
    """Return one sentence per tier whose useful candidates lack an open parent.

    ``parents`` holds three site masks: may still open, may open now (no
    parent needed, or one open), and can open at all once the chain allows.
    """
    may_add, parents_now, can_open = parents
    entries: list[dict[str, Any]] = []
    for tier_name in sorted({str(t) for t in facts.tiers[blocked].tolist()}):
        tier = scenario.tiers.get(tier_name)
        if tier is None or tier.parent is None:
            continue
        members = np.flatnonzero(blocked & (facts.tiers == tier_name))
        radius = tier.support_radius_km
        radius_text = "—" if radius is None else f"{radius:,.0f}"
        # The parents that could open and would support each blocked candidate.
        rows = support[members]
        parent_cols = rows.indices
        parent_ok = parents_now[parent_cols]
        owners = np.repeat(np.arange(len(members)), np.diff(rows.indptr))
        pair = np.full(len(members), np.inf)
        if parent_ok.any():
            np.minimum.at(pair, owners[parent_ok], coef[parent_cols[parent_ok]])
        enabled = np.isfinite(pair)
        n_blocked = len(members)
        gain_sum = _union_gain(pattern, left_out, blocked & (facts.tiers == tier_name))
        common = {
            "n": n_blocked,
            "tier": _label(scenario, tier_name),
            "gain": _weight(gain_sum),
            "parent": _label(scenario, tier.parent),
            "radius": radius_text,
        }
        figures: dict[str, Any] = {
            "tier": tier_name,
            "parent_tier": tier.parent,
            "support_radius_km": radius,
            "n_candidates": n_blocked,
            "gain": gain_sum,
        }
        if not enabled.any():
            grandparent = (
                scenario.tiers[tier.parent].parent if tier.parent in scenario.tiers else None
            )
            key = "explain_support_none"
            if grandparent is not None and can_open[parent_cols].any():
                key = "explain_support_deeper"
            elif grandparent is not None and may_add[parent_cols].any():
                key = "explain_support_blocked"
            if grandparent is not None:
                common["grandparent"] = _label(scenario, grandparent)
            figures["parent_needs"] = grandparent if key != "explain_support_none" else None
            entries.append(_entry("support_chain", key, figures, **common))
            continue
        parent_cost = float(pair[enabled].min())
        pair_cost = float((pair + coef[members])[enabled].min())
        left: Any = ""
        if budget_left is not None and pair_cost > budget_left + _TOLERANCE * max(
            1.0, abs(budget_left)
        ):
            left = _both("explain_support_left", left=_money(budget_left))
        figures.update(
            {
                "cheapest_parent_cost": parent_cost,
                "cheapest_parent_and_candidate_cost": pair_cost,
                "budget_left": budget_left,
            }
        )
        entries.append(
            _entry(
                "support_chain",
                "explain_support",
                figures,
                parent_cost=_money(parent_cost),
                pair_cost=_money(pair_cost),
                left=left,
                **common,
            )
        )
    return entries


def _count_entries(
    facts: PlanFacts,
    options: PlanOptions,
    scenario: Scenario,
    is_open: NDArray[np.bool_],
    openable_now: NDArray[np.bool_],
    pattern: sp.csr_array,
    left_out: NDArray[np.float64],
) -> list[dict[str, Any]]:
    """Return the sentences of count limits reached while candidates would cover more."""
    entries: list[dict[str, Any]] = []
    for tier_name, limit in sorted(options.tier_counts.items()):
        in_tier = facts.tiers == tier_name
        n_open = int((is_open & in_tier).sum())
        waiting = openable_now & in_tier
        if n_open >= limit and waiting.any():
            entries.append(
                _entry(
                    "tier_counts",
                    "explain_tier_count",
                    {"tier": tier_name, "n_open": n_open, "limit": int(limit)},
                    tier=_label(scenario, tier_name),
                    n=n_open,
                    limit=int(limit),
                    k=int(waiting.sum()),
                    gain=_weight(_union_gain(pattern, left_out, waiting)),
                )
            )
    n_open = int(is_open.sum())
    if options.p is not None and n_open >= options.p and openable_now.any():
        entries.append(
            _entry(
                "p",
                "explain_p",
                {"n_open": n_open, "p": int(options.p)},
                n=n_open,
                p=int(options.p),
                k=int(openable_now.sum()),
                gain=_weight(_union_gain(pattern, left_out, openable_now)),
            )
        )
    return entries


def _capacity_entries(
    facts: PlanFacts,
    options: PlanOptions,
    is_open: NDArray[np.bool_],
    pattern: sp.csr_array,
    weights: NDArray[np.float64],
) -> list[dict[str, Any]]:
    """Return the sentence of full sites with unserved demand within their reach."""
    if not options.capacitated:
        return []
    capacity = np.asarray(facts.capacities, dtype=np.float64)
    limited = is_open & np.isfinite(capacity)
    full = limited & (facts.assigned_weight >= capacity * (1 - 1e-6) - 1e-9)
    if not full.any():
        return []
    unserved = weights * (1.0 - np.clip(facts.covered_share, 0.0, 1.0))
    near_full = (pattern @ full.astype(np.float64)) > 0
    waiting = float(unserved[near_full].sum())
    if waiting <= _TOLERANCE * max(1.0, float(weights.sum())):
        return []
    return [
        _entry(
            "capacity",
            "explain_capacity",
            {"n_full": int(full.sum()), "unserved_weight": waiting},
            n=int(full.sum()),
            weight=_weight(waiting),
        )
    ]


def _reach_entry(
    pattern: sp.csr_array,
    left_out: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    total: float,
) -> dict[str, Any]:
    """Return the sentence for the demand left out (weight per row) that no open site reaches."""
    uncovered = left_out > 0
    others = ~allowed  # closed and competitor sites, and sites without a tier
    by_others = ((pattern @ others.astype(np.float64)) > 0) & uncovered
    uncovered_weight = float(left_out.sum())
    other_weight = float(left_out[by_others].sum())
    closed = _both("explain_reach_closed", weight=_weight(other_weight)) if other_weight else ""
    return _entry(
        "reach",
        "explain_reach",
        {
            "uncovered_weight": uncovered_weight,
            "uncovered_rate": uncovered_weight / total,
            "n_uncovered": int(uncovered.sum()),
            "reached_only_by_closed_or_competitor": other_weight,
        },
        uncovered=_share(uncovered_weight / total),
        n=f"{int(uncovered.sum()):,}",
        closed=closed,
    )
