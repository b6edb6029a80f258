"""English and Chinese user-interface strings for maps, scores and reports.

Every label a planner reads on a map, in a score's reasons or in a report is
looked up here by key with :func:`text`; tier names come from the scenario
(``label`` / ``label_zh``), never from this table. Strings are plain text:
callers escape them (``html.escape``) before they reach HTML, like every
other string.
"""

from __future__ import annotations

from collections.abc import Mapping

from netplan.errors import ConfigError

__all__ = ["LANGUAGES", "STRINGS", "check_lang", "text"]

#: Languages netplan writes: English and (simplified) Chinese.
LANGUAGES = ("en", "zh")

#: ``key -> {"en": ..., "zh": ...}``; ``{name}`` placeholders are filled by :func:`text`.
STRINGS: Mapping[str, Mapping[str, str]] = {
    # ----------------------------------------------------------------- map
    "map_title": {"en": "Service network", "zh": "售后服务网点布局"},
    "layer_demand_heat": {"en": "Demand (heat map)", "zh": "服务需求（热力图）"},
    "layer_blindspots": {"en": "Blind spots", "zh": "服务盲区"},
    "layer_blindspots_today": {"en": "Blind spots (today)", "zh": "服务盲区（现状）"},
    "layer_blindspots_plan": {"en": "Blind spots (plan)", "zh": "服务盲区（规划）"},
    "layer_competitors": {"en": "Competitors", "zh": "竞争对手网点"},
    "layer_sites": {"en": "{tier}: sites", "zh": "{tier}：网点"},
    "layer_radius": {"en": "{tier}: service radius", "zh": "{tier}：服务半径"},
    "base_osm": {"en": "OpenStreetMap", "zh": "OpenStreetMap 地图"},
    "base_positron": {"en": "CartoDB positron (light)", "zh": "CartoDB positron（浅色）"},
    "legend": {"en": "Legend", "zh": "图例"},
    "legend_tiers": {"en": "Tiers", "zh": "网点类型"},
    "legend_status": {"en": "Status", "zh": "状态"},
    "legend_blindspot": {
        "en": "Blind spot (darker: more demand)",
        "zh": "盲区（颜色越深需求越大）",
    },
    "legend_heat": {"en": "Demand density", "zh": "需求密度"},
    "status_existing": {"en": "Existing", "zh": "现有"},
    "status_required": {"en": "Required", "zh": "必选"},
    "status_proposed": {"en": "Proposed (opened)", "zh": "新建（规划）"},
    "status_candidate": {"en": "Candidate", "zh": "候选"},
    "status_closed": {"en": "Closed", "zh": "关闭"},
    "status_competitor": {"en": "Competitor", "zh": "竞争对手"},
    "kpis": {"en": "Key figures", "zh": "关键指标"},
    "kpi_coverage_rate": {"en": "Coverage rate (points)", "zh": "服务覆盖率（按点数）"},
    "kpi_weighted_coverage": {"en": "Weighted coverage", "zh": "加权服务覆盖率"},
    "kpi_p95_distance": {"en": "95th percentile distance", "zh": "95% 分位距离"},
    "kpi_sites_by_tier": {"en": "Sites by tier", "zh": "各类型网点数"},
    "kpi_blindspots": {"en": "Blind spots", "zh": "盲区数量"},
    "kpi_total_weight": {"en": "Total demand", "zh": "总需求量"},
    "kpi_before": {"en": "today", "zh": "现状"},
    "kpi_after": {"en": "plan", "zh": "规划"},
    "field_id": {"en": "Id", "zh": "编号"},
    "field_name": {"en": "Name", "zh": "名称"},
    "field_tier": {"en": "Tier", "zh": "类型"},
    "field_status": {"en": "Status", "zh": "状态"},
    "field_assigned": {"en": "Assigned demand", "zh": "分配需求量"},
    "field_score": {"en": "Score", "zh": "评分"},
    "field_rank": {"en": "Rank", "zh": "排名"},
    "field_fixed_cost": {"en": "Fixed cost", "zh": "固定成本"},
    "field_engineers": {"en": "Engineers", "zh": "工程师人数"},
    "layer_roadmap_year": {
        "en": "Roadmap year {year}: {n} opened",
        "zh": "第{year}年：新开{n}个网点",
    },
    "roadmap_opened": {"en": "opened in year {year}", "zh": "第{year}年新开"},
    "roadmap_closed": {"en": "closed in year {year}", "zh": "第{year}年关闭"},
    "field_zone": {"en": "Blind spot", "zh": "盲区"},
    "field_points": {"en": "Demand points", "zh": "需求点数"},
    "field_weight": {"en": "Demand weight", "zh": "需求量"},
    "field_area": {"en": "Area (km²)", "zh": "面积（平方公里）"},
    "field_nearest": {"en": "Nearest outlet", "zh": "最近网点"},
    "field_distance": {"en": "Distance (km)", "zh": "距离（公里）"},
    "field_reasons": {"en": "Reasons", "zh": "理由"},
    "none": {"en": "none", "zh": "无"},
    # ----------------------------------------------------------------- map: basemap, tiles, layers
    "layer_outlines": {"en": "Province and city borders", "zh": "省界与市界"},
    "layer_place_names": {"en": "Place names", "zh": "地名"},
    "layer_proposed": {"en": "New sites (plan)", "zh": "新建网点（规划）"},
    "layer_candidates": {"en": "Candidate sites", "zh": "候选网点"},
    "layer_candidates_not_selected": {
        "en": "Candidates not selected",
        "zh": "未入选的候选网点",
    },
    "base_none": {"en": "No tiles (offline outlines)", "zh": "无底图（离线边界）"},
    "base_amap": {"en": "AMap (GaoDe) streets", "zh": "高德地图"},
    "base_amap_satellite": {"en": "AMap (GaoDe) satellite", "zh": "高德卫星影像"},
    "tiles_failed": {
        "en": "Map tiles could not be loaded (no internet?); "
        "the borders and names drawn here need none.",
        "zh": "底图瓦片无法加载（可能未联网）；本图自带的边界和地名不受影响。",
    },
    "legend_radius": {
        "en": "Service radius of an open site",
        "zh": "在营网点的服务半径",
    },
    "legend_radius_km": {"en": "{km} km", "zh": "{km} 公里"},
    "legend_province_border": {"en": "Province border", "zh": "省界"},
    "legend_city_border": {"en": "City border (zoom in)", "zh": "市界（放大后显示）"},
    "field_place": {"en": "Place", "zh": "地点"},
    "legend_candidates_hidden": {
        "en": "Candidates not selected are hidden: show them with the layers button (top right)",
        "zh": "未入选的候选网点默认隐藏，可在右上角图层按钮中勾选显示",
    },
    # ----------------------------------------------------------------- scoring factors
    "factor_demand": {"en": "Demand in reach", "zh": "服务半径内需求"},
    "factor_gap_fill": {"en": "Uncovered demand captured", "zh": "填补盲区需求"},
    "factor_overlap": {"en": "Overlap with today's network", "zh": "与现有网点重叠"},
    "factor_distance_to_outlet": {"en": "Distance to nearest outlet", "zh": "距最近现有网点"},
    "factor_competitors": {"en": "Competitors in reach", "zh": "半径内竞争对手"},
    "factor_cost": {"en": "Fixed cost", "zh": "固定成本"},
    "factor_attribute": {"en": "{column}", "zh": "{column}"},
    "reason_demand": {
        "en": "serves {value} demand within its radius",
        "zh": "服务半径内需求 {value}",
    },
    "reason_gap_fill": {
        "en": "captures {value} demand no outlet covers today",
        "zh": "可覆盖现有网点未覆盖的需求 {value}",
    },
    "reason_overlap": {
        "en": "little overlap with today's network ({value} of its catchment covered)",
        "zh": "与现有网点重叠少（服务范围内已覆盖 {value}）",
    },
    "reason_distance_to_outlet": {
        "en": "{value} km from the nearest outlet",
        "zh": "距最近网点 {value} 公里",
    },
    "reason_distance_to_outlet_none": {"en": "no outlet nearby today", "zh": "目前附近没有网点"},
    "reason_competitors": {
        "en": "{value} competitor(s) within its radius",
        "zh": "半径内竞争对手 {value} 家",
    },
    "reason_competitors_none": {"en": "no competitor within its radius", "zh": "半径内无竞争对手"},
    "reason_cost": {"en": "low fixed cost ({value})", "zh": "固定成本较低（{value}）"},
    "reason_attribute_benefit": {
        "en": "{column} is high ({value})",
        "zh": "{column} 较高（{value}）",
    },
    "reason_attribute_cost": {"en": "{column} is low ({value})", "zh": "{column} 较低（{value}）"},
    # ----------------------------------------------------------------- report
    "report_title": {"en": "Service network review", "zh": "售后服务网点规划报告"},
    "report_generated_from": {"en": "Inputs", "zh": "输入"},
    "section_headline": {"en": "Headline", "zh": "核心结论"},
    "section_kpis": {"en": "Key figures", "zh": "关键指标"},
    "section_sites_by_tier": {"en": "Sites by tier", "zh": "各类型网点"},
    "section_changes": {"en": "Sites opened and closed", "zh": "新建与关闭的网点"},
    "section_blindspots": {"en": "Largest blind spots", "zh": "主要服务盲区"},
    "section_distance_curve": {"en": "Coverage by distance", "zh": "按距离的累计覆盖率"},
    "section_tradeoff": {"en": "Trade-off curve", "zh": "成本与覆盖权衡曲线"},
    "section_roadmap": {"en": "Roll-out roadmap", "zh": "分期建设路线图"},
    "section_staffing": {
        "en": "Staffing and response time",
        "zh": "人员配置与服务响应时效",
    },
    "staffing_engineers": {"en": "Engineers needed", "zh": "所需工程师人数"},
    "staffing_calls": {"en": "Service calls a year", "zh": "年度服务需求量"},
    "staffing_output": {"en": "Output per engineer", "zh": "人均产值"},
    "response_overall": {
        "en": "Demand within the on-site promise",
        "zh": "承诺时限内到达的需求占比",
    },
    "response_mean_hours": {"en": "Mean arrival (hours)", "zh": "平均到达时间（小时）"},
    "response_grade": {"en": "Grade {grade}", "zh": "{grade}类区域"},
    "roadmap_x": {"en": "year (0: today)", "zh": "年份（0：现状）"},
    "col_year": {"en": "Year", "zh": "年份"},
    "col_new_sites": {"en": "New", "zh": "新开"},
    "col_spend": {"en": "New yearly cost", "zh": "新增年度成本"},
    "col_engineers": {"en": "Engineers", "zh": "工程师人数"},
    "col_open_sites": {"en": "Open", "zh": "在营网点"},
    "col_opened_sites": {"en": "Sites opened", "zh": "新开网点"},
    "section_scores": {"en": "Top-scored candidate sites", "zh": "候选网点评分排名"},
    "section_comparison": {"en": "Scenario comparison", "zh": "方案对比"},
    "section_map": {"en": "Map", "zh": "地图"},
    "col_kpi": {"en": "Key figure", "zh": "指标"},
    "col_before": {"en": "Today", "zh": "现状"},
    "col_after": {"en": "Plan", "zh": "规划"},
    "col_change": {"en": "Change", "zh": "变化"},
    "col_value": {"en": "Value", "zh": "数值"},
    "col_tier": {"en": "Tier", "zh": "类型"},
    "col_sites": {"en": "Sites", "zh": "网点数"},
    "col_cost": {"en": "Fixed cost", "zh": "固定成本"},
    "col_decision": {"en": "Decision", "zh": "决策"},
    "col_site": {"en": "Site", "zh": "网点"},
    "col_name": {"en": "Name", "zh": "名称"},
    "col_score": {"en": "Score", "zh": "评分"},
    "col_rank": {"en": "Rank", "zh": "排名"},
    "col_reasons": {"en": "Why", "zh": "理由"},
    "col_zone": {"en": "Zone", "zh": "盲区"},
    "col_points": {"en": "Points", "zh": "点数"},
    "col_weight": {"en": "Demand", "zh": "需求量"},
    "col_area": {"en": "Area km²", "zh": "面积（平方公里）"},
    "col_nearest": {"en": "Nearest outlet", "zh": "最近网点"},
    "col_distance": {"en": "Distance km", "zh": "距离（公里）"},
    "col_assigned": {"en": "Assigned demand", "zh": "分配需求量"},
    "col_utilisation": {"en": "Utilisation", "zh": "负荷率"},
    "col_a": {"en": "A", "zh": "方案 A"},
    "col_b": {"en": "B", "zh": "方案 B"},
    "decision_kept": {"en": "kept", "zh": "保留"},
    "decision_opened": {"en": "opened", "zh": "新建"},
    "decision_closed": {"en": "closed", "zh": "关闭"},
    "decision_not_selected": {"en": "not selected", "zh": "未选中"},
    "kpi_n_demand": {"en": "Demand points", "zh": "需求点数"},
    "kpi_covered_weight": {"en": "Covered demand", "zh": "已覆盖需求量"},
    "kpi_uncovered_weight": {"en": "Uncovered demand", "zh": "未覆盖需求量"},
    "kpi_mean_distance": {"en": "Mean distance to nearest outlet", "zh": "到最近网点平均距离"},
    "kpi_p50_distance": {"en": "Median distance to nearest outlet", "zh": "到最近网点距离中位数"},
    "kpi_overlap_rate": {
        "en": "Overlap (covered by 2+ outlets)",
        "zh": "重叠率（被两个及以上网点覆盖）",
    },
    "kpi_blindspot_weight": {"en": "Demand in blind spots", "zh": "盲区需求量"},
    "kpi_total_fixed_cost": {"en": "Total fixed cost", "zh": "固定成本合计"},
    "kpi_n_sites": {"en": "Outlets", "zh": "网点数"},
    "kpi_solver_status": {"en": "Solver status", "zh": "求解状态"},
    "kpi_gap": {"en": "Optimality gap", "zh": "最优性间隙"},
    "headline_coverage": {
        "en": "Weighted coverage is {value}.",
        "zh": "加权服务覆盖率为 {value}。",
    },
    "headline_plan": {
        "en": "The plan moves weighted coverage from {before} to {after} ({delta}) by "
        "opening {opened} and closing {closed} outlets, for {new_cost} of new fixed cost"
        "{budget}; the whole network then costs {network}.",
        "zh": "规划方案将加权覆盖率由 {before} 提升至 {after}（{delta}）：新建 {opened} 个、"
        "关闭 {closed} 个网点，新增固定成本 {new_cost}{budget}；规划后整个网络固定成本 {network}。",
    },
    "headline_blindspots": {
        "en": "{n} blind spots hold {weight} of demand; the largest holds {largest}.",
        "zh": "共有 {n} 个盲区，需求量 {weight}；最大盲区需求量 {largest}。",
    },
    "headline_scores": {
        "en": "Best-scored candidate: {site} ({tier}, score {score}).",
        "zh": "评分最高的候选网点：{site}（{tier}，{score} 分）。",
    },
    "headline_scores_left_out": {
        "en": "Best-scored candidate: {site} ({tier}, score {score}); the plan does not open "
        "it (see “Why not”).",
        "zh": "评分最高的候选网点：{site}（{tier}，{score} 分）；规划未选中它（见“未选原因”）。",
    },
    # ----------------------------------------------------------------- report (issue 15)
    "headline_budget": {"en": " (budget {budget})", "zh": "（预算 {budget}）"},
    "per_year": {"en": "{amount} per year", "zh": "{amount}/年"},
    "place_near": {"en": "near {site}", "zh": "{site}附近"},
    "currency_assumed": {
        "en": "Costs are shown in CNY, the default currency: no scenario was given "
        "(pass --config with [scenario] currency to name yours).",
        "zh": "成本按默认币种人民币（CNY）显示：未提供场景文件（用 --config 并在 [scenario] "
        "中设置 currency 以指定币种）。",
    },
    "section_summary": {"en": "Summary", "zh": "概要"},
    "summary_today": {"en": "today", "zh": "现状"},
    "summary_new_cost": {"en": "New fixed cost per year", "zh": "新增年度固定成本"},
    "summary_budget": {
        "en": "budget {budget} ({share} used)",
        "zh": "预算 {budget}（已用 {share}）",
    },
    "summary_no_budget": {"en": "no budget set", "zh": "未设预算"},
    "summary_sites": {"en": "Sites opened / closed", "zh": "新建 / 关闭网点"},
    "summary_opened_closed": {"en": "{opened} / {closed}", "zh": "{opened} / {closed}"},
    "summary_network": {
        "en": "{n} open in the plan; network {cost}",
        "zh": "规划后在营 {n} 个；网络成本 {cost}",
    },
    "summary_blindspot_weight": {"en": "{weight} demand left in them", "zh": "盲区需求量 {weight}"},
    "summary_top_blindspots": {"en": "Largest blind spots", "zh": "最大服务盲区"},
    "summary_by_tier": {"en": "Sites by tier and decision", "zh": "各类型网点决策"},
    "summary_open": {"en": "Open in the plan", "zh": "规划在营"},
    "section_sites": {"en": "Sites in the plan", "zh": "规划网点清单"},
    "section_why_not": {
        "en": "Why not: best-scored candidates the plan leaves out",
        "zh": "未选原因：评分靠前但未被选中的候选网点",
    },
    "why_intro": {
        "en": "Scores rank each candidate alone; the plan chooses sites together. "
        "These are the best-scored candidates it did not open, with the model's own figures.",
        "zh": "评分单独衡量每个候选点，规划则整体选址。"
        "以下为评分靠前但未被选中的候选网点及其依据。",
    },
    "why_support": {
        "en": "no open {parent} within its {radius} km support radius (nearest {nearest} km)",
        "zh": "支撑半径 {radius} 公里内没有在营的{parent}（最近 {nearest} 公里）",
    },
    "why_support_none": {
        "en": "no {parent} is open in the plan to support it",
        "zh": "规划中没有可支撑它的{parent}",
    },
    "why_covered": {
        "en": "{share} of the {demand} demand within its reach is already covered by the plan's "
        "sites; it would add {new}",
        "zh": "其服务范围内需求 {demand} 中已有 {share} 由规划网点覆盖，仅能新增 {new}",
    },
    "why_no_demand": {"en": "no demand within its reach", "zh": "服务范围内没有需求"},
    "why_all_covered": {
        "en": "all {demand} demand within its reach is already covered by the plan's sites: "
        "{cost} a year would add no coverage",
        "zh": "其服务范围内的需求 {demand} 已全部由规划网点覆盖：每年 {cost} 不会新增任何覆盖",
    },
    "why_cost_per_call": {
        "en": "{cost} a year per newly covered call, against {plan} for the sites the plan opened",
        "zh": "每新增覆盖一单需求年成本 {cost}，而规划新建网点平均为 {plan}",
    },
    "why_budget": {
        "en": "it costs {cost} a year and the budget has {left} left",
        "zh": "每年成本 {cost}，而预算仅剩 {left}",
    },
    "why_other": {
        "en": "other sites cover the same demand at a better total",
        "zh": "其他网点组合能以更优的整体方案覆盖同样的需求",
    },
    "reasons_common": {"en": "most of them: {reasons}", "zh": "多数网点：{reasons}"},
    "col_place": {"en": "Place", "zh": "位置"},
    "col_province": {"en": "Province", "zh": "省份"},
    "col_city": {"en": "City", "zh": "城市"},
    "col_cost_year": {"en": "Fixed cost / year", "zh": "年固定成本"},
    "col_open": {"en": "Open", "zh": "在营"},
    "map_kept": {"en": "Kept", "zh": "保留"},
    "map_link": {"en": "Open the interactive map", "zh": "打开交互式地图"},
    "compare_count": {
        "en": "{n} (ids not in a coverage folder)",
        "zh": "{n} 个（覆盖目录无网点编号）",
    },
    "chart_money_axis": {"en": "{label} ({unit})", "zh": "{label}（{unit}）"},
    "chart_alt_distance": {"en": "Coverage by distance chart", "zh": "按距离累计覆盖率图"},
    "chart_alt_map": {"en": "Map of the network", "zh": "网点布局图"},
    "chart_alt_tradeoff": {"en": "Trade-off curve", "zh": "成本与覆盖权衡曲线"},
    "chart_alt_roadmap": {"en": "Coverage by year", "zh": "逐年覆盖率"},
    "xcol_id": {"en": "Id", "zh": "编号"},
    "xcol_name": {"en": "Name", "zh": "名称"},
    "xcol_tier": {"en": "Tier", "zh": "类型"},
    "xcol_status_before": {"en": "Status today", "zh": "现状"},
    "xcol_decision": {"en": "Decision", "zh": "决策"},
    "xcol_fixed_cost": {"en": "Fixed cost / year", "zh": "年固定成本"},
    "xcol_capacity": {"en": "Capacity", "zh": "服务能力"},
    "xcol_assigned_weight": {"en": "Assigned demand", "zh": "分配需求量"},
    "xcol_utilisation": {"en": "Utilisation", "zh": "负荷率"},
    "xcol_lon": {"en": "Longitude", "zh": "经度"},
    "xcol_lat": {"en": "Latitude", "zh": "纬度"},
    "xcol_annual_calls": {"en": "Service calls a year", "zh": "年度服务需求量"},
    "xcol_engineer_hours": {"en": "Engineer hours", "zh": "工程师工时"},
    "xcol_engineers": {"en": "Engineers", "zh": "工程师人数"},
    "xcol_engineer_utilisation": {"en": "Engineer utilisation", "zh": "工程师负荷率"},
    "xcol_output_per_engineer": {"en": "Output per engineer", "zh": "人均产值"},
    "xcol_province": {"en": "Province", "zh": "省份"},
    "xcol_city": {"en": "City", "zh": "城市"},
    "xcol_district": {"en": "District", "zh": "区县"},
    "xcol_place": {"en": "Place", "zh": "位置"},
    "xcol_site_id": {"en": "Site", "zh": "网点编号"},
    "xcol_total_score": {"en": "Score", "zh": "总评分"},
    "xcol_rank": {"en": "Rank", "zh": "排名"},
    "xcol_reasons_en": {"en": "Reasons (English)", "zh": "理由（英文）"},
    "xcol_reasons_zh": {"en": "Reasons (Chinese)", "zh": "理由（中文）"},
    "xcol_zone_id": {"en": "Blind spot", "zh": "盲区编号"},
    "xcol_n_points": {"en": "Demand points", "zh": "需求点数"},
    "xcol_weight": {"en": "Demand", "zh": "需求量"},
    "xcol_area_km2": {"en": "Area", "zh": "面积"},
    "xcol_centroid_lon": {"en": "Centre longitude", "zh": "中心经度"},
    "xcol_centroid_lat": {"en": "Centre latitude", "zh": "中心纬度"},
    "xcol_nearest_site": {"en": "Nearest outlet", "zh": "最近网点"},
    "xcol_distance_km": {"en": "Distance", "zh": "距离"},
    "xcol_distance": {"en": "Distance", "zh": "距离"},
    "xcol_demand_id": {"en": "Demand point", "zh": "需求点编号"},
    "xcol_year": {"en": "Year", "zh": "年份"},
    "xcol_sites_open": {"en": "Sites open", "zh": "在营网点"},
    "xcol_new_sites": {"en": "New sites", "zh": "新开网点"},
    "xcol_spend": {"en": "New yearly cost", "zh": "新增年度成本"},
    "xcol_weighted_coverage_rate": {"en": "Weighted coverage", "zh": "加权覆盖率"},
    "xcol_covered_weight": {"en": "Covered demand", "zh": "已覆盖需求量"},
    "xcol_n_blindspots": {"en": "Blind spots", "zh": "盲区数量"},
    "xcol_closed_sites": {"en": "Closed sites", "zh": "关闭网点"},
    "xcol_budget": {"en": "Budget", "zh": "预算"},
    "xcol_coverage_target": {"en": "Coverage target", "zh": "覆盖率目标"},
    "xcol_total_weight": {"en": "Total demand", "zh": "总需求量"},
    "xcol_response_share_within_promise": {"en": "Within the promise", "zh": "承诺时限内占比"},
    "xcol_year_opened": {"en": "Year opened", "zh": "开业年份"},
    "xcol_year_closed": {"en": "Year closed", "zh": "关闭年份"},
    "xcol__value": {"en": "{name} (value)", "zh": "{name}（数值）"},
    "xcol__score": {"en": "{name} (score)", "zh": "{name}（得分）"},
    "xlsx_budget": {"en": "Budget (new sites, per year)", "zh": "预算（新增网点，每年）"},
    "sheet_summary": {"en": "Summary", "zh": "概要"},
    "sheet_sites": {"en": "Sites", "zh": "网点"},
    "sheet_scores": {"en": "Scores", "zh": "评分"},
    "sheet_blindspots": {"en": "Blind spots", "zh": "服务盲区"},
    "sheet_assignment": {"en": "Assignment", "zh": "需求分配"},
    "sheet_roadmap": {"en": "Roadmap", "zh": "路线图"},
    "sheet_response": {"en": "Response", "zh": "响应时效"},
    "sheet_why_not": {"en": "Why not", "zh": "未选原因"},
    "curve_x": {"en": "distance to nearest outlet (km)", "zh": "到最近网点距离（公里）"},
    "curve_y": {"en": "share of demand within", "zh": "累计需求占比"},
    "tradeoff_x": {"en": "fixed cost per year", "zh": "年固定成本"},
    "tradeoff_x_sites": {"en": "number of sites", "zh": "网点数"},
    "tradeoff_y": {"en": "weighted coverage", "zh": "加权覆盖率"},
    "no_blindspots": {"en": "No blind spot left.", "zh": "无服务盲区。"},
    "no_data": {"en": "No data given.", "zh": "未提供数据。"},
    "compare_added": {"en": "Sites added", "zh": "新增网点"},
    "compare_removed": {"en": "Sites removed", "zh": "减少网点"},
    "compare_newly_covered": {"en": "Demand newly covered", "zh": "新覆盖的需求"},
    "compare_newly_uncovered": {"en": "Demand no longer covered", "zh": "不再覆盖的需求"},
    # ----------------------------------------------------------------- plan explanations
    "explain_nothing": {
        "en": "The plan opens no new site{budget}; it covers {coverage} of demand weight.",
        "zh": "规划未新开任何网点{budget}；加权覆盖率为 {coverage}。",
    },
    "explain_nothing_budget": {
        "en": " although the budget is {budget}",
        "zh": "（预算为 {budget}）",
    },
    "explain_spend": {
        "en": (
            "The plan spends {spent} of the budget {budget} ({share}) and covers {coverage} "
            "of demand weight."
        ),
        "zh": "规划仅使用了预算 {budget} 中的 {spent}（{share}），加权覆盖率为 {coverage}。",
    },
    "explain_support": {
        "en": (
            "{n} {tier} candidate(s) that would cover {gain} more demand weight are farther "
            "than support_radius_km ({radius} km) from an open {parent}; opening a {parent} "
            "would allow them (cheapest {parent}: {parent_cost} a year; with a {tier}: "
            "{pair_cost}{left})."
        ),
        "zh": (
            "{n} 个{tier}候选网点（可新增覆盖需求量 {gain}）距最近的已开{parent}超过支撑半径 "
            "support_radius_km（{radius} 公里）；新开一个{parent}即可开设它们"
            "（最便宜的{parent}每年 {parent_cost}；连同一个{tier}共 {pair_cost}{left}）。"
        ),
    },
    "explain_support_left": {
        "en": ", more than the {left} left of the budget",
        "zh": "，超过剩余预算 {left}",
    },
    "explain_support_none": {
        "en": (
            "{n} {tier} candidate(s) that would cover {gain} more demand weight have no "
            "{parent}, open or candidate, within support_radius_km ({radius} km): they "
            "cannot open; add a {parent} candidate near them or raise the support radius."
        ),
        "zh": (
            "{n} 个{tier}候选网点（可新增覆盖需求量 {gain}）在支撑半径 support_radius_km"
            "（{radius} 公里）内没有任何已开或候选的{parent}，无法开设；请在附近增加{parent}"
            "候选点或放宽支撑半径。"
        ),
    },
    "explain_budget": {
        "en": (
            "The cheapest candidate that would cover more demand, {site} ({tier}, +{gain} "
            "demand weight), costs {cost} a year, more than the {left} left of the budget "
            "{budget}."
        ),
        "zh": (
            "可新增覆盖的最便宜候选网点 {site}（{tier}，新增需求量 {gain}）每年成本 {cost}，"
            "超过预算 {budget} 的剩余额度 {left}。"
        ),
    },
    "explain_reach": {
        "en": (
            "{uncovered} of demand weight ({n} point(s)) is beyond the reach of every site "
            "that may open{closed}; no budget would cover it."
        ),
        "zh": (
            "{uncovered} 的需求量（{n} 个需求点）超出所有可开网点的服务半径{closed}；"
            "增加预算也无法覆盖。"
        ),
    },
    "explain_support_deeper": {
        "en": (
            "{n} {tier} candidate(s) that would cover {gain} more demand weight are farther "
            "than support_radius_km ({radius} km) from an open {parent}, and every {parent} "
            "that could support them needs a {grandparent} opened first."
        ),
        "zh": (
            "{n} 个{tier}候选网点（可新增覆盖需求量 {gain}）距最近的已开{parent}超过支撑半径 "
            "support_radius_km（{radius} 公里），而能支撑它们的{parent}都需先新开{grandparent}。"
        ),
    },
    "explain_support_blocked": {
        "en": (
            "{n} {tier} candidate(s) that would cover {gain} more demand weight are farther "
            "than support_radius_km ({radius} km) from an open {parent}, and no {parent} "
            "near them can open (none has a supporting {grandparent}): they cannot open."
        ),
        "zh": (
            "{n} 个{tier}候选网点（可新增覆盖需求量 {gain}）距最近的已开{parent}超过支撑半径 "
            "support_radius_km（{radius} 公里），附近的{parent}也因缺少{grandparent}支撑无法开设，"
            "因此它们无法开设。"
        ),
    },
    "explain_reach_closed": {
        "en": " ({weight} of it is reached only by closed or competitor sites)",
        "zh": "（其中 {weight} 仅在已关闭或竞争对手网点的半径内）",
    },
    "explain_tier_count": {
        "en": (
            "{tier}: {n} open, the most tier_counts allows ({limit}); {k} more {tier} "
            "candidate(s) would cover {gain} more demand weight."
        ),
        "zh": (
            "{tier}：已开 {n} 个，达到 tier_counts 上限（{limit}）；"
            "另有 {k} 个候选可新增覆盖需求量 {gain}。"
        ),
    },
    "explain_p": {
        "en": (
            "The plan has {n} open sites, the most p allows ({p}); {k} more candidate(s) "
            "would cover {gain} more demand weight."
        ),
        "zh": "规划已开 {n} 个网点，达到 p 的上限（{p}）；另有 {k} 个候选可新增覆盖需求量 {gain}。",
    },
    "explain_capacity": {
        "en": (
            "{n} open site(s) are at capacity while {weight} demand weight within their reach "
            "is not served; more capacity or more sites would serve it."
        ),
        "zh": (
            "{n} 个已开网点已满负荷，其服务半径内仍有需求量 {weight} 未被服务；需增加产能或网点。"
        ),
    },
    "explain_required": {
        "en": "{n} required site(s) take {cost} of the budget {budget}.",
        "zh": "{n} 个必选网点占用预算 {budget} 中的 {cost}。",
    },
    "explain_target_met": {
        "en": (
            "Today's network already meets the coverage target {target} ({coverage}); the "
            "cheapest plan meeting it opens nothing more."
        ),
        "zh": "现有网点已达到覆盖率目标 {target}（实际 {coverage}），成本最低的规划无需新开网点。",
    },
    "report_footer": {
        "en": "Written by netplan from the output folders listed above.",
        "zh": "由 netplan 根据上述输出目录生成。",
    },
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if netplan writes it, else raise a :class:`ConfigError`.

    Parameters
    ----------
    lang
        ``"en"`` or ``"zh"``.
    """
    if lang not in LANGUAGES:
        msg = f"`lang`: netplan writes {' or '.join(LANGUAGES)}, got {lang!r}"
        raise ConfigError(msg)
    return lang


def text(key: str, lang: str = "en", **values: object) -> str:
    """Return the UI string ``key`` in ``lang`` with ``{name}`` placeholders filled.

    Parameters
    ----------
    key
        A key of :data:`STRINGS`.
    lang
        ``"en"`` or ``"zh"``.
    **values
        Values for the placeholders (converted with ``str``).

    Examples
    --------
    >>> text("layer_sites", "en", tier="City station")
    'City station: sites'
    >>> text("layer_sites", "zh", tier="城市服务站")
    '城市服务站：网点'
    """
    template = STRINGS[key][check_lang(lang)]
    return template.format(**values) if values else template
