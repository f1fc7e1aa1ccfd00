"""Absent is not perfect (SPEC 5.7): a figure whose inputs no loaded source has is "no data", never 0 or on target."""

from __future__ import annotations

from pathlib import Path

OWN_REGIONS = ("白云", "青山")
QUIET_REGION = "绿水"  # customers on file, but no bill, ticket, survey or visit anywhere


def write_own_exports(folder: Path) -> None:
    """Exports as a user's own systems might give them, not the demo's: other regions, Chinese headers, no
    amount_paid, no closed_on, no area, no first_response_at / arrived_at / reopened / satisfaction / substantiated /
    first-contact flag, and no surveys, visits, account events or staff training at all."""
    customers = ["客户编号,客户名称,供电单位,供电所,行业,电压等级,立户日期"]
    for n in range(1, 13):
        region = OWN_REGIONS[n % 2]
        customers.append(f"K{n:03d},客户{n},{region},{region}一所,制造业,{10 if n % 3 else 110},2020-01-0{1 + n % 9}")
    for n in range(13, 16):
        customers.append(f"K{n:03d},客户{n},{QUIET_REGION},{QUIET_REGION}一所,商业,10,2021-05-01")
    billing = ["客户编号,电费年月,电量,应收电费"]
    for month in range(1, 13):
        for n in range(1, 13):
            kwh = 1000 * n * n + 10 * month
            billing.append(f"K{n:03d},2025{month:02d},{kwh},{kwh * 0.6:.2f}")
    tickets = ["工单编号,客户编号,受理渠道,业务类型,受理时间,归档时间"]
    kinds = ("故障报修", "投诉", "咨询", "电费", "业扩报装")
    for i in range(1, 61):
        month, day = 1 + i % 12, 1 + i % 27
        created = f"2025-{month:02d}-{day:02d} 09:00"
        resolved = "" if i % 10 == 0 else f"2025-{month:02d}-{day:02d} {10 + i % 12}:30"
        tickets.append(f"G{i:04d},K{1 + i % 12:03d},95598,{kinds[i % 5]},{created},{resolved}")
    for name, lines in (("客户档案.csv", customers), ("电费账单.csv", billing), ("工单.csv", tickets)):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
