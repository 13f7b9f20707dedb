"""Reading a PREP CSV back: ours and the Institute's real ones.

Tolerant of what real files vary in: comma or pipe delimited, with or without a UTF-8 BOM
(or in Latin-1), CR, LF or CRLF line endings, blank lines between the blocks.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from prep_iac.errors import PrepError
from prep_iac.onhost.publisher import cutdata

# The cut line is defined once, by what the publisher reads to know a cut's time.
CUT_LINE = cutdata.TIME_LINE
parse_cut_line = cutdata.parse_time_line


@dataclass
class ParsedCsv:
    election: str
    cut_line: str
    cut_time: datetime | None
    summary_header: list[str]
    summary: dict[str, str]
    header: list[str]
    rows: list[dict[str, str]]
    # 1-based line number in the file of each row, for messages that point at it
    line_numbers: list[int] = field(default_factory=list)
    delimiter: str = ","
    encoding: str = "utf-8"
    newline: str = "\r\n"
    lines: list[str] = field(default_factory=list)  # the raw header block, lines 1–6

    @property
    def vote_columns(self) -> list[str]:
        """Party and coalition columns: between TOTAL_VOTOS_SACADOS and NO_REGISTRADOS."""
        try:
            a = self.header.index("TOTAL_VOTOS_SACADOS") + 1
            b = self.header.index("NO_REGISTRADOS")
        except ValueError:
            return []
        return self.header[a:b]


def decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def parse(data: bytes, name: str = "CSV") -> ParsedCsv:
    text, encoding = decode(data)
    newline = "\r\n" if "\r\n" in text else "\r" if "\r" in text else "\n"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # Drop leading blank lines only; blanks inside mark the end of the summary block.
    while lines and not lines[0].strip():
        lines.pop(0)
    if len(lines) < 4:
        raise PrepError(f"{name} is too short to be a PREP CSV ({len(lines)} lines)",
                        "give the COAH_AYUN_2021.csv of a cut, or the cut folder or zip")
    summary_line = lines[2]
    delimiter = "|" if summary_line.count("|") > summary_line.count(",") else ","

    def split(line: str) -> list[str]:
        return next(csv.reader([line], delimiter=delimiter)) if line else []

    summary_header = split(lines[2])
    summary_values = split(lines[3])
    i = 4
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        raise PrepError(f"{name} has no acta header after the summary block",
                        "check the file is a complete PREP CSV")
    header_line = i
    reader = csv.reader(io.StringIO("\n".join(lines[i:])), delimiter=delimiter)
    header = next(reader)
    rows, numbers = [], []
    for n, cells in enumerate(reader, start=header_line + 2):
        if not cells or not any(c.strip() for c in cells):
            continue
        rows.append(dict(zip(header, cells)))
        numbers.append(n)
    return ParsedCsv(
        election=lines[0].strip(), cut_line=lines[1].strip(), cut_time=parse_cut_line(lines[1]),
        summary_header=summary_header, summary=dict(zip(summary_header, summary_values)),
        header=header, rows=rows, line_numbers=numbers, delimiter=delimiter,
        encoding=encoding, newline=newline, lines=lines[:header_line + 1],
    )
