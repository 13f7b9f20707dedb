"""The rich consoles every command prints through (stderr for messages, stdout for data)."""

import json

import click
from rich.console import Console
from rich.markup import escape

out = Console()
err = Console(stderr=True, soft_wrap=True)  # messages keep their lines whole, for grep and logs


def print_error(error) -> None:
    cause = getattr(error, "cause", str(error))
    fix = getattr(error, "fix", None)
    err.print(f"[bold red]error:[/] {escape(cause)}", highlight=False)
    if fix:
        err.print(f"  [bold]fix:[/] {escape(fix)}", highlight=False)


def echo_json(data) -> None:
    """`--json`: UTF-8 with its accents as they are (not \\u escapes), whatever the locale."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str).encode())


def print_table(title: str, columns, rows) -> None:
    """A table for people, never cut: on a terminal a rich table whose long cells fold onto
    more lines; piped or redirected, one plain line per row, columns separated by tabs, the
    column titles first (for cut, awk or a spreadsheet).

    Each cell is plain text (no markup) or a (text, style) pair; the style only colours the
    terminal's table. Cells must not hold tabs or newlines (contract.sanitize_remote_text)."""
    cells = [[c if isinstance(c, tuple) else (c, None) for c in row] for row in rows]
    if not out.is_terminal:
        click.echo("\t".join(columns))
        for row in cells:
            click.echo("\t".join(str(text) for text, _ in row))
        return
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in cells:
        table.add_row(*(f"[{style}]{escape(str(text))}[/]" if style else escape(str(text))
                        for text, style in row))
    out.print(table)
