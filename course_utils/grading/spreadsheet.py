"""CSV files an instructor opens in a spreadsheet (grades.csv, the Canvas file, the autograde log, the report):
student ids, names and answers are the students' text, so no field may be read as a formula."""
from __future__ import annotations

import csv

# OWASP, "CSV Injection": a cell starting with one of these is read as a formula by Excel, LibreOffice and
# Google Sheets (=2+5, @SUM(A1), -1+1, a tab or carriage return before any of them). Written by hand:
# defusedcsv 3.0, the library for it, leaves tab and carriage return alone and does not quote the field.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """The text as a spreadsheet shows it, never evaluated: a leading ' makes the cell text (OWASP)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class SpreadsheetWriter:
    """csv.writer for a file an instructor opens in a spreadsheet: every text field quoted and neutralised
    (spreadsheet_text); int and float written bare, so a score stays a number (a negative one too)."""

    def __init__(self, handle):
        # QUOTE_NONNUMERIC quotes every field that is not a number; OWASP's advice quotes the field, so a
        # separator or quote inside a name cannot start a new cell in a spreadsheet with another separator.
        self._writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)

    @staticmethod
    def _field(value):
        if value is None:
            return ""
        if isinstance(value, (int, float)):  # bool included: True/False, never a formula
            return value
        return spreadsheet_text(str(value))  # datetimes and anything else are written as their text

    def writerow(self, row) -> None:
        self._writer.writerow([self._field(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)
