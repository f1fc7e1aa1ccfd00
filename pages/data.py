"""Data status: what is loaded and how fresh it is, load history, rejected rows with reasons, and importing new
exports."""

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import data, escape
from dashboard.filters import IDENTITY_KEY, current
from dashboard.i18n import _, language
from dashboard.labels import TABLES, column, label
from dashboard.load_messages import error_zh, note_zh, progress_text, reason_zh
from dashboard.ui import page_header, table
from ingest import LoadError, load, load_mapping
from ingest.contracts import CONTRACTS
from ingest.limits import UploadLimits, check_names
from ingest.load import FileReport, LoadProgress, Mode
from ingest.os_errors import explained
from ingest.readers import SUPPORTED_SUFFIXES
from ingest.scratch import ScratchFolder

WAIT_SECONDS = 60  # for another load of the warehouse to finish (a command-line load, or another admin's upload)

current("data")  # refuses users whose role does not include this page
identity = st.session_state[IDENTITY_KEY]
page_header(_("Data status"), _("What is loaded, how fresh is it, and what was rejected and why?"))
status = data.status()
loads = status["loads"]

cols = st.columns([1.5, 1.8, 1, 1])
cols[0].metric(_("Last load"), f"{loads['loaded_at'].iloc[0]:%Y-%m-%d}" if not loads.empty else "–", border=True,
               help=f"{loads['loaded_at'].iloc[0]:%Y-%m-%d %H:%M:%S}" if not loads.empty else None)
first_last = data.filter_choices()["range"]
cols[1].metric(_("Data covers"), f"{first_last[0]:%Y-%m} – {first_last[1]:%Y-%m}" if first_last else "–", border=True)
cols[2].metric(_("Rows loaded"), f"{int(status['counts']['row_count'].sum()):,}", border=True)
cols[3].metric(_("Rows rejected (last load)"), f"{int(loads['rows_rejected'].iloc[0]):,}" if not loads.empty else "–",
               border=True)

left, right = st.columns(2)
with left:
    st.subheader(_("Tables"))
    # an empty table has no latest date: "–"
    table(status["counts"].merge(status["freshness"], on="table_name", how="left"), "warehouse_tables",
          days=("latest",))
with right:
    st.subheader(_("Load history"))
    table(loads.drop(columns="report"), "load_history", column_config={
        column("loaded_at"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        column("duration_seconds"): st.column_config.NumberColumn(format="%.1f")})


def show_report(report: dict) -> None:
    """A load's stored report (LoadReport.to_json), as the command line printed it or the Data page made it: rows per
    table, the top reasons, and per file the header line taken, rows skipped and why, scalings and warnings."""
    summary = pd.DataFrame([{"table_name": t, "rows_read": r.get("read"), "rows_loaded": r.get("loaded"),
                             "rows_rejected": r.get("rejected"), "rows_superseded": r.get("superseded"),
                             "rows_skipped": r.get("skipped")} for t, r in report.get("tables", {}).items()])
    table(summary, "load_report")
    for table_name, reasons in report.get("top_reasons", {}).items():
        st.markdown(f"**{_('Top reasons in')} {escape.markdown(label(TABLES, table_name))}:** " +
                    "; ".join(f"{escape.markdown(reason_zh(r['reason']) if chinese else r['reason'])} ({r['rows']:,})"
                              for r in reasons))
    known = FileReport.__dataclass_fields__
    files = [FileReport(**{k: v for k, v in f.items() if k in known}) for f in report.get("files", [])]
    st.markdown(f"**{_('What the importer noticed in each file')}**")
    table(pd.DataFrame([{"source_file": f.file, "table_name": f.table, "header_line": f.header_line,
                         "rows_read": f.read, "rows_loaded": f.loaded, "rows_rejected": f.rejected,
                         "rows_superseded": f.superseded,
                         "rows_skipped": f.skipped, "empty_rows": f.empty_rows} for f in files]),
          "load_report_files")
    for f in files:
        if notes := f.notes():
            st.markdown(f"**{escape.markdown(f.file)}**\n"
                        + "\n".join(f"- {escape.markdown(note_zh(n) if chinese else n)}" for n in notes))


chinese = language() == "zh"
if not loads.empty:
    st.subheader(_("Report of the latest load (load {number})").format(number=int(loads["load_id"].iloc[0])))
    if loads["report"].iloc[0] is None:
        st.info(_("This load was made before loads kept their report."), icon=":material/info:")
    else:
        show_report(loads["report"].iloc[0])

st.subheader(_("Rejected rows"))
c1, c2 = st.columns(2)
load_ids = loads["load_id"].tolist()
picked_load = c1.selectbox(_("Load"), load_ids, key=f"rejects_load_{load_ids[0] if load_ids else 0}",
                           format_func=lambda i: _("Load {number}").format(number=i)) if load_ids else None
picked_table = c2.selectbox(_("Table"), [None, *CONTRACTS], key="rejects_table",
                            format_func=lambda t: _("All tables") if t is None else t)
rejected = data.rejects(picked_load, picked_table)
if chinese and not rejected.empty:
    rejected = rejected.assign(reason=rejected["reason"].map(reason_zh))
if rejected.empty:
    st.success(_("No rows were rejected in this load."), icon=":material/check_circle:")
else:
    table(rejected, "rejected_rows", column_config={column("reason"): st.column_config.TextColumn(width="large")})

if not identity.can_import:
    st.stop()
st.subheader(_("Import new exports"))
LAST_IMPORT = "last_import_report"
if LAST_IMPORT in st.session_state:
    report = st.session_state.pop(LAST_IMPORT)
    st.success(_("Load {number} committed in {seconds:.1f} s.").format(
        number=report.load_id, seconds=report.duration_seconds) + " " + _("Its report is shown above."),
        icon=":material/check_circle:")
st.caption(_("CSV (UTF-8, GB18030/GBK or UTF-16), Excel or Parquet. Files are checked against the table contracts; "
             "rows that break a rule are kept with their reason. If a file cannot be used at all, nothing is loaded."))
modes: dict[Mode, str] = {"append": _("Append a monthly increment (update existing keys)"),
         "replace": _("Replace everything (full reload)")}
try:
    limits = UploadLimits.from_env()
except LoadError as error:
    st.error(str(error), icon=":material/error:")
    st.stop()
with st.form("import", clear_on_submit=False):
    files = st.file_uploader(_("Export files"), type=sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES),
                             accept_multiple_files=True, max_upload_size=limits.max_upload_mib)
    # The same cap as the exports, so that a mapping file over its own (smaller) limit reaches the check below and
    # stops the load, instead of being dropped by the widget while the load goes on without it.
    mapping_file = st.file_uploader(_("Mapping file (optional, TOML)"), type=["toml"],
                                    max_upload_size=limits.max_upload_mib)
    mode = st.radio(_("Mode"), list(modes), horizontal=True, format_func=modes.get)
    submitted = st.form_submit_button(_("Validate and load"), type="primary")

if submitted:
    too_big = [upload.name for upload in [*(files or []), *([mapping_file] if mapping_file else [])]
               if upload.size > limits.max_upload_mib * 2**20]
    if too_big:
        st.error(_("Larger than {size} MiB, so not loaded:").format(size=limits.max_upload_mib) + " "
                 + ", ".join(map(escape.markdown, too_big)))
        st.stop()
    if not files:
        st.warning(_("Choose at least one export file."))
        st.stop()
    progress = st.progress(0.0, text=_("Starting…"))
    folder = None
    try:
        # Copies beside the warehouse, held while in use: what a killed upload leaves, the next load removes.
        with explained(data.WAREHOUSE.parent), ScratchFolder(data.WAREHOUSE.parent, "upload") as folder:
            check_names(Path(upload.name).name for upload in files)
            paths = []
            for upload in files:
                path = folder / Path(upload.name).name
                path.write_bytes(upload.getvalue())
                paths.append(path)
            mapping = None
            if mapping_file is not None:
                (folder / "mapping").mkdir()
                mapping_path = folder / "mapping" / Path(mapping_file.name).name
                mapping_path.write_bytes(mapping_file.getvalue())
                mapping = load_mapping(mapping_path, limits)
            def show(event: LoadProgress) -> None:
                progress.progress(event.fraction, text=progress_text(event))

            report = load(paths, data.WAREHOUSE, mode=mode, mapping=mapping, limits=limits, wait_seconds=WAIT_SECONDS,
                          progress=show)
    except LoadError as error:
        progress.empty()
        message = str(error).replace(f"{folder}/mapping/", "").replace(f"{folder}/", "") if folder else str(error)
        st.error(_("Nothing was loaded:") + " " + escape.markdown(error_zh(message) if chinese else message),
                 icon=":material/error:")
    else:
        st.session_state[LAST_IMPORT] = report
        st.rerun()  # the status, history and rejects above now show the new load
