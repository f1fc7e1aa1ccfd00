"""Table contracts: the columns, types, rules and header aliases of every exported table (SPEC section 3)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

ColumnType = Literal["text", "number", "integer", "date", "timestamp", "month", "bool", "enum"]


class StrictModel(BaseModel):
    """Base for every configuration model: unknown keys are errors that name the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(StrictModel):
    name: str
    type: ColumnType = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    # canonical value -> accepted spellings (matched case-insensitively after trimming)
    values: dict[str, tuple[str, ...]] = {}
    default: str | bool | None = None
    minimum: float | None = None
    maximum: float | None = None
    minimum_exclusive: bool = False
    references: str | None = None  # "table.column"
    identifier: bool = False  # an id: scientific notation means Excel shortened it

    @model_validator(mode="after")
    def _enum_has_values(self) -> Column:
        if (self.type == "enum") != bool(self.values):
            raise ValueError(f"column {self.name}: enum columns and only enum columns list values")
        return self


class OrderRule(StrictModel):
    """`later` may not be before `earlier` when both are present."""

    later: str
    earlier: str


class Contract(StrictModel):
    name: str
    label_zh: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    order_rules: tuple[OrderRule, ...] = ()
    file_aliases: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _names_known(self) -> Contract:
        names = {c.name for c in self.columns}
        unknown = ({*self.key} | {n for r in self.order_rules for n in (r.later, r.earlier)}) - names
        if unknown:
            raise ValueError(f"table {self.name}: key or rule names unknown columns {sorted(unknown)}")
        return self

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def normalise_header(header: str) -> str:
    """Header as compared against aliases: no BOM, no surrounding space, lower case, single underscores."""
    text = header.replace("\ufeff", "").strip().lower()
    text = re.sub(r"[\s\-./]+", "_", text)
    return re.sub(r"[()（）]", "", text)


# A unit written in a header, and what it multiplies the values by: 万元 is ten thousand yuan.
UNITS = {"万元": 10_000, "元": 1, "万千瓦时": 10_000, "万kwh": 10_000, "千瓦时": 1, "kwh": 1}
_UNIT_IN_HEADER = re.compile(r"^(?P<name>.+?)[\s_]*[(（\[【]?\s*"
                             r"(?P<unit>万元|元|万千瓦时|万kwh|千瓦时|kwh)\s*[)）\]】]?$", re.IGNORECASE)


def header_unit(header: str) -> tuple[str, str | None]:
    """A header without the unit it ends with, and the unit: '应收电费(万元)' -> ('应收电费', '万元')."""
    text = header.replace("\ufeff", "").strip()
    match = _UNIT_IN_HEADER.match(text)
    if not match:
        return text, None
    return match["name"].strip(), match["unit"].lower()


def _c(name: str, type: ColumnType = "text", *aliases: str, **rules) -> Column:
    return Column(name=name, type=type, aliases=aliases, **rules)


CUSTOMER_REF = "customers.customer_id"


def _customer_id(**rules) -> Column:
    return _c("customer_id", "text", "客户编号", "户号", "用户编号", "客户号", "cust_id", "customer_no",
              "account_id", "account_no", required=True, identifier=True, **rules)


SCORE_1_5 = {"minimum": 1, "maximum": 5}

CONTRACTS: dict[str, Contract] = {
    c.name: c
    for c in (
        Contract(
            name="customers",
            label_zh="客户档案",
            required=True,
            file_aliases=("customer", "客户", "客户档案", "大客户档案", "用户档案"),
            key=("customer_id",),
            order_rules=(OrderRule(later="closed_on", earlier="opened_on"),),
            columns=(
                _customer_id(),
                _c("customer_name", "text", "客户名称", "户名", "用户名称", "name"),
                _c("region", "text", "供电单位", "地市", "地市公司", "供电公司", "city", required=True),
                _c("service_center", "text", "供电所", "县公司", "服务中心", "营业所", "service_centre",
                   "county", required=True),
                _c("industry", "text", "行业", "行业分类", "所属行业"),
                _c("area", "enum", "区域类型", "城乡类别", "地区类型", "area_type", default="urban",
                   values={"urban": ("城市", "市区", "城区", "city"), "rural": ("农村", "乡村", "county"),
                           "remote": ("偏远", "边远", "山区", "偏远地区")}),
                _c("voltage_kv", "number", "电压等级", "电压等级kv", "voltage", "voltage_level",
                   minimum=0, minimum_exclusive=True),
                _c("contract_capacity_kva", "number", "合同容量", "合同容量kva", "capacity_kva",
                   "contract_capacity", minimum=0),
                _c("tier", "enum", "客户等级", "客户分级", "等级",
                   values={"VIP": ("vip", "特级", "特大客户", "a"), "key": ("重要", "重点", "大客户", "b"),
                           "standard": ("普通", "一般", "c")}),
                _c("account_manager", "text", "客户经理", "客户经理姓名"),
                _c("opened_on", "date", "立户日期", "开户日期", "建档日期", "open_date", "opened", required=True),
                _c("closed_on", "date", "销户日期", "close_date", "closed"),
            ),
        ),
        Contract(
            name="billing",
            label_zh="电费账单",
            required=True,
            file_aliases=("bills", "bill", "电费", "电费账单", "电费明细", "抄表电费"),
            key=("customer_id", "period"),
            columns=(
                _customer_id(references=CUSTOMER_REF),
                _c("period", "month", "电费年月", "账期", "年月", "billing_month", "month", "bill_month",
                   required=True),
                _c("consumption_kwh", "number", "电量", "结算电量", "用电量", "consumption", "kwh", minimum=0),
                _c("amount_billed", "number", "应收电费", "电费金额", "billed", "amount_due", minimum=0),
                _c("amount_paid", "number", "实收电费", "已缴电费", "paid", minimum=0),
            ),
        ),
        Contract(
            name="tickets",
            label_zh="服务工单",
            required=True,
            file_aliases=("ticket", "work_orders", "工单", "服务工单", "工单明细", "95598工单"),
            key=("ticket_id",),
            order_rules=(
                OrderRule(later="first_response_at", earlier="created_at"),
                OrderRule(later="arrived_at", earlier="created_at"),
                OrderRule(later="resolved_at", earlier="created_at"),
            ),
            columns=(
                _c("ticket_id", "text", "工单编号", "工单号", "work_order_id", "order_id", required=True,
                   identifier=True),
                _customer_id(references=CUSTOMER_REF),
                _c("channel", "enum", "受理渠道", "渠道", "来源渠道",
                   values={"hotline": ("95598", "热线", "电话", "phone"),
                           "online": ("网上国网", "线上", "网站", "app", "web"),
                           "counter": ("营业厅", "柜台"), "account_manager": ("客户经理", "manager"),
                           "visit": ("走访", "上门")}),
                _c("ticket_type", "enum", "业务类型", "工单类型", "诉求类型", "type",
                   required=True,
                   values={"repair": ("故障报修", "报修", "抢修"),
                           "connection": ("业扩报装", "报装", "业扩", "新装增容"),
                           "billing": ("电费", "电费电价", "账单"), "inquiry": ("咨询", "查询", "question"),
                           "complaint": ("投诉",), "suggestion": ("建议", "意见"), "praise": ("表扬", "compliment")}),
                _c("category", "text", "投诉分类", "诉求分类", "类别", "分类"),
                _c("created_at", "timestamp", "受理时间", "创建时间", "报修时间", "opened_at", "created",
                   required=True),
                _c("first_response_at", "timestamp", "首次响应时间", "响应时间", "responded_at"),
                _c("arrived_at", "timestamp", "到达现场时间", "到达时间", "arrival_at"),
                _c("resolved_at", "timestamp", "归档时间", "办结时间", "完成时间", "closed_at", "resolved"),
                _c("first_contact_resolution", "bool", "是否一次解决", "一次解决", "首问解决", "fcr"),
                _c("reopened", "bool", "是否重复", "重复工单", "是否重开", default=False),
                _c("substantiated", "bool", "是否属实", "属实"),
                _c("satisfaction", "integer", "满意度", "回访满意度", "回访评分", **SCORE_1_5),
            ),
        ),
        Contract(
            name="surveys",
            label_zh="满意度调查",
            required=False,
            file_aliases=("survey", "调查", "满意度调查", "问卷"),
            key=("survey_id",),
            columns=(
                _c("survey_id", "text", "调查编号", "问卷编号", required=True, identifier=True),
                _customer_id(references=CUSTOMER_REF),
                _c("surveyed_on", "date", "调查日期", "survey_date", required=True),
                _c("method", "enum", "调查方式",
                   values={"questionnaire": ("问卷", "问卷调查"), "visit": ("走访", "上门"),
                           "phone": ("电话", "电话回访", "telephone")}),
                _c("overall", "integer", "总体满意度", "综合评分", "总体评分", required=True, **SCORE_1_5),
                _c("timeliness", "integer", "及时性", **SCORE_1_5),
                _c("reliability", "integer", "可靠性", **SCORE_1_5),
                _c("communication", "integer", "沟通", "沟通性", **SCORE_1_5),
                _c("convenience", "integer", "便利性", **SCORE_1_5),
                _c("nps", "integer", "推荐意愿", "净推荐值", minimum=0, maximum=10),
            ),
        ),
        Contract(
            name="visits",
            label_zh="客户走访",
            required=False,
            file_aliases=("visit", "走访", "客户走访", "走访记录", "回访记录"),
            key=("visit_id",),
            columns=(
                _c("visit_id", "text", "走访编号", "记录编号", required=True, identifier=True),
                _customer_id(references=CUSTOMER_REF),
                _c("visited_on", "date", "走访日期", "visit_date", required=True),
                _c("visit_type", "enum", "走访类型",
                   values={"routine": ("例行走访", "日常走访"), "revisit": ("回访",),
                           "on_site_service": ("上门服务", "现场服务"),
                           "emergency": ("应急", "紧急"), "training": ("培训", "用电培训")}),
                _c("staff_id", "text", "员工编号", "工号", "客户经理编号", identifier=True),
            ),
        ),
        Contract(
            name="account_events",
            label_zh="客户变更事件",
            required=False,
            file_aliases=("events", "account_event", "变更", "客户变更", "业务变更"),
            key=("customer_id", "event_date", "event"),
            columns=(
                _customer_id(references=CUSTOMER_REF),
                _c("event_date", "date", "变更日期", "事件日期", "date", required=True),
                _c("event", "enum", "变更类型", "事件类型", "event_type", required=True,
                   values={"open": ("新装", "立户"), "close": ("销户",), "capacity_increase": ("增容",),
                           "capacity_reduction": ("减容",), "suspension": ("暂停",),
                           "switch_out": ("转直接交易", "直接交易", "转出"), "win_back": ("挽回", "回归")}),
                _c("capacity_change_kva", "number", "变更容量", "容量变化"),
                _c("reason", "text", "原因", "变更原因"),
            ),
        ),
        Contract(
            name="staff_training",
            label_zh="员工培训",
            required=False,
            file_aliases=("training", "培训", "员工培训", "培训记录"),
            key=("staff_id", "trained_on"),
            columns=(
                _c("staff_id", "text", "员工编号", "工号", required=True, identifier=True),
                _c("region", "text", "供电单位", "地市", "地市公司", required=True),
                _c("trained_on", "date", "培训日期", "training_date", required=True),
                _c("hours", "number", "培训学时", "学时", "培训时长", minimum=0),
            ),
        ),
    )
}

TABLE_ORDER = tuple(CONTRACTS)  # customers first: every other table refers to it


def header_lookup(contract: Contract, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Normalised header -> canonical column for one contract, with a source's own mapping on top."""
    return {header: canonical for header, (canonical, _) in header_ranks(contract, extra).items()}


def header_ranks(contract: Contract, extra: dict[str, str] | None = None) -> dict[str, tuple[str, int]]:
    """Normalised header -> (canonical column, rank): a mapping file's header ranks 0, the canonical name 1,
    then the aliases in the order listed, most exact first; where two headers of a file mean one column,
    the lower rank is used."""
    ranks: dict[str, tuple[str, int]] = {}
    for column in contract.columns:
        for rank, alias in enumerate((column.name, *column.aliases), start=1):
            ranks.setdefault(normalise_header(alias), (column.name, rank))
    for header, canonical in (extra or {}).items():
        ranks[normalise_header(header)] = (canonical, 0)
    return ranks
