"""The importer's reject reasons and load errors in Chinese.

The ingest package writes them in English (they are stored in the warehouse and printed by the command line);
each has a fixed shape, so the Chinese is the same message with the values put back. A shape not listed
here is shown as written.
"""

from __future__ import annotations

import re

DATE_TIME = r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?"

KNOCK_ON = (r"(?P<column>\S+) '(?P<value>.*)' is not in (?P<table>\w+): it was rejected there \((?P<file>.+?) line "
            r"(?P<line>\d+): (?P<reason>.*)\)")

REASONS: list[tuple[str, str]] = [
    (r"line has more fields than the (?P<n>\d+) columns of the header; quote values that contain the delimiter",
     "该行字段数多于表头的 {n} 列；含分隔符的值请加引号"),
    (r"line has fewer fields than the (?P<n>\d+) columns of the header \((?P<detail>.*)\)",
     "该行字段数少于表头的 {n} 列（{detail}）"),
    (r"line could not be read: (?P<detail>.*)", "该行无法读取：{detail}"),
    (r"duplicate (?P<keys>.+) '(?P<key>.*)' \(first on line (?P<line>\d+) of (?P<file>.+)\)",
     "{keys}“{key}”重复（首次出现在 {file} 第 {line} 行）"),
    (KNOCK_ON, "{column}“{value}”在 {table} 中不存在：该记录在 {file} 第 {line} 行被拒绝（{reason}）"),
    (r"(?P<column>\S+) '(?P<value>.*)' is not in (?P<table>\w+), but '(?P<padded>.*)' is: the leading zeros were "
     r"probably lost \(format the column as text in Excel and export again\)",
     "{column}“{value}”在 {table} 中不存在，但“{padded}”存在：前导零可能已丢失（请在 Excel 中将该列设为文本格式后重新导出）"),
    (r"(?P<column>\S+) '(?P<value>.*)' is not in (?P<table>\w+)", "{column}“{value}”在 {table} 中不存在"),
    (r"(?P<label>.+) '(?P<raw>.*)' is in scientific notation: Excel shortened the id when the file was saved, so its "
     r"digits are lost; format the column as text in Excel and export again",
     "{label}“{raw}”是科学计数法：保存文件时 Excel 截短了编号，部分数字已丢失；请在 Excel 中将该列设为文本格式后重新导出"),
    (r"(?P<label>.+) '(?P<raw>.*)' has a two-digit year; write the year with four digits, or declare the format in "
     r"a mapping file \(\[tables\.(?P<table>\w+)\.formats\]\)",
     "{label}“{raw}”的年份只有两位；请写成四位年份，或在字段映射文件中声明格式（[tables.{table}.formats]）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is outside the years (?P<first>\d+)-(?P<last>\d+); check the export .*",
     "{label}“{raw}”超出 {first}–{last} 年的范围；请检查导出文件（是否为 Excel 序列号或录入错误）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not one of (?P<allowed>.+)", "{label}“{raw}”不在可选值中（{allowed}）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a whole number", "{label}“{raw}”不是整数"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a number", "{label}“{raw}”不是数字"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a date and time \(use .*\)",
     "{label}“{raw}”不是有效的日期时间（请使用 YYYY-MM-DD HH:MM[:SS]、YYYY/M/D H:MM、YYYYMMDD 或 YYYY年M月D日 HH:MM）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a date \(use .*\)",
     "{label}“{raw}”不是有效日期（请使用 YYYY-MM-DD、YYYY/M/D、YYYYMMDD 或 YYYY年M月D日）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a month \(use .*\)",
     "{label}“{raw}”不是有效月份（请使用 YYYY-MM、YYYYMM、YYYY年M月 或该月内的日期）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not yes/no \(use .*\)",
     "{label}“{raw}”不是“是/否”值（请使用 true/false、1/0、Y/N 或 是/否）"),
    (r"(?P<label>.+) (?P<value>\S+) is outside (?P<range>\S+)", "{label} {value} 超出范围 {range}"),
    (r"(?P<label>.+) (?P<value>\S+) must be greater than (?P<low>\S+)", "{label} {value} 必须大于 {low}"),
    (r"(?P<label>.+) (?P<value>\S+) is negative", "{label} {value} 为负数"),
    (r"(?P<label>.+) (?P<value>\S+) is below (?P<low>\S+)", "{label} {value} 低于 {low}"),
    (rf"(?P<later>.+) (?P<t1>{DATE_TIME}) is before (?P<earlier>.+) (?P<t2>{DATE_TIME})", "{later} {t1} 早于 {earlier} {t2}"),
    (r"(?P<label>.+) is missing", "{label}缺失"),
]

# What a load report says about one file (FileReport.notes).
NOTES: list[tuple[str, str]] = [
    (r"sheet '(?P<sheet>.*)' read \(sheets in the workbook: (?P<sheets>.*)\)", "读取工作表“{sheet}”（工作簿中的工作表：{sheets}）"),
    (r"header taken from line (?P<n>\d+)", "表头取自第 {n} 行"),
    (r"header taken from row (?P<n>\d+)", "表头取自第 {n} 行"),
    (r"(?P<n>[\d,]+) empty row\(s\) passed over \(not records\)", "跳过 {n} 个空行（不是记录）"),
    (r"(?P<n>[\d,]+) row\(s\) skipped as not records: (?P<rows>.*)", "{n} 行不是记录，已跳过：{rows}"),
    (r"(?P<n>[\d,]+) row\(s\) superseded by the same keys in the later export (?P<files>.*)",
     "{n} 行被较晚导出的 {files} 中相同主键的记录取代"),
    (r"(?P<column>\w+): values in (?P<unit>\S+) \((?P<where>.*)\) were multiplied by (?P<factor>[\d,]+)",
     "{column}：数值单位为{unit}（{where}），已乘以 {factor}"),
    (r"headers '(?P<kept>.*)' and '(?P<dropped>.*)' both mean (?P<column>\w+); '.*' was used and '.*' ignored .*",
     "表头“{kept}”和“{dropped}”都对应 {column}；已使用“{kept}”，忽略“{dropped}”（如有误，请在字段映射文件中指定）"),
    (r"(?P<n>[\d,]+) row\(s\) loaded with the field left empty: (?P<label>.+) '(?P<raw>.*)' is not one of "
     r"(?P<allowed>.+) \(left empty\)", "{n} 行已导入但该字段留空：{label}“{raw}”不在可选值中（{allowed}）"),
    (r"columns not in the (?P<table>\w+) contract were ignored: (?P<columns>.*)", "不属于数据表 {table} 的列已忽略：{columns}"),
]

ERRORS: list[tuple[str, str]] = [
    (r"(?P<file>.+?): cannot load as table '(?P<table>\w+)': missing required column\(s\) (?P<columns>.+)\. "
     r"Headers found(?: \(header on line (?P<line>\d+)[^)]*\))?: (?P<headers>.*)\. Rename the headers or map them in "
     r"a mapping file \(--mapping\)\. The mapping looked for: (?P<looked>.*)\.",
     "{file}：无法作为数据表“{table}”导入，缺少必填列 {columns}。文件中的表头：{headers}。请修改表头，或在字段映射文件中映射。"
     "查找过的表头：{looked}。"),
    (r"(?P<file>.+?): no sheet has a header row with (?P<what>.*); sheets read: (?P<sheets>.*)\. Name the sheet "
     r"in a mapping file \(sheet = \"\.\.\.\"\) or rename the headers\. Closest: row (?P<row>\d+) of sheet '(?P<sheet>.*)', "
     r"missing required column\(s\) (?P<columns>.+); the mapping looked for: (?P<looked>.*)\.",
     "{file}：没有任何工作表含有该数据表的表头行；已读取的工作表：{sheets}。请在字段映射文件中指定工作表（sheet = \"...\"）或修改表头。"
     "最接近的是工作表“{sheet}”第 {row} 行，缺少必填列 {columns}；查找过的表头：{looked}。"),
    (r"(?P<file>.+?): no sheet has a header row with (?P<what>.*); sheets read: (?P<sheets>.*)\. Name the sheet .*",
     "{file}：没有任何工作表含有该数据表的表头行；已读取的工作表：{sheets}。请在字段映射文件中指定工作表（sheet = \"...\"）或修改表头"),
    (r"(?P<file>.+?): cannot tell which table this file holds\. Name the file after the table \((?P<tables>.+)\) "
     r"or list it under \[tables\.<name>\] files in a mapping file\. Headers found: (?P<headers>.*)",
     "{file}：无法判断该文件属于哪张数据表。请按数据表命名文件（{tables}），或在字段映射文件的 [tables.<name>] files 中列出。"
     "文件中的表头：{headers}"),
    (r"a full \(replace\) load needs the required table\(s\) (?P<tables>.+); files given: (?P<files>.*)",
     "全量替换需要必填数据表 {tables}；已提供的文件：{files}"),
    (r"(?P<file>.+?): text is neither UTF-8, UTF-16 nor GB18030/GBK \(byte (?P<byte>\d+)\); save it again as UTF-8 or GB18030",
     "{file}：文本既不是 UTF-8、UTF-16，也不是 GB18030/GBK（第 {byte} 字节）；请另存为 UTF-8 或 GB18030"),
    (r"(?P<file>.+?): the file is empty; expected a header row and data", "{file}：文件为空，应包含表头行和数据"),
    (r"(?P<file>.+?): unknown file type '(?P<suffix>.*)'; export as CSV, Excel \(\.xlsx\) or Parquet",
     "{file}：不支持的文件类型“{suffix}”；请导出为 CSV、Excel（.xlsx）或 Parquet"),
    # ingest.lock, ingest.os_errors and ingest.limits
    (r"(?P<db>.+?): another load is still running \((?P<holder>.*)\) after waiting (?P<n>\d+) s; nothing was loaded\. "
     r"Load again when it has finished\.", "{db}：另一次导入仍在进行（{holder}），已等待 {n} 秒。请在其完成后再导入。"),
    (r"(?P<where>.+?): (?:no space left on device|disk quota exceeded); the warehouse is as it was\. .*",
     "{where}：磁盘空间不足；数据仓库保持原样。请在该处腾出空间（导入会在旧数据仓库旁建立新的，需容纳两份）后重试。"),
    (r"(?P<where>.+?): (?:permission denied|operation not permitted); the warehouse is as it was\. .*",
     "{where}：没有权限；数据仓库保持原样。请让运行导入的用户有权读取导出文件并写入数据仓库所在的文件夹，然后重试。"),
    (r"(?P<where>.+?): the load ran out of the memory it may use \((?P<limit>[^)]*)\); the warehouse is as it was\. .*",
     "{where}：导入用尽了允许使用的内存（{limit}）；数据仓库保持原样。请用 SCORECARD_LOAD_MEMORY_LIMIT 调高上限（如 4GiB，"
     "不超过本机空闲内存），并确认其溢写文件夹（SCORECARD_LOAD_TEMP_DIRECTORY，默认在数据仓库旁）有足够空间，然后重试。"),
    (r"(?P<where>.+?): read-only file system; the warehouse is as it was\. .*",
     "{where}：文件系统为只读；数据仓库保持原样。请将该磁盘重新挂载为可写，或把数据仓库放在可写的磁盘上，然后重试。"),
    (r"(?P<file>.+?): this Excel file unzips to (?P<n>[\d,]+) MiB, more than the (?P<max>[\d,]+) MiB an Excel file may "
     r"hold \((?P<env>\w+)\); save the sheet as CSV, or split it, and load again",
     "{file}：该 Excel 文件解压后为 {n} MiB，超过上限 {max} MiB（{env}）；请将工作表另存为 CSV 或拆分后再导入"),
    (r"(?P<file>.+?): (?P<n>[\d,]+) columns, more than the (?P<max>[\d,]+) a file may have \((?P<env>\w+)\); "
     r"export only the columns the scorecard uses and load again",
     "{file}：共 {n} 列，超过每个文件 {max} 列的上限（{env}）；请只导出记分卡用到的列后再导入"),
    (r"(?P<file>.+?): the header line is more than the (?P<max>[\d,]+) columns a file may have \((?P<env>\w+)\): "
     r"(?P<n>[\d,]+) columns in its first 64 KiB alone; export only the columns the scorecard uses and load again",
     "{file}：表头超过每个文件 {max} 列的上限（{env}），仅前 64 KiB 就有 {n} 列；请只导出记分卡用到的列后再导入"),
    (r"(?P<file>.+?): the header line is longer than the 64 KiB a header may be: (?P<n>[\d,]+) columns in its first "
     r"64 KiB alone; export only the columns the scorecard uses and load again",
     "{file}：表头行超过 64 KiB 的上限（仅前 64 KiB 就有 {n} 列）；请只导出记分卡用到的列后再导入"),
    (r"(?P<file>.+?): (?P<n>[\d,]+) rows, more than the (?P<max>[\d,]+) a file may have \((?P<env>\w+)\); "
     r"split it into several files \(a month each\) and load again",
     "{file}：共 {n} 行，超过每个文件 {max} 行的上限（{env}）；请拆分为多个文件（每月一个）后再导入"),
    (r"two files are named (?P<names>.+?); rejected rows are reported by file name, so rename one of them and load again",
     "有两个文件同名（{names}）；被拒记录按文件名报告，请将其中一个改名后再导入"),
    (r"(?P<file>.+?): the mapping file is (?P<n>[\d,]+) KiB, more than the (?P<max>[\d,]+) KiB a mapping file may "
     r"have \((?P<env>\w+)\); nothing was loaded", "{file}：字段映射文件为 {n} KiB，超过上限 {max} KiB（{env}）"),
    (r"(?P<file>.+?): the mapping file is neither UTF-8, UTF-16 nor GB18030/GBK text; save it as UTF-8 and load again",
     "{file}：字段映射文件既不是 UTF-8、UTF-16，也不是 GB18030/GBK 文本；请另存为 UTF-8 后再导入"),
]


def _translate(text: str, shapes: list[tuple[str, str]]) -> str:
    for pattern, chinese in shapes:
        match = re.fullmatch(pattern, text)
        if match:
            return chinese.format(**match.groupdict())
    return text


def reason_zh(reason: str) -> str:
    """A reject reason in Chinese; several reasons of one row are joined by '; '."""
    whole = _translate(reason, REASONS)
    if whole != reason:
        knock_on = re.fullmatch(KNOCK_ON, reason)  # the customer's own reason, inside, in Chinese too
        return whole.replace(knock_on["reason"], reason_zh(knock_on["reason"])) if knock_on else whole
    return "；".join(_translate(part, REASONS) for part in reason.split("; "))


def note_zh(note: str) -> str:
    """A load report's note about a file in Chinese."""
    chinese = _translate(note, NOTES)
    return re.sub(r"header '(.*?)'", r"表头“\1”", chinese).replace("the mapping file", "字段映射文件")


def _looked_for_zh(looked: str) -> str:
    """The importer's "column as header, header; column as …" list of the headers a mapping looked for, in Chinese:
    "column（表头：header、header）；…"."""
    return "；".join(re.sub(r"^(\w+) as (.*)$", lambda m: f"{m[1]}（表头：{'、'.join(m[2].split(', '))}）", part)
                    for part in looked.split("; "))


def error_zh(message: str) -> str:
    chinese = _translate(message, ERRORS)
    return re.sub(r"查找过的表头：(.*)。$", lambda m: f"查找过的表头：{_looked_for_zh(m[1])}。", chinese)


# --- A load's progress while it runs (branch `load`, issue 17) ---

def progress_text(event) -> str:
    """What the Data page's progress bar says, in the page's language: the phase, the file or table with its rows read
    and rejected, the time elapsed and the time expected still (an ingest.load.LoadProgress). File names are escaped:
    the bar's text is Markdown."""
    from dashboard.escape import markdown
    from dashboard.i18n import _
    from ingest.load import clock

    name = markdown(event.name or "")
    where = f" ({event.step}/{event.steps})" if event.step and event.steps else ""
    rows, rejected = f"{event.rows or 0:,}", f"{event.rejected or 0:,}"
    what = {
        "waiting": _("Waiting for another load of this warehouse to finish"),
        "reading": _("Reading {name}{where}…") if event.rows is None else
                   _("Read {name}{where}: {rows} rows, {rejected} rejected"),
        "checking": _("Checking and loading {name}{where}…") if event.rows is None else
                    _("Checked and loaded {name}{where}: {rows} rows read, {rejected} rejected"),
        "model": _("Building the query model"),
        "committing": _("Committing"),
        "done": _("Done"),
    }[event.phase].format(name=name, where=where, rows=rows, rejected=rejected)
    timing = _("{elapsed} elapsed").format(elapsed=clock(event.elapsed))
    if event.remaining is not None and event.phase != "done":
        timing += _(", about {remaining} left").format(remaining=clock(event.remaining))
    return f"{what} · {timing}"
