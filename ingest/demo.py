"""Deterministic demo exports that look like a provincial utility's key-account data (SPEC section 7).

Everything is drawn with numpy from one seeded generator, so the same seed and end month give the
same files. What is planted, so the dashboard has something true to show:
- heavy-tailed size: contract capacity is Pareto-distributed, so a few hundred accounts carry most revenue;
- seasonal consumption (summer and winter peaks) and a per-customer growth trend (some fast risers);
- repair arrival slower in rural and remote areas;
- IMPROVING_REGION whose response, arrival and resolution times fall steadily over the three years;
- SURGE_REGION with an outage in SURGE_MONTH_INDEX (counted from the start) and a wave of complaints after it;
- key accounts that switch to direct purchase from generators (consumption falls, then they close),
  and others that reduce capacity or suspend supply.
The files mix formats and encodings the way real exports do (GB18030 with Chinese headers, UTF-8,
UTF-16, Excel, Parquet when a table is too large for a sheet).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REGIONS = ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水", "义乌")
REGION_WEIGHTS = np.array([18, 15, 12, 8, 6, 9, 8, 4, 3, 8, 4, 5], dtype=float)
IMPROVING_REGION = "丽水"
SURGE_REGION = "台州"
SURGE_MONTH_INDEX = 20
CENTRES = (("城东供电所", "urban"), ("城西供电所", "urban"), ("开发区供电所", "urban"),
           ("城郊供电所", "rural"), ("乡镇供电所", "rural"), ("山区供电所", "remote"))
INDUSTRIES = ("制造业", "化工", "钢铁", "数据中心", "商业综合体", "医院", "学校", "交通运输", "政府机关", "农业")
INDUSTRY_WEIGHTS = np.array([30, 10, 5, 3, 15, 6, 8, 7, 8, 8], dtype=float)
NAME_PARTS = ("华", "新", "恒", "永", "嘉", "盛", "泰", "宏", "远", "丰", "瑞", "达", "安", "海", "金", "正")
AREA_ZH = {"urban": "城市", "rural": "农村", "remote": "偏远"}
TICKET_TYPES = ("repair", "inquiry", "billing", "connection", "complaint", "suggestion", "praise")
TICKET_TYPE_WEIGHTS = np.array([32, 28, 15, 8, 3, 6, 8], dtype=float)
CHANNELS = ("hotline", "online", "account_manager", "counter", "visit")
CHANNEL_WEIGHTS = np.array([45, 25, 15, 10, 5], dtype=float)
COMPLAINT_CATEGORIES = ("服务态度", "停电", "电费差错", "业扩延误", "电压质量")
COMPLAINT_WEIGHTS = np.array([25, 30, 20, 15, 10], dtype=float)
CATEGORY_BY_TYPE = {"repair": "故障抢修", "inquiry": "业务咨询", "billing": "电费电价", "connection": "新装增容",
                    "suggestion": "服务建议", "praise": "服务表扬"}
MONTHS = 36
EXCEL_MAX_ROWS = 200_000


def last_full_month(today: dt.date | None = None) -> dt.date:
    today = today or dt.date.today()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _pick(rng: np.random.Generator, values, weights: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=size, p=weights / weights.sum())]


def _months(end_month: dt.date) -> pd.DatetimeIndex:
    return pd.date_range(end=pd.Timestamp(end_month), periods=MONTHS, freq="MS")


def make_customers(rng: np.random.Generator, n: int, window_start: pd.Timestamp, window_end: pd.Timestamp,
                   first_id: int = 1) -> pd.DataFrame:
    ids = np.array([f"C{i:07d}" for i in range(first_id, first_id + n)], dtype=object)
    region = _pick(rng, REGIONS, REGION_WEIGHTS, n)
    centre_idx = rng.choice(len(CENTRES), size=n, p=np.array([22, 20, 15, 20, 15, 8]) / 100)
    centre = (pd.Series(region) + pd.Series(np.array([c for c, _ in CENTRES], dtype=object)[centre_idx])).to_numpy()
    area = np.array([a for _, a in CENTRES], dtype=object)[centre_idx]
    industry = _pick(rng, INDUSTRIES, INDUSTRY_WEIGHTS, n)
    capacity = np.round(315 * (rng.pareto(1.15, n) + 1), -1).clip(315, 400_000)
    voltage = np.select([capacity < 630, capacity < 8_000, capacity < 40_000, capacity < 150_000],
                        [0.4, 10, 35, 110], 220)
    name = (pd.Series(np.asarray(NAME_PARTS, dtype=object)[rng.integers(0, len(NAME_PARTS), n)])
            + pd.Series(np.asarray(NAME_PARTS, dtype=object)[rng.integers(0, len(NAME_PARTS), n)])
            + pd.Series(region).str.slice(0, 2) + pd.Series(industry) + "有限公司")
    span = (window_end - window_start).days
    new_in_window = rng.random(n) < 0.08
    opened = np.where(
        new_in_window,
        window_start + pd.to_timedelta(rng.integers(0, span, n), unit="D"),
        pd.Timestamp("1995-01-01")
        + pd.to_timedelta(rng.integers(0, (window_start - pd.Timestamp("1995-01-01")).days, n), unit="D"),
    )
    managers = pd.Series(region) + "客户经理" + pd.Series(rng.integers(1, 9, n)).astype(str) + "号"
    return pd.DataFrame({
        "customer_id": ids, "customer_name": name.to_numpy(), "region": region, "service_center": centre,
        "industry": industry, "area": area, "voltage_kv": voltage, "contract_capacity_kva": capacity,
        "account_manager": managers.to_numpy(), "opened_on": pd.to_datetime(opened).date, "closed_on": None,
    })


def plant_lifecycle(rng: np.random.Generator, customers: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Closures, switch-outs to direct purchase, capacity changes and suspensions; sets closed_on and returns events."""
    n = len(customers)
    start, end = months[0], months[-1] + pd.offsets.MonthEnd(0)
    big = customers["contract_capacity_kva"].to_numpy() >= np.quantile(customers["contract_capacity_kva"], 0.9)
    switch = big & (rng.random(n) < 0.06)
    close = ~switch & (rng.random(n) < 0.07)
    reduce = ~switch & ~close & (rng.random(n) < 0.04)
    suspend = ~switch & ~close & ~reduce & (rng.random(n) < 0.015)
    increase = ~switch & ~close & ~reduce & ~suspend & (rng.random(n) < 0.05)
    opened = pd.to_datetime(customers["opened_on"]).to_numpy()
    earliest = np.maximum(opened + np.timedelta64(60, "D"), np.datetime64(start + pd.Timedelta(days=180)))
    latest = np.datetime64(end)
    room = ((latest - earliest) / np.timedelta64(1, "D")).clip(1)
    event_day = (earliest + (rng.random(n) * room).astype("int64") * np.timedelta64(1, "D")).astype("datetime64[D]")
    ok = earliest < latest
    closes = (switch | close) & ok
    customers["closed_on"] = pd.Series(np.where(closes, pd.to_datetime(event_day).date, None), dtype=object)
    capacity = customers["contract_capacity_kva"].to_numpy()
    events = [
        pd.DataFrame({"customer_id": customers["customer_id"][mask & ok],
                      "event_date": pd.to_datetime(event_day[mask & ok]).date,
                      "event": kind, "capacity_change_kva": change[mask & ok], "reason": reason})
        for mask, kind, change, reason in (
            (switch, "转直接交易", -capacity, "参与电力市场化交易，直接向发电企业购电"),
            (close, "销户", -capacity, "企业搬迁或停产"),
            (reduce, "减容", -np.round(capacity * 0.4, -1), "产能压减"),
            (suspend, "暂停", np.zeros(n), "设备检修暂停用电"),
            (increase, "增容", np.round(capacity * 0.3, -1), "扩大生产"),
        )
    ]
    new = pd.to_datetime(customers["opened_on"]) >= start
    events.append(pd.DataFrame({"customer_id": customers["customer_id"][new], "event_date": customers["opened_on"][new],
                                "event": "新装", "capacity_change_kva": capacity[new], "reason": "新装用电"}))
    return pd.concat(events, ignore_index=True).sort_values(["event_date", "customer_id"], ignore_index=True)


def make_billing(rng: np.random.Generator, customers: pd.DataFrame, events: pd.DataFrame,
                 months: pd.DatetimeIndex) -> pd.DataFrame:
    n, m = len(customers), len(months)
    capacity = customers["contract_capacity_kva"].to_numpy()
    load_factor = rng.uniform(0.15, 0.55, n)
    growth = np.exp(rng.normal(0.02, 0.08, n) + np.where(rng.random(n) < 0.05, 0.35, 0.0))  # yearly factor
    month_no = np.arange(m)
    season = 1 + 0.18 * np.cos((months.month.to_numpy() - 7.5) * np.pi / 3) ** 2 - 0.09
    base = (capacity[:, None] * load_factor[:, None] * 720 * season[None, :]
            * growth[:, None] ** (month_no[None, :] / 12))
    base *= rng.lognormal(0, 0.06, (n, m))
    month_start = months.to_numpy()[None, :]
    opened = pd.to_datetime(customers["opened_on"]).to_numpy()[:, None]
    closed = pd.to_datetime(customers["closed_on"]).to_numpy()[:, None]
    active = (opened <= month_start + np.timedelta64(27, "D")) & (np.isnat(closed) | (closed >= month_start))
    decline = events[events["event"].isin(["转直接交易", "减容", "暂停"])]
    idx = customers.reset_index().set_index("customer_id").loc[decline["customer_id"], "index"].to_numpy()
    event_month = pd.to_datetime(decline["event_date"]).dt.to_period("M").dt.to_timestamp().to_numpy()
    months_to_event = ((event_month[:, None] - months.to_numpy()[None, :]) / np.timedelta64(30, "D")).round()
    factor = np.where(decline["event"].to_numpy()[:, None] == "转直接交易",
                      np.clip(months_to_event / 8, 0.35, 1.0),  # falls over the 8 months before switching out
                      np.where(months_to_event <= 0, 0.6, 1.0))
    base[idx] *= factor
    price = rng.uniform(0.58, 0.82, n)[:, None]
    rows, cols = np.nonzero(active)
    kwh = np.round(base[rows, cols])
    billed = np.round(kwh * price[rows, 0], 2)
    unpaid = rng.random(len(rows)) < 0.005 + 0.01 * (cols / m)
    paid = np.where(unpaid, np.round(billed * rng.uniform(0, 0.8, len(rows)), 2), billed)
    return pd.DataFrame({
        "customer_id": customers["customer_id"].to_numpy()[rows],
        "period": months.strftime("%Y-%m").to_numpy()[cols],
        "consumption_kwh": kwh, "amount_billed": billed, "amount_paid": paid,
    })


def _lognormal_hours(rng, median, sigma, size):
    return median * rng.lognormal(0, sigma, size)


def make_tickets(rng: np.random.Generator, customers: pd.DataFrame, months: pd.DatetimeIndex,
                 tickets_per_customer: float, first_id: int = 1) -> pd.DataFrame:
    n = len(customers)
    start, end = months[0], months[-1] + pd.offsets.MonthEnd(0) + pd.Timedelta(hours=23, minutes=59)
    size_weight = (customers["contract_capacity_kva"].to_numpy() / 315) ** 0.25
    counts = rng.poisson(tickets_per_customer * size_weight / size_weight.mean())
    owner = np.repeat(np.arange(n), counts)
    total = len(owner)
    opened = pd.to_datetime(customers["opened_on"]).to_numpy()[owner]
    closed = pd.to_datetime(customers["closed_on"]).to_numpy()[owner]
    lo = np.maximum(opened, np.datetime64(start))
    hi = np.where(np.isnat(closed), np.datetime64(end), np.minimum(closed, np.datetime64(end)))
    keep = lo < hi
    owner, lo, hi = owner[keep], lo[keep], hi[keep]
    total = len(owner)
    span_s = ((hi - lo) / np.timedelta64(1, "s")).astype("int64")
    created = lo + (rng.random(total) * span_s).astype("int64") * np.timedelta64(1, "s")
    ticket_type = _pick(rng, TICKET_TYPES, TICKET_TYPE_WEIGHTS, total)
    region = customers["region"].to_numpy()[owner]
    area = customers["area"].to_numpy()[owner]

    # The planted outage: extra repairs and complaints about it in one region during one month.
    surge_start = np.datetime64(months[SURGE_MONTH_INDEX])
    surge_customers = np.nonzero(customers["region"].to_numpy() == SURGE_REGION)[0]
    extra = len(surge_customers) // 3 if len(surge_customers) else 0
    if extra:
        extra_owner = rng.choice(surge_customers, extra)
        extra_created = surge_start + (rng.random(extra) * 20 * 86400).astype("int64") * np.timedelta64(1, "s")
        ok = extra_created >= pd.to_datetime(customers["opened_on"]).to_numpy()[extra_owner]
        extra_owner, extra_created = extra_owner[ok], extra_created[ok]
        owner = np.concatenate([owner, extra_owner])
        created = np.concatenate([created, extra_created])
        ticket_type = np.concatenate([ticket_type, np.where(rng.random(len(extra_owner)) < 0.6, "complaint",
                                                            "repair").astype(object)])
        region, area = customers["region"].to_numpy()[owner], customers["area"].to_numpy()[owner]
        total = len(owner)

    order = np.argsort(created, kind="stable")
    owner, created, ticket_type = owner[order], created[order], ticket_type[order]
    region, area = region[order], area[order]
    progress = ((created - np.datetime64(start)) / np.timedelta64(1, "D")) / ((end - start).days)
    # The improving region starts 70% slower than the rest and ends 20% faster.
    speed = np.where(region == IMPROVING_REGION, 1.7 - 0.9 * progress, 1.0)
    area_factor = np.select([area == "rural", area == "remote"], [1.8, 2.6], 1.0)
    is_type = {t: ticket_type == t for t in TICKET_TYPES}

    response_h = _lognormal_hours(rng, np.select([is_type["repair"], is_type["complaint"]], [0.25, 4.0], 2.0), 0.9,
                                  total) * speed
    resolution_h = np.select(
        [is_type["repair"], is_type["complaint"], is_type["connection"], is_type["inquiry"] | is_type["billing"]],
        [_lognormal_hours(rng, 5, 0.7, total) * area_factor, _lognormal_hours(rng, 60, 0.8, total),
         _lognormal_hours(rng, 24 * 9, 0.5, total), _lognormal_hours(rng, 6, 1.0, total)],
        _lognormal_hours(rng, 20, 0.8, total)) * speed
    arrival_min = np.where(is_type["repair"], _lognormal_hours(rng, 26, 0.35, total) * area_factor * speed, np.nan)

    def seconds(hours):
        return (np.nan_to_num(hours) * 3600).astype("int64") * np.timedelta64(1, "s")

    first_response = created + seconds(response_h)
    resolved = created + seconds(resolution_h)
    arrived = created + seconds(arrival_min / 60)
    still_open = (resolved > np.datetime64(end)) | (rng.random(total) < 0.004)
    satisfaction_score = np.clip(np.round(4.6 - 0.35 * np.log1p(resolution_h / 24) - 0.8 * is_type["complaint"]
                                          + rng.normal(0, 0.6, total)), 1, 5)
    has_score = ~still_open & (rng.random(total) < 0.6)
    category = pd.Series(ticket_type).map(CATEGORY_BY_TYPE).to_numpy(dtype=object)
    complaint_category = _pick(rng, COMPLAINT_CATEGORIES, COMPLAINT_WEIGHTS, total)
    in_surge = (region == SURGE_REGION) & (created >= surge_start) & (created < surge_start + np.timedelta64(31, "D"))
    complaint_category = np.where(in_surge, "停电", complaint_category)
    category = np.where(is_type["complaint"], complaint_category, category)

    def fmt(values, mask):
        return pd.Series(pd.to_datetime(values).strftime("%Y-%m-%d %H:%M:%S")).where(mask, None).to_numpy()

    all_rows = np.ones(total, dtype=bool)
    return pd.DataFrame({
        "ticket_id": _numbered("T", 9, first_id, total),
        "customer_id": customers["customer_id"].to_numpy()[owner],
        "channel": _pick(rng, CHANNELS, CHANNEL_WEIGHTS, total),
        "ticket_type": ticket_type,
        "category": category,
        "created_at": fmt(created, all_rows),
        "first_response_at": fmt(first_response, ~is_type["praise"] & (first_response <= np.datetime64(end))),
        "arrived_at": fmt(arrived, is_type["repair"] & (arrived <= np.datetime64(end))),
        "resolved_at": fmt(resolved, ~still_open),
        # numpy's stubs take no None in np.where, which makes an object array of it
        "first_contact_resolution": np.where(still_open, None,  # type: ignore[call-overload]
                                             np.where(rng.random(total) < 0.78, "Y", "N")),
        "reopened": np.where(~still_open & (rng.random(total) < 0.04), "Y", "N"),
        "substantiated": np.where(is_type["complaint"],  # type: ignore[call-overload]  # None, as above
                                  np.where(rng.random(total) < 0.45, "Y", "N"), None),
        "satisfaction": pd.array(np.where(has_score, satisfaction_score, np.nan), dtype="Int64"),
    })


def _days_while_active(rng, customers: pd.DataFrame, counts: np.ndarray,
                       months: pd.DatetimeIndex) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """`counts[i]` random days in the three years for customer i, keeping those while the customer is open."""
    owner = np.repeat(np.arange(len(customers)), counts)
    start = months[0]
    days = (months[-1] + pd.offsets.MonthEnd(0) - start).days
    picked = start + pd.to_timedelta(rng.integers(0, days + 1, len(owner)), unit="D")
    opened = pd.to_datetime(customers["opened_on"]).to_numpy()[owner]
    closed = pd.to_datetime(customers["closed_on"]).to_numpy()[owner]
    keep = (picked.to_numpy() >= opened) & (np.isnat(closed) | (picked.to_numpy() <= closed))
    return owner[keep], picked[keep]


def make_surveys(rng, customers: pd.DataFrame, months: pd.DatetimeIndex, first_id: int = 1) -> pd.DataFrame:
    count = rng.poisson(1.5 * (customers["contract_capacity_kva"].to_numpy() >= 2000) + 0.4)
    owner, surveyed = _days_while_active(rng, customers, count, months)
    total = len(owner)
    start, end = months[0], months[-1] + pd.offsets.MonthEnd(0)
    progress = ((surveyed - start).days.to_numpy()) / (end - start).days
    lift = np.where(customers["region"].to_numpy()[owner] == IMPROVING_REGION, -0.8 + 1.0 * progress, 0.0)

    def score(mean):
        return np.clip(np.round(rng.normal(mean, 0.8, total) + lift), 1, 5).astype(int)

    return pd.DataFrame({
        "survey_id": _numbered("S", 8, first_id, total),
        "customer_id": customers["customer_id"].to_numpy()[owner],
        "surveyed_on": surveyed.strftime("%Y-%m-%d"),
        "method": _pick(rng, ("questionnaire", "visit", "phone"), np.array([40.0, 25, 35]), total),
        "overall": score(4.1), "timeliness": score(3.9), "reliability": score(4.2),
        "communication": score(4.0), "convenience": score(3.8),
        "nps": np.clip(np.round(rng.normal(7.8, 1.8, total) + 1.5 * lift), 0, 10).astype(int),
    })


def make_visits(rng, customers: pd.DataFrame, months: pd.DatetimeIndex, first_id: int = 1) -> pd.DataFrame:
    n = len(customers)
    capacity = customers["contract_capacity_kva"].to_numpy()
    rate = np.select([capacity >= np.quantile(capacity, 0.95), capacity >= np.quantile(capacity, 0.70)], [30.0, 12.0],
                     0.3)
    count = rng.poisson(rate * (rng.random(n) > 0.12))  # some key accounts are simply never visited
    owner, visited = _days_while_active(rng, customers, count, months)
    total = len(owner)
    region_no = pd.Series(customers["region"].to_numpy()[owner]).map({r: i for i, r in enumerate(REGIONS)}).to_numpy()
    return pd.DataFrame({
        "visit_id": _numbered("V", 8, first_id, total),
        "customer_id": customers["customer_id"].to_numpy()[owner],
        "visited_on": visited.strftime("%Y-%m-%d"),
        "visit_type": _pick(rng, ("routine", "revisit", "on_site_service", "emergency", "training"),
                            np.array([45.0, 25, 15, 5, 10]), total),
        "staff_id": [f"E{r:02d}{s:03d}" for r, s in zip(region_no, rng.integers(1, 21, total))],
    })


def make_training(rng, n_customers: int, months: pd.DatetimeIndex) -> pd.DataFrame:
    staff_per_region = max(5, n_customers // 250)
    staff = [(f"E{r:02d}{s:03d}", region) for r, region in enumerate(REGIONS) for s in range(1, staff_per_region + 1)]
    rows = []
    start = months[0]
    days = (months[-1] + pd.offsets.MonthEnd(0) - start).days
    for staff_id, region in staff:
        sessions = rng.poisson(4 if region != IMPROVING_REGION else 7)
        for day in sorted(set(rng.integers(0, days + 1, sessions).tolist())):
            rows.append((staff_id, region, (start + pd.Timedelta(days=day)).strftime("%Y/%m/%d"),
                         float(rng.choice([2, 4, 8, 16]))))
    return pd.DataFrame(rows, columns=["staff_id", "region", "trained_on", "hours"])


def _write_csv_fast(frame: pd.DataFrame, path: Path) -> None:
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute(f"COPY frame TO '{path}' (HEADER, DELIMITER ',')")
    con.close()


def _write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Excel when it fits a sheet comfortably, Parquet otherwise (as large exports usually are)."""
    if len(frame) <= EXCEL_MAX_ROWS:
        frame.to_excel(path, index=False, engine="xlsxwriter")
        return path
    parquet = path.with_suffix(".parquet")
    frame.to_parquet(parquet, index=False)
    return parquet


BLOCK_CUSTOMERS = 1_000_000  # customers drawn at once: a block's frames take about 12 GB of memory at this size


def _numbered(prefix: str, width: int, first: int, count: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(first, first + count).astype(str), width)).astype(object)


def _append_csv(part: Path, whole: Path) -> None:
    """Add a block's CSV (same columns) to the file: its rows without its header line."""
    with part.open("rb") as source, whole.open("ab") as target:
        source.readline()
        while chunk := source.read(1 << 24):
            target.write(chunk)
    part.unlink()


def generate(out: Path, customers: int = 5000, seed: int = 7, end_month: dt.date | None = None,
             tickets_per_customer: float = 10.0) -> list[Path]:
    """Write the demo exports to `out`; returns the files written. Up to BLOCK_CUSTOMERS customers are drawn from
    one generator seeded with `seed`; a larger demo is drawn in blocks of that many (block k seeded with seed + k,
    its ids numbered on from the block before) so its memory stays that of one block: the CSV files grow block by
    block and each block adds its own Parquet part (surveys_2.parquet, ...), which the loader reads as the same
    table."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    months = _months(end_month or last_full_month())
    written: list[Path] = []
    ids = {"customers": 1, "tickets": 1, "surveys": 1, "visits": 1}
    rng = np.random.default_rng(seed)
    for block, first in enumerate(range(0, customers, BLOCK_CUSTOMERS)):
        if block:
            rng = np.random.default_rng(seed + block)
        n = min(BLOCK_CUSTOMERS, customers - first)
        for path in _write_block(rng, out, n, months, tickets_per_customer, ids, f"_{block + 1}" if block else ""):
            if path not in written:
                written.append(path)
    training = make_training(rng, customers, months)
    training.to_csv(out / "staff_training.csv", index=False, encoding="utf-16")
    written.append(out / "staff_training.csv")
    return written


def _write_block(rng: np.random.Generator, out: Path, customers: int, months: pd.DatetimeIndex,
                 tickets_per_customer: float, ids: dict[str, int], part: str) -> list[Path]:
    """One block of customers and everything they have; `ids`: the next number of each id, advanced here; `part`:
    "" for the first block (files written new), "_2", "_3", ... for the blocks added to them."""
    window_end = months[-1] + pd.offsets.MonthEnd(0)
    cust = make_customers(rng, customers, months[0], window_end, first_id=ids["customers"])
    events = plant_lifecycle(rng, cust, months)
    billing = make_billing(rng, cust, events, months)
    tickets = make_tickets(rng, cust, months, tickets_per_customer, first_id=ids["tickets"])
    surveys = make_surveys(rng, cust, months, first_id=ids["surveys"])
    visits = make_visits(rng, cust, months, first_id=ids["visits"])
    for frame, name in ((tickets, "tickets"), (surveys, "surveys"), (visits, "visits")):
        ids[name] += len(frame)
    ids["customers"] += customers

    def csv(write, path: Path) -> Path:
        if not part:
            write(path)
        else:
            staged = path.with_name(f"{path.stem}{part}{path.suffix}")
            write(staged)
            _append_csv(staged, path)
        return path

    def table(frame: pd.DataFrame, path: Path) -> Path:
        return _write_table(frame, path.with_name(f"{path.stem}{part}{path.suffix}"))

    written = []
    customers_zh = cust.assign(area=cust["area"].map(AREA_ZH)).rename(columns={
        "customer_id": "客户编号", "customer_name": "客户名称", "region": "供电单位", "service_center": "供电所",
        "industry": "行业", "area": "区域类型", "voltage_kv": "电压等级", "contract_capacity_kva": "合同容量",
        "account_manager": "客户经理", "opened_on": "立户日期", "closed_on": "销户日期"})
    written.append(csv(lambda p: customers_zh.to_csv(p, index=False, encoding="gb18030"), out / "客户档案.csv"))
    for frame, name in ((billing, "billing.csv"), (tickets, "tickets.csv")):
        written.append(csv(lambda p, frame=frame: _write_csv_fast(frame, p), out / name))
    written.append(table(surveys, out / "surveys.xlsx"))
    written.append(csv(lambda p: visits.to_csv(p, index=False, encoding="utf-8" if part else "utf-8-sig"),
                       out / "visits.csv"))
    events_zh = events.rename(columns={"customer_id": "客户编号", "event_date": "变更日期", "event": "变更类型",
                                       "capacity_change_kva": "变更容量", "reason": "变更原因"})
    written.append(table(events_zh, out / "account_events.xlsx"))
    return written


# --- A monthly increment (branch `load`, issue 17) ---

TICKET_LATER = ("first_response_at", "arrived_at", "resolved_at")


def split_increment(exports: Path, base: Path, increment: Path) -> tuple[list[Path], list[Path]]:
    """Split demo exports into what was exported a month ago (`base`) and the last month's increment (`increment`):
    the last month's bills and visits; the tickets created in it, and those created earlier that were still open or
    unanswered at its start, now in their final state. In `base` those tickets are as exported then: timestamps from
    the last month on empty, and a ticket not yet resolved has no first-contact flag, no satisfaction score and is not
    reopened.
    The other files are linked into `base` unchanged. Loading `base`, then appending `increment`, must give the same
    warehouse as loading both at once (tests/test_increment.py). Returns the files of each."""
    exports, base, increment = Path(exports), Path(base), Path(increment)
    base.mkdir(parents=True, exist_ok=True)
    increment.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    read = "read_csv($p, all_varchar = true, header = true)"
    last = con.execute(f"SELECT max(period) FROM {read}", {"p": str(exports / "billing.csv")}).fetchall()[0][0]
    cutoff = f"{last[:7]}-01"
    month = last[:7]
    base_files: list[Path] = []
    increment_files: list[Path] = []
    for path in sorted(exports.iterdir()):
        if path.name in ("billing.csv", "tickets.csv", "visits.csv"):
            continue
        target = base / path.name
        target.unlink(missing_ok=True)
        target.symlink_to(path.resolve())
        base_files.append(target)

    def copy(sql: str, source: str, target: Path, files: list[Path]) -> None:
        params = {"p": str(exports / source), "cut": cutoff, "month": month}
        con.execute(f"COPY ({sql}) TO '{target}' (HEADER, DELIMITER ',')", {k: v for k, v in params.items()
                                                                           if f"${k}" in sql})
        files.append(target)

    # periods are written YYYY-MM, times YYYY-MM-DD HH:MM:SS: both compare as text
    copy(f"SELECT * FROM {read} WHERE period < $month", "billing.csv", base / "billing.csv", base_files)
    copy(f"SELECT * FROM {read} WHERE period >= $month", "billing.csv", increment / f"billing_{month}.csv",
         increment_files)
    copy(f"SELECT * FROM {read} WHERE visited_on < $cut", "visits.csv", base / "visits.csv", base_files)
    copy(f"SELECT * FROM {read} WHERE visited_on >= $cut", "visits.csv", increment / f"visits_{month}.csv",
         increment_files)
    later = " OR ".join(f"{c} >= $cut" for c in TICKET_LATER)
    unresolved = "(resolved_at IS NULL OR resolved_at >= $cut)"
    cleared = ", ".join(f"CASE WHEN {c} >= $cut THEN NULL ELSE {c} END AS {c}" for c in TICKET_LATER)
    copy(f"""SELECT * REPLACE ({cleared},
                     CASE WHEN {unresolved} THEN NULL ELSE first_contact_resolution END AS first_contact_resolution,
                     CASE WHEN {unresolved} THEN 'N' ELSE reopened END AS reopened,
                     CASE WHEN {unresolved} THEN NULL ELSE satisfaction END AS satisfaction)
             FROM {read} WHERE created_at < $cut""", "tickets.csv", base / "tickets.csv", base_files)
    copy(f"SELECT * FROM {read} WHERE created_at >= $cut OR {later}", "tickets.csv",
         increment / f"tickets_{month}.csv", increment_files)
    con.close()
    return base_files, increment_files
