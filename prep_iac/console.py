"""The rich consoles every command prints through (stderr for messages, stdout for data)."""

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
