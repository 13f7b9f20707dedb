"""`prep-iac runbook`: the operation and contingency procedures (CONV-IV.4) of one inventory,
in Spanish, with its hosts, addresses, contacts and commands filled in. Markdown and HTML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt  # ships with rich, already a dependency

from prep_iac import contract
from prep_iac.inventory import load_inventory

TEMPLATES = Path(__file__).resolve().parent / "templates"

HTML = """<!doctype html>
<html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Procedimientos de operación y contingencia — PREP</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 60em; margin: 1.5em auto;
       padding: 0 1em; color: #1d1d1f; }}
table {{ border-collapse: collapse; margin: .6em 0; }}
th, td {{ border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
pre {{ background: #f6f6f6; border: 1px solid #e3e3e3; padding: .5em; overflow-x: auto; }}
code {{ font-size: .92em; }}
</style></head><body>
{body}
</body></html>
"""


def render_markdown(inventory_path: str | Path, now: dt.datetime | None = None) -> str:
    inventory = load_inventory(inventory_path)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.get_template("runbook.md.j2").render(
        inventory_path=str(inventory_path), iec=inventory.iec, admins=inventory.admins,
        missed=contract.MISSED_PERIODS,
        difusores=inventory.difusores, publishers=inventory.publishers,
        users={name: inventory.ssh_user(name) for name in inventory.hosts()},
        ssh_user=inventory.admins.accounts[0].name,
        # The memoria asks for the web logs of election day and the day after (6 and 7 June).
        logs_from=inventory.iec.window.opens_at.strftime("%Y-%m-%d 00:00"),
        logs_to=(inventory.iec.window.opens_at + dt.timedelta(days=2)).strftime("%Y-%m-%d 00:00"),
        generated=(now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"))


def render_html(markdown: str) -> str:
    # No raw HTML from the inventory reaches the page: html=False escapes it.
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return HTML.format(body=body)


def write_runbook(inventory_path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    md = render_markdown(inventory_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "runbook.md", "html": out / "runbook.html"}
    paths["md"].write_text(md, encoding="utf-8")
    paths["html"].write_text(render_html(md), encoding="utf-8")
    return paths
