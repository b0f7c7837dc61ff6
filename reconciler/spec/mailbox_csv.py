"""The guide's mailbox CSV (`cronofy.csv`: an `alias` column), as Excel and other tools really write it.

What arrives in practice, and what this module does with it:

- **Encoding.** Excel's "CSV UTF-8" starts with a UTF-8 byte order mark; "Unicode Text" is UTF-16 LE with a
  BOM and *tab*-separated; PowerShell's `Export-Csv -Encoding Unicode` is UTF-16 with a BOM too. Windows Excel's
  plain "CSV (Comma delimited)" is the ANSI code page, Windows-1252 in the West: a file that is not UTF-8 is read
  as Windows-1252, with a note (the caller can print it) saying so. Bytes that are none of these (a workbook
  saved as .xlsx, a binary file, a byte Windows-1252 leaves undefined) are refused, naming the file and the fix:
  save it as "CSV UTF-8".
- **Separator.** European Excel writes `alias;name`. The header line decides: `,`, `;` or tab, whichever splits
  it into a cell named `alias` (Excel's own `sep=;` first line is honoured too).
- **Rows.** Rows with no value at all (`,`, `;;`, blank lines) are ignored. Every row with other values but an
  empty alias is an error, and every one of them is reported at once, each at its file:line.
- **Lines.** Line numbers are physical lines of the file as an editor shows them (CRLF is one line break, blank
  lines count, a quoted field with line breaks inside spans several lines): an entry's line is the line its row
  starts on.
- **Limits.** Files over MAX_CSV_BYTES and more than MAX_CSV_ROWS rows are refused before any work on them.

An empty CSV (a header and no rows) is zero entries, not an error.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import Location, ReconcilerError, SpecError

MAX_CSV_BYTES = 10 * 1024 * 1024  # a CSV of 200,000 mailbox addresses is about 6 MB
MAX_CSV_ROWS = 200_000
SAVE_AS_UTF8 = (
    'in Excel use File > Save As > "CSV UTF-8 (Comma delimited) (*.csv)"; elsewhere save it as UTF-8 text, '
    "with a header line `alias` and one mailbox alias or address per line"
)
DELIMITERS = (",", ";", "\t")  # in order of preference when a header has no separator at all
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SEP_DIRECTIVE = re.compile(r"^sep=(.)\s*$", re.IGNORECASE)  # Excel's "sep=;" first line
# C0 and C1 control characters, DEL, and Unicode line/paragraph separators: never part of an alias or address.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class CsvEntry:
    """One alias or address, and the physical line (1-based) its row starts on."""

    value: str
    line: int


@dataclass(frozen=True)
class MailboxCsv:
    """What a mailbox CSV holds: its entries in file order (duplicates kept), and notes for the user."""

    path: Path
    entries: tuple[CsvEntry, ...]
    notes: tuple[str, ...] = ()
    encoding: str = "utf-8"
    delimiter: str = ","

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(entry.value for entry in self.entries)

    def location(self, entry: CsvEntry) -> Location:
        return Location(str(self.path), entry.line)

    def problems(self, values: Iterable[str], summary: str, detail: str) -> SpecError | None:
        """One SpecError listing every entry whose value is in `values` (case-insensitive), each at its
        file:line; None when there is none. For example every alias the tenant does not know:

            error = csv.problems(unknown, "mailbox '{value}' does not exist in the tenant", "check the alias")

        `summary` may use `{value}`; the combined error counts them."""
        wanted = {v.lower() for v in values}
        found: list[ReconcilerError] = [
            SpecError(summary.format(value=e.value), detail, self.location(e))
            for e in self.entries
            if e.value.lower() in wanted
        ]
        if not found:
            return None
        first = found[0]
        headline = first.summary if len(found) == 1 else f"{len(found)} problem(s) in {self.path}: {first.summary}, ..."
        return SpecError(headline, detail, first.location, found)


def read_mailbox_csv(path: Path, reference: Location | None = None) -> MailboxCsv:
    """Read, decode and check a mailbox CSV; a SpecError naming the file (and each line) when it is unusable.

    `reference` is where the spec names the file (reported when the file cannot be read at all)."""
    raw = _read_bounded(path, reference)
    text, encoding, notes = decode(raw, path)
    return parse(text, path, encoding=encoding, notes=notes)


# -- bytes ---------------------------------------------------------------------------------
def _read_bounded(path: Path, reference: Location | None) -> bytes:
    where = reference or Location(str(path))
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise _too_big(path, size)
        with path.open("rb") as handle:  # bounded: a pipe or a special file has no size to trust
            raw = handle.read(MAX_CSV_BYTES + 1)
    except IsADirectoryError:
        raise SpecError(
            f"mailbox CSV {path} is a folder", "mailboxes.csv names a file, relative to the spec file", where
        ) from None
    except OSError as exc:
        raise SpecError(
            f"cannot read mailbox CSV {path}: {exc.strerror}", "mailboxes.csv is relative to the spec file", where
        ) from None
    if len(raw) > MAX_CSV_BYTES:
        raise _too_big(path, len(raw))
    return raw


def _too_big(path: Path, size: int) -> SpecError:
    return SpecError(
        f"mailbox CSV {path} is {size / 2**20:.1f} MB; at most {MAX_CSV_BYTES // 2**20} MB is read",
        f"a mailbox CSV lists at most {MAX_CSV_ROWS:,} mailboxes; give larger sets as a group "
        "(access.mailboxes.group) or a room list instead",
        Location(str(path)),
    )


def decode(raw: bytes, path: Path) -> tuple[str, str, tuple[str, ...]]:
    """The text of the file, the encoding it was read with, and notes (a Windows-1252 fallback)."""
    _refuse_workbooks(raw, path)
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if raw.startswith(bom):
            return _strict(raw[len(bom) :], encoding, path), encoding, ()
    utf16 = _bomless_utf16(raw)
    if utf16:
        note = f"{path} has no byte order mark; read it as {utf16.upper()} (it looks like UTF-16 text)"
        return _strict(raw, utf16, path), utf16, (note,)
    try:
        return _no_nul(raw.decode("utf-8"), "utf-8", path), "utf-8", ()
    except UnicodeDecodeError:
        pass
    text = _strict(raw, "cp1252", path)
    note = (
        f"{path} is not UTF-8; read it as Windows-1252 (what Windows Excel writes for "
        '"CSV (Comma delimited)"): check the accented aliases, or save it as "CSV UTF-8 (Comma delimited)"'
    )
    return text, "cp1252", (note,)


def _refuse_workbooks(raw: bytes, path: Path) -> None:
    kind = None
    if raw.startswith(b"PK\x03\x04"):
        kind = "an Excel workbook (.xlsx) or another zip file"
    elif raw.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        kind = "an Excel 97-2003 workbook (.xls)"
    if kind:
        raise SpecError(f"mailbox CSV {path} is {kind}, not CSV text", SAVE_AS_UTF8, Location(str(path), 1))


def _bomless_utf16(raw: bytes) -> str | None:
    """UTF-16 without a byte order mark: ASCII-heavy text has a NUL in every other byte."""
    sample = raw[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= len(odd) * 0.4 and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= len(even) * 0.4 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _strict(raw: bytes, encoding: str, path: Path) -> str:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = _line_at(raw[: exc.start].decode("latin-1")) if encoding in ("utf-8", "cp1252") else None
        raise SpecError(
            f"mailbox CSV {path} is not readable text: byte 0x{raw[exc.start]:02x} is not valid "
            f"{_encoding_name(encoding)}",
            SAVE_AS_UTF8,
            Location(str(path), line),
        ) from None
    return _no_nul(text, encoding, path)


def _no_nul(text: str, encoding: str, path: Path) -> str:
    """Text files hold no NUL characters: binary data (or UTF-16 read as something else) does."""
    if "\x00" in text:
        line = _line_at(text[: text.index("\x00")])
        raise SpecError(
            f"mailbox CSV {path} holds NUL characters: it is not {_encoding_name(encoding)} CSV text",
            SAVE_AS_UTF8,
            Location(str(path), line),
        )
    return text


def _line_at(prefix: str) -> int:
    """The physical line (1-based) that starts after `prefix`: CRLF, LF and CR each end a line."""
    return prefix.count("\n") + prefix.count("\r") - prefix.count("\r\n") + 1


def _encoding_name(encoding: str) -> str:
    return {"cp1252": "UTF-8 or Windows-1252"}.get(encoding, encoding.upper())


# -- text ----------------------------------------------------------------------------------
def parse(text: str, path: Path, *, encoding: str = "utf-8", notes: tuple[str, ...] = ()) -> MailboxCsv:
    """The entries of decoded CSV text; a SpecError listing every problem, each with file:line."""
    column, header_line, delimiter = _header(text, path)
    entries: list[CsvEntry] = []
    problems: list[ReconcilerError] = []
    for count, (line, row) in enumerate(_rows(text, path, delimiter, header_line), start=1):
        if count > 2 * MAX_CSV_ROWS:  # empty rows are cheap, but not free
            raise _too_many(path, line, f"{2 * MAX_CSV_ROWS:,} rows, counting empty ones")
        if not any(cell.strip() for cell in row):
            continue  # a blank line, or only separators: "," ";;"
        value = row[column].strip() if column < len(row) else ""
        if not value:
            problems.append(
                SpecError("empty alias", "give a mailbox alias or address in the alias column", _at(path, line))
            )
        elif CONTROL.search(value):
            problems.append(
                SpecError(
                    f"control character {_char_name(CONTROL.search(value))} in alias {value!r}",
                    "an alias or address is one line of printable text; retype it",
                    _at(path, line),
                )
            )
        else:
            entries.append(CsvEntry(value, line))
        if len(entries) + len(problems) > MAX_CSV_ROWS:
            raise _too_many(path, line, f"{MAX_CSV_ROWS:,} mailboxes")
    if problems:
        empties = sum(1 for p in problems if p.summary == "empty alias")
        summary = (
            problems[0].summary
            if len(problems) == 1
            else f"{empties} empty alias(es) in {path}"
            if empties == len(problems)
            else f"{len(problems)} problem(s) in {path}"
        )
        raise SpecError(summary, problems[0].detail, problems[0].location, problems)
    return MailboxCsv(path, tuple(entries), notes, encoding, delimiter)


def _too_many(path: Path, line: int, limit: str) -> SpecError:
    return SpecError(
        f"mailbox CSV {path} has more than {limit}",
        "give larger sets of mailboxes as a group (access.mailboxes.group) or a room list instead",
        _at(path, line),
    )


def _at(path: Path, line: int) -> Location:
    return Location(str(path), line)


def _char_name(match: re.Match[str] | None) -> str:
    char = match.group(0) if match else "?"
    return f"U+{ord(char):04X}" + (f" ({unicodedata.name(char)})" if unicodedata.name(char, "") else "")


def _header(text: str, path: Path) -> tuple[int, int, str]:
    """(index of the alias column, physical line of the header, delimiter): the first line with text."""
    forced = None
    for number, raw in enumerate(io.StringIO(text, newline=""), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        directive = SEP_DIRECTIVE.match(stripped) if forced is None else None
        if directive:  # Excel's `sep=;` line names the separator; the header follows it
            forced = directive.group(1)
            continue
        for delimiter in (forced,) if forced else DELIMITERS:
            names = [c.strip().strip("\ufeff").lower() for c in _split(raw, delimiter)]
            if names.count("alias") > 1:
                raise SpecError(
                    "the mailbox CSV has two 'alias' columns",
                    "keep one column named alias",
                    Location(str(path), number, 1),
                )
            if "alias" in names:
                return names.index("alias"), number, delimiter
        raise SpecError(
            "the mailbox CSV has no 'alias' column",
            "the guide's format is a header line `alias` then one mailbox alias or address per line"
            f" (the header line here reads {stripped[:60]!r})",
            Location(str(path), number, 1),
        )
    raise SpecError(
        "the mailbox CSV is empty: it has no header line",
        "the guide's format is a header line `alias` then one mailbox alias or address per line",
        Location(str(path), 1, 1),
    )


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
    except csv.Error:
        return []


def _rows(text: str, path: Path, delimiter: str, header_line: int) -> Iterator[tuple[int, list[str]]]:
    """Each record after the header with the physical line it starts on."""
    source = io.StringIO(text, newline="")
    for _ in range(header_line):
        source.readline()
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    consumed = header_line  # reader.line_num counts the lines it read itself
    while True:
        start = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "unexpected end of data" in message:
                message = "a quoted value that starts on this line is never closed"
            raise SpecError(
                f"not valid CSV: {message}",
                'check the quotes on this line: a quoted value starts and ends with " and a " inside it is '
                'written twice ("")',
                Location(str(path), start),
            ) from None
        consumed = header_line + reader.line_num
        yield start, row
