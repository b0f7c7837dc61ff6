"""The guide's mailbox CSV as Excel and other tools write it (reconciler/spec/mailbox_csv.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import SpecError
from reconciler.spec.loader import load_spec
from reconciler.spec.mailbox_csv import MAX_CSV_BYTES, MAX_CSV_ROWS, CsvEntry, read_mailbox_csv
from reconciler.spec.presets import read_csv_aliases

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _write(tmp_path: Path, data: bytes, name: str = "cronofy.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as caught:
        read_mailbox_csv(path)
    return caught.value


def test_the_guides_format(tmp_path: Path) -> None:
    csv = read_mailbox_csv(_write(tmp_path, b"alias\nboardroom\nconfrooma\nalice\n"))
    assert csv.entries == (CsvEntry("boardroom", 2), CsvEntry("confrooma", 3), CsvEntry("alice", 4))
    assert csv.values == ("boardroom", "confrooma", "alice")
    assert csv.notes == () and csv.encoding == "utf-8" and csv.delimiter == ","


@pytest.mark.parametrize("header", ["alias", "Alias", " ALIAS ", '"alias"'])
def test_the_header_is_case_insensitive_and_stripped(tmp_path: Path, header: str) -> None:
    assert read_mailbox_csv(_write(tmp_path, f"{header}\r\n  alice  \r\n".encode())).values == ("alice",)


def test_excel_csv_utf8_with_a_byte_order_mark(tmp_path: Path) -> None:
    csv = read_mailbox_csv(_write(tmp_path, "alias,name\r\njosé,José García\r\n".encode("utf-8-sig")))
    assert csv.values == ("josé",) and csv.notes == ()


def test_windows_excel_csv_is_read_as_cp1252_with_a_note(tmp_path: Path) -> None:
    csv = read_mailbox_csv(_write(tmp_path, "alias,name\r\njosé,José\r\nbjörn,Björn\r\n".encode("cp1252")))
    assert csv.values == ("josé", "björn") and csv.encoding == "cp1252"
    assert len(csv.notes) == 1 and "Windows-1252" in csv.notes[0] and "cronofy.csv" in csv.notes[0]
    assert "CSV UTF-8" in csv.notes[0]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_is_utf16_and_tab_separated(tmp_path: Path, codec: str) -> None:
    text = "\ufeffname\talias\r\nZoë\tzoe\r\nBoard room\tboardroom\r\n"
    csv = read_mailbox_csv(_write(tmp_path, text.encode(codec)))
    assert csv.values == ("zoe", "boardroom") and csv.delimiter == "\t" and csv.encoding == codec
    assert [e.line for e in csv.entries] == [2, 3]


def test_utf16_without_a_byte_order_mark_is_recognised_with_a_note(tmp_path: Path) -> None:
    csv = read_mailbox_csv(_write(tmp_path, "alias\nalice\n".encode("utf-16-le")))
    assert csv.values == ("alice",) and csv.notes and "UTF-16" in csv.notes[0]


def test_european_excel_writes_semicolons(tmp_path: Path) -> None:
    csv = read_mailbox_csv(_write(tmp_path, b"Name;Alias;Office\r\nAlice;alice;Paris, 2nd floor\r\n"))
    assert csv.values == ("alice",) and csv.delimiter == ";"


def test_excels_sep_line_names_the_separator(tmp_path: Path) -> None:
    csv = read_mailbox_csv(_write(tmp_path, b"sep=;\r\nalias;name\r\nalice;Alice, A.\r\n"))
    assert csv.entries == (CsvEntry("alice", 3),) and csv.delimiter == ";"


def test_rows_without_values_are_ignored(tmp_path: Path) -> None:
    data = b"alias,name\r\nalice,Alice\r\n,\r\n , \r\n\r\nbob,Bob\r\n,,,\r\n"
    assert read_mailbox_csv(_write(tmp_path, data)).entries == (CsvEntry("alice", 2), CsvEntry("bob", 6))


@pytest.mark.parametrize("data", [b"alias\n", b"alias\r\n\r\n,\r\n", b"\xef\xbb\xbfalias;name\r\n;;\r\n"])
def test_a_header_without_rows_is_zero_entries(tmp_path: Path, data: bytes) -> None:
    assert read_mailbox_csv(_write(tmp_path, data)).entries == ()


def test_line_numbers_are_physical_lines(tmp_path: Path) -> None:
    """CRLF is one line break; blank lines count; a quoted value with line breaks spans several lines."""
    data = b'alias,note\r\nalice,"two\r\nlines"\r\n\r\n\r\nbob,x\r\ndave,"three\nmore\nlines"\r\ncarol,y\r\n'
    csv = read_mailbox_csv(_write(tmp_path, data))
    assert csv.entries == (CsvEntry("alice", 2), CsvEntry("bob", 6), CsvEntry("dave", 7), CsvEntry("carol", 10))


def test_every_empty_alias_is_reported_with_its_line(tmp_path: Path) -> None:
    data = b"alias,name\r\n\r\nalice,Alice\r\n\r\n,Nobody\r\nbob,Bob\r\n  ,Somebody\r\n"
    error = _error(_write(tmp_path, data))
    assert [str(p.location) for p in error.problems] == [f"{tmp_path}/cronofy.csv:5", f"{tmp_path}/cronofy.csv:7"]
    assert all(p.summary == "empty alias" for p in error.problems)
    assert error.summary.startswith("2 empty alias(es)")


def test_a_missing_alias_cell_is_an_empty_alias(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, b"name,alias\nAlice\n"))
    assert error.summary == "empty alias" and error.location is not None and error.location.line == 2


def test_control_characters_in_an_alias_are_refused(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, b"alias\nali\x07ce\n"))
    assert "U+0007" in error.summary and error.location is not None and error.location.line == 2


def test_no_alias_column(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, b"\n\nmailbox,name\nalice,Alice\n"))
    assert "no 'alias' column" in error.summary and str(error.location).endswith("cronofy.csv:3:1")


def test_two_alias_columns(tmp_path: Path) -> None:
    assert "two 'alias' columns" in _error(_write(tmp_path, b"alias,Alias\na,b\n")).summary


def test_an_empty_file_has_no_header(tmp_path: Path) -> None:
    assert "no header line" in _error(_write(tmp_path, b"")).summary


def test_an_unclosed_quote_names_the_line_it_opens_on(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, b'alias\r\nalice\r\n"bob\r\ncarol\r\n'))
    assert "never closed" in error.summary and error.location is not None and error.location.line == 3


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"alias\r\nalice\r\n\x81\x8d\x8f\r\n", "not readable text"),  # bytes Windows-1252 leaves undefined
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "Excel 97-2003 workbook"),
        (b"alias\r\nal\x00ice\r\n", "NUL"),
    ],
)
def test_undecodable_files_are_refused_naming_the_file_and_the_fix(tmp_path: Path, data: bytes, says: str) -> None:
    error = _error(_write(tmp_path, data))
    assert says in error.summary and "cronofy.csv" in error.summary
    assert "CSV UTF-8" in error.detail and error.location is not None and "cronofy.csv" in error.location.file


def test_undecodable_bytes_name_their_line(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, b"alias\r\nalice\r\n\x81\r\n"))
    assert error.location is not None and error.location.line == 3


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "cronofy.csv"
    with path.open("wb") as handle:
        handle.write(b"alias\n")
        handle.truncate(MAX_CSV_BYTES + 1)
    error = _error(path)
    assert "MB" in error.summary and "cronofy.csv" in error.summary


def test_more_rows_than_the_limit_are_refused(tmp_path: Path) -> None:
    data = b"alias\n" + b"".join(b"r%d\n" % i for i in range(MAX_CSV_ROWS + 1))
    error = _error(_write(tmp_path, data))
    assert f"{MAX_CSV_ROWS:,} mailboxes" in error.summary
    assert error.location is not None and error.location.line == MAX_CSV_ROWS + 2


def test_problems_lists_every_matching_entry_with_its_line(tmp_path: Path) -> None:
    csv = read_mailbox_csv(_write(tmp_path, b"alias\nalice\nnobody\nbob\nNOBODY\nghost\n"))
    error = csv.problems(["nobody", "ghost"], "mailbox '{value}' does not exist in the tenant", "check the alias")
    assert error is not None
    assert [(p.summary, p.location.line if p.location else None) for p in error.problems] == [
        ("mailbox 'nobody' does not exist in the tenant", 3),
        ("mailbox 'NOBODY' does not exist in the tenant", 5),
        ("mailbox 'ghost' does not exist in the tenant", 6),
    ]
    assert csv.problems([], "x", "y") is None


def test_the_loader_keeps_the_notes_and_presets_read_the_same_values(tmp_path: Path) -> None:
    _write(tmp_path, "alias;name\r\njosé;José\r\n".encode("cp1252"))
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\ntenant: {domain: contoso.com}\nservice_account: {user_principal_name: s@contoso.com, "
        "display_name: S, licenses: [EXCHANGESTANDARD], usage_location: US}\n"
        "access: {level: free_busy, mailboxes: {csv: cronofy.csv}}\n",
        encoding="utf-8",
    )
    loaded = load_spec(spec)
    assert len(loaded.notes) == 1 and "Windows-1252" in loaded.notes[0]
    assert read_csv_aliases(loaded) == ("josé",)


ALIAS = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.@'"),
    min_size=1,
    max_size=20,
)
NOISE = st.sampled_from(["", ",", ", ,"])


@SETTINGS
@given(
    aliases=st.lists(ALIAS, max_size=20),
    codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    blanks=st.lists(st.integers(min_value=0, max_value=2), max_size=20),
)
def test_round_trip_through_every_excel_dialect(
    tmp_path: Path, aliases: list[str], codec: str, delimiter: str, newline: str, blanks: list[int]
) -> None:
    """Whatever the encoding, separator and line ends, every alias comes back with the line it is on."""
    lines = [f"name{delimiter}alias{delimiter}note"]
    expected: list[CsvEntry] = []
    for index, alias in enumerate(aliases):
        lines += [delimiter * 2] * (blanks[index] if index < len(blanks) else 0)  # rows without values
        expected.append(CsvEntry(alias, len(lines) + 1))
        lines.append(f'x{delimiter}"{alias}"{delimiter}"a{delimiter}b"')
    data = (newline.join(lines) + newline).encode(codec if codec != "utf-16" else "utf-16")
    if codec in ("utf-16-le", "utf-16-be"):
        data = "\ufeff".encode(codec) + data
    csv = read_mailbox_csv(_write(tmp_path, data))
    assert csv.entries == tuple(expected)
    assert csv.delimiter == delimiter


@SETTINGS
@given(data=st.binary(max_size=300))
def test_any_bytes_are_entries_or_a_located_error(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, data)
    try:
        csv = read_mailbox_csv(path)
    except SpecError as exc:
        assert exc.problems and all(p.location is not None and p.location.file == str(path) for p in exc.problems)
    else:
        assert all(e.value and e.value == e.value.strip() and e.line >= 2 for e in csv.entries)
