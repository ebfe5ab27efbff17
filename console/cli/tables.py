"""Boxed tables in the style of the seeds' eascmd output.

    +--------------+-------------+
    | SERVICENAME  | STATUS      |
    +--------------+-------------+
    | pmml_example | Running     |
    +--------------+-------------+

Cells may span several lines (a pretty-printed ServiceConfig); widths count East Asian wide
characters as two columns so Chinese names stay aligned.
"""
import unicodedata
from datetime import UTC, datetime

SEPARATOR = object()  # a row that draws a rule, to group rows (the seeds' Basic/Network sections)


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _cell_lines(value) -> list[str]:
    text = "" if value is None else str(value)
    return text.splitlines() or [""]


def render(rows: list, headers: list[str] | None = None) -> str:
    """The table as text; `rows` are lists of cells (any value, None as empty) or SEPARATOR."""
    body = [[_cell_lines(cell) for cell in row] for row in rows if row is not SEPARATOR]
    head = [[_cell_lines(h) for h in headers]] if headers else []
    columns = max((len(row) for row in head + body), default=0)
    widths = [0] * columns
    for row in head + body:
        for index, lines in enumerate(row):
            widths[index] = max(widths[index], *(display_width(line) for line in lines))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def draw(cells: list[list[str]]) -> list[str]:
        cells = cells + [[""]] * (columns - len(cells))
        height = max(len(lines) for lines in cells)
        return ["|" + "|".join(f" {_pad(lines[i] if i < len(lines) else '', w)} "
                               for lines, w in zip(cells, widths, strict=True)) + "|"
                for i in range(height)]

    out = [rule]
    if headers:
        out += draw(head[0]) + [rule]
    for row in rows:
        if row is SEPARATOR:
            if out[-1] != rule:
                out.append(rule)
        else:
            out += draw([_cell_lines(cell) for cell in row])
    if out[-1] != rule:
        out.append(rule)
    return "\n".join(out)


def key_values(pairs: list) -> str:
    """Two columns without a header: the seeds' `desc` layout."""
    return render([row if row is SEPARATOR else list(row) for row in pairs])


def local_time(value: str | None) -> str:
    """An API time (`2024-01-31T08:00:00Z`, UTC) as the seeds show it, in the user's time zone."""
    if not value:
        return ""
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return value
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
