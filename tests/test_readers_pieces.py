"""A CSV is scanned for its records piece by piece (ingest.readers.SCAN_CHUNK bytes at a time, issue 17), so what the
importer holds for a file does not grow with its rows. Whatever the piece size, a staged row's line is its physical
line (after quoted line breaks, blank lines, rejected lines and title rows) and the rejects and skipped rows are the
same: checked by hand on a small file cut into pieces of 1 byte up to the whole file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from ingest import readers

# line by line (physical lines), what each is
ROWS = [
    "国网XX供电公司 客户档案 导出时间:2026-11-30",  # 1 title row
    "",  # 2 blank, above the header: not counted
    "customer_id,name,amount",  # 3 header
    "C1,Alpha,10",  # 4
    'C2,"Beta',  # 5 a record over two lines
    'Corp",20',  # 6
    "",  # 7 blank: counted
    "C3,Gamma,30,extra",  # 8 one field too many: rejected
    "C4,Delta,40",  # 9
    "   ",  # 10 spaces only: blank
    "合计,,100",  # 11 totals row: skipped
    'C5,"Eps""ilon",50',  # 12 a doubled quote
    'C6,"multi',  # 13 a record over three lines, one of them empty
    "",  # 14
    'line",60',  # 15
    "C7,Zeta",  # 16 one field short: rejected
    "C8,Eta,80",  # 17 the last, without a line break after it
]
STAGED = [(4, "C1", "Alpha"), (5, "C2", "Beta\nCorp"), (9, "C4", "Delta"), (12, "C5", 'Eps"ilon'),
          (13, "C6", "multi\n\nline"), (17, "C8", "Eta")]
REJECTED_LINES = [8, 16]


def finder(rows: list[list[str]]) -> int | None:
    return next((i for i, row in enumerate(rows) if "customer_id" in row), None)


def stage(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "customers.csv") -> tuple:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    con = duckdb.connect()
    staged = readers.stage_file(con, path, "stage_1", tmp_path, find_header=finder)
    rows = con.execute("SELECT _line, c0, c1 FROM stage_1 ORDER BY _line").fetchall()
    left = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    return staged, rows, left


def check(staged, rows, left, newline: str = "\n") -> None:
    assert rows == [(line, cid, name.replace("\n", newline)) for line, cid, name in STAGED]
    assert staged.header_line == 3 and staged.headers == ["customer_id", "name", "amount"]
    assert [line for line, _, _ in staged.structural_rejects] == REJECTED_LINES
    assert staged.structural_rejects[0][1] == "C3,Gamma,30,extra"
    assert "more fields" in staged.structural_rejects[0][2] and "fewer fields" in staged.structural_rejects[1][2]
    assert [line for line, _, _ in staged.skipped] == [11]
    assert staged.empty_rows == 2  # lines 7 and 10 (line 2 is above the header)
    assert staged.rows == len(STAGED)
    assert left == {"stage_1"}  # the line marks and DuckDB's rejects tables are gone


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 8, 13, 40, 1 << 24])
def test_lines_rejects_and_blanks_whatever_the_piece_size(tmp_path, monkeypatch, piece):
    monkeypatch.setattr(readers, "SCAN_CHUNK", piece)
    check(*stage(tmp_path, "\n".join(ROWS)))


@pytest.mark.parametrize("piece", [1, 7, 1 << 24])
def test_windows_line_breaks_in_pieces(tmp_path, monkeypatch, piece):
    monkeypatch.setattr(readers, "SCAN_CHUNK", piece)
    check(*stage(tmp_path, "\r\n".join(ROWS) + "\r\n"), newline="\r\n")


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig"])
def test_decoded_files_in_pieces(tmp_path, monkeypatch, encoding):
    monkeypatch.setattr(readers, "SCAN_CHUNK", 4)
    check(*stage(tmp_path, "\n".join(ROWS) + "\n", encoding))
    assert not [p for p in tmp_path.iterdir() if p.name != "customers.csv"]  # the decoded copy is removed


def test_line_marks_written_in_several_batches(tmp_path, monkeypatch):
    """Every record over two lines moves the lines of those after it; with marks written to DuckDB one at a time the
    lines are the same."""
    monkeypatch.setattr(readers, "SCAN_CHUNK", 16)
    monkeypatch.setattr(readers, "LINE_MARKS", 1)
    body = "".join(f'C{i},"two\nlines",{i}\n' for i in range(1, 41))
    path = tmp_path / "c.csv"
    path.write_text("customer_id,name,amount\n" + body + "C41,one,41\n", encoding="utf-8")
    con = duckdb.connect()
    staged = readers.stage_file(con, path, "stage_1", tmp_path, find_header=finder)
    lines = [r[0] for r in con.execute("SELECT _line FROM stage_1 ORDER BY _line").fetchall()]
    # record i (1-based) starts on line 2 + 2 (i - 1); the last one after 40 two-line records, on line 82
    assert lines == [2 + 2 * (i - 1) for i in range(1, 41)] + [82]
    assert staged.rows == 41 and not staged.structural_rejects


def test_pieces_cover_every_record_once(tmp_path, monkeypatch):
    """The pieces, put together, are the records of the file: the same offsets, lines and ends at every size."""
    text = "\n".join(ROWS).encode("utf-8")
    path = tmp_path / "c.csv"
    path.write_bytes(text)
    monkeypatch.setattr(readers, "SCAN_CHUNK", 1 << 24)
    whole = [(int(s), int(ln), int(e), int(f)) for p in readers._record_pieces(path)
             for s, ln, e, f in zip(p.starts, p.lines, p.stops, p.first_bytes, strict=True)]
    # by hand: records start at each line that does not continue a quoted value
    record_lines = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 16, 17]
    assert [ln for _, ln, _, _ in whole] == record_lines
    assert whole[0][0] == 0 and whole[-1][2] == len(text)
    assert [text[s:e].decode("utf-8") for s, _, e, _ in whole][4] == 'C2,"Beta\nCorp",20'
    assert [f for _, _, _, f in whole][1] == ord("\n") and [f for _, _, _, f in whole][8] == ord(" ")
    for piece in (1, 2, 3, 6, 11):
        monkeypatch.setattr(readers, "SCAN_CHUNK", piece)
        pieces = list(readers._record_pieces(path))
        assert [(int(s), int(ln), int(e), int(f)) for p in pieces
                for s, ln, e, f in zip(p.starts, p.lines, p.stops, p.first_bytes, strict=True)] == whole
        assert [p.first for p in pieces] == [sum(len(q.starts) for q in pieces[:i]) for i in range(len(pieces))]


TOTALS_FILE = "\n".join([
    "customer_id,name,amount",  # 1
    "C1,合计划,10",  # 2 计 in a cell that is not a totals word: a record
    "Grand Total,,70",  # 3 totals in the first cell (English, any case): skipped
    "C2,Totally,20",  # 4 total in a word: a record
    "C3,Beta,30",  # 5
    "C4,小 计,40",  # 6 小计 (a space between) in any cell: skipped
    "TOTAL:,,100",  # 7 skipped
    "C5,total,50",  # 8 English total in a cell other than the first: a record
])


def test_totals_rows_found_whatever_the_piece_cuts(tmp_path, monkeypatch):
    """The scan marks the records whose bytes hold 计 or total; only those are tested as totals rows. A piece boundary
    may cut a word anywhere: at every piece size from 1 byte to past the file's end the same rows are skipped."""
    path = tmp_path / "c.csv"
    path.write_text(TOTALS_FILE, encoding="utf-8")
    for piece in range(1, len(TOTALS_FILE.encode()) + 2):
        monkeypatch.setattr(readers, "SCAN_CHUNK", piece)
        con = duckdb.connect()
        staged = readers.stage_file(con, path, "stage_1", tmp_path, find_header=finder)
        assert [line for line, _, _ in staged.skipped] == [3, 6, 7], piece
        assert [r[0] for r in con.execute("SELECT _line FROM stage_1 ORDER BY _line").fetchall()] == [2, 4, 5, 8]
        assert {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} == {"stage_1"}
        con.close()


def test_words_of_totals_rows_found_in_the_bytes():
    chunk = np.frombuffer("xTOTALy计 toTal tota\n计".encode(), dtype=np.uint8)
    # by hand: TOTAL at byte 1, 计 at 7 (3 bytes), toTal at 11, the last 计 at 22; 'tota' is not total
    assert sorted(readers._word_starts(chunk).tolist()) == [1, 7, 11, 22]


def test_only_marked_records_are_tested_as_totals(tmp_path, monkeypatch):
    """With one piece for the file, the lines kept for the totals test are the first record's and those holding a
    word: 2 (first), 3, 4, 6, 7, 8, not 5."""
    path = tmp_path / "c.csv"
    path.write_text(TOTALS_FILE, encoding="utf-8")
    seen: list[list[int]] = []
    take_out = readers._take_out_non_records

    def noting(con, staged):
        if staged.totals_lines:
            seen.append(sorted(r[0] for r in con.execute(f"SELECT line FROM {staged.totals_lines}").fetchall()))
        return take_out(con, staged)

    monkeypatch.setattr(readers, "_take_out_non_records", noting)
    con = duckdb.connect()
    staged = readers.stage_file(con, path, "stage_1", tmp_path, find_header=finder)
    assert seen == [[2, 3, 4, 6, 7, 8]]
    assert [line for line, _, _ in staged.skipped] == [3, 6, 7]
