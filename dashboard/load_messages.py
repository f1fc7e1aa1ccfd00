"""The importer's reject reasons and load errors in Chinese.

The ingest package writes them in English (they are stored in the warehouse and printed by the command line);
each has a fixed shape, so the Chinese is the same message with the values put back. A shape not listed
here is shown as written.
"""

from __future__ import annotations

import re

DATE_TIME = r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?"

REASONS: list[tuple[str, str]] = [
    (r"line has more fields than the (?P<n>\d+) columns of the header; quote values that contain the delimiter",
     "该行字段数多于表头的 {n} 列；含分隔符的值请加引号"),
    (r"line has fewer fields than the (?P<n>\d+) columns of the header \((?P<detail>.*)\)",
     "该行字段数少于表头的 {n} 列（{detail}）"),
    (r"line could not be read: (?P<detail>.*)", "该行无法读取：{detail}"),
    (r"duplicate (?P<keys>.+) '(?P<key>.*)' \(first on line (?P<line>\d+) of (?P<file>.+)\)",
     "{keys}“{key}”重复（首次出现在 {file} 第 {line} 行）"),
    (r"(?P<column>\S+) '(?P<value>.*)' is not in (?P<table>\w+)", "{column}“{value}”在 {table} 中不存在"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not one of (?P<allowed>.+)", "{label}“{raw}”不在可选值中（{allowed}）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a whole number", "{label}“{raw}”不是整数"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a number", "{label}“{raw}”不是数字"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a date and time \(use .*\)",
     "{label}“{raw}”不是有效的日期时间（请使用 YYYY-MM-DD HH:MM[:SS]、YYYY/MM/DD 或 YYYYMMDD）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a date \(use .*\)",
     "{label}“{raw}”不是有效日期（请使用 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not a month \(use .*\)", "{label}“{raw}”不是有效月份（请使用 YYYY-MM 或该月内的日期）"),
    (r"(?P<label>.+) '(?P<raw>.*)' is not yes/no \(use .*\)",
     "{label}“{raw}”不是“是/否”值（请使用 true/false、1/0、Y/N 或 是/否）"),
    (r"(?P<label>.+) (?P<value>\S+) is outside (?P<range>\S+)", "{label} {value} 超出范围 {range}"),
    (r"(?P<label>.+) (?P<value>\S+) must be greater than (?P<low>\S+)", "{label} {value} 必须大于 {low}"),
    (r"(?P<label>.+) (?P<value>\S+) is negative", "{label} {value} 为负数"),
    (r"(?P<label>.+) (?P<value>\S+) is below (?P<low>\S+)", "{label} {value} 低于 {low}"),
    (rf"(?P<later>.+) (?P<t1>{DATE_TIME}) is before (?P<earlier>.+) (?P<t2>{DATE_TIME})", "{later} {t1} 早于 {earlier} {t2}"),
    (r"(?P<label>.+) is missing", "{label}缺失"),
]

ERRORS: list[tuple[str, str]] = [
    (r"(?P<file>.+?): cannot load as table '(?P<table>\w+)': missing required column\(s\) (?P<columns>.+)\. "
     r"Headers found: (?P<headers>.*)\. Rename the headers or map them in a mapping file \(--mapping\)\.",
     "{file}：无法作为数据表“{table}”导入，缺少必填列 {columns}。文件中的表头：{headers}。请修改表头，或在字段映射文件中映射。"),
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
        return whole
    return "；".join(_translate(part, REASONS) for part in reason.split("; "))


def error_zh(message: str) -> str:
    return _translate(message, ERRORS)
