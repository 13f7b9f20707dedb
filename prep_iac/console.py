"""The rich consoles every command prints through (stderr for messages, stdout for data)."""

from rich.console import Console

out = Console()
err = Console(stderr=True)


def print_error(error) -> None:
    cause = getattr(error, "cause", str(error))
    fix = getattr(error, "fix", None)
    err.print(f"[bold red]error:[/] {cause}", highlight=False, markup=True)
    if fix:
        err.print(f"  [bold]fix:[/] {fix}", highlight=False)
