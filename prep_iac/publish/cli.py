"""`prep-iac publish CUT -i INVENTORY` and `prep-iac status -i INVENTORY`."""

import json
import sys
import time
from pathlib import Path

import click

from prep_iac import contract, preflight
from prep_iac.errors import PrepError
from prep_iac.onhost.publisher.notify import result_word


def shown(text) -> str:
    """Another host's text, as one clean line with no rich markup, for a console table."""
    from rich.markup import escape

    return escape(contract.sanitize_remote_text(text) or "")


def _registry(inventory_path, registry_path, publisher):
    from prep_iac.onhost.publisher.registry import Registry
    from prep_iac.publish.registry import from_inventory

    if registry_path:
        return Registry.load(registry_path)
    if not inventory_path:
        raise PrepError("no inventory", "pass -i INVENTORY.yml (or --registry on a publisher)")
    from prep_iac.inventory import load_inventory

    inv = load_inventory(inventory_path)
    if not inv.publishers:
        raise PrepError(f"{inventory_path} has no publishers",
                        "add a 'publishers' entry with sftp_identity and signing_key")
    return from_inventory(inv, publisher)


def _ledger_path(registry, inventory_path, ledger):
    if ledger:
        return Path(ledger)
    if Path(registry.state_dir, "ledger.sqlite").exists():  # on the publisher itself
        return Path(registry.state_dir, "ledger.sqlite")
    stem = Path(inventory_path).stem if inventory_path else "registry"
    return Path.home() / ".local/state/prep-iac" / f"{stem}.ledger.sqlite"


common = [
    click.option("-i", "--inventory", "inventory_path", type=click.Path(dir_okay=False),
                 help="YAML inventory with the difusores and a publisher"),
    click.option("--registry", "registry_path", type=click.Path(dir_okay=False),
                 help="the publisher's registry.json instead of an inventory"),
    click.option("--publisher", help="which publisher of the inventory (default: the first)"),
    click.option("--ledger", type=click.Path(dir_okay=False),
                 help="status ledger (SQLite); default: the publisher's, else one per inventory"),
]


def with_common(f):
    for opt in reversed(common):
        f = opt(f)
    return f


@click.command()
@click.argument("cut", type=click.Path(exists=True))
@with_common
@click.option("-d", "--difusor", "only", multiple=True, help="push to these difusores only")
@click.option("--sessions", default=4, show_default=True, help="SFTP channels per difusor")
@click.option("--timeout", default=10.0, show_default=True, help="connect/IO timeout, seconds")
@click.option("--activation-timeout", default=60.0, show_default=True,
              help="how long to wait for each activator's verdict")
@click.option("--list-dir", type=click.Path(file_okay=False),
              help="also write the public list of difusores (HTML + JSON) here")
@click.option("--final", is_flag=True,
              help="sign this cut as the PREP's last: difusores show it as concluded, with no "
                   "notice, until the publication window closes")
@click.option("--json", "as_json", is_flag=True, help="print results as JSON")
def publish(cut, inventory_path, registry_path, publisher, ledger, only, sessions, timeout,
            activation_timeout, list_dir, final, as_json):
    """Push a cut (folder or zip) to every difusor; report bytes, time and verdict each.
    A difusor already serving it gets a signed heartbeat that keeps it fresh."""
    from prep_iac.onhost.publisher import cutdata, source
    from prep_iac.onhost.publisher.ledger import Ledger
    from prep_iac.onhost.publisher.run import prepare
    from prep_iac.onhost.publisher.run import publish as run_publish

    registry = _registry(inventory_path, registry_path, publisher)
    try:
        registry = registry.only(only)
    except KeyError as exc:
        raise PrepError(f"unknown difusor(s): {exc}", "use the inventory's difusor names") from None
    with source.opened(Path(cut)) as (folder, cut_id):
        # A cut is a cut (its CSVs give its time) before any difusor is reached or any
        # ledger touched.
        cutdata.cut_time(folder, cut_id)
        preflight.check_publish(registry, lambda line: click.echo(f"warning: {line}", err=True))
        ledger_path = _ledger_path(registry, inventory_path, ledger)
        led = Ledger(ledger_path, registry.period_s)
        # The sequence lives beside the ledger: it only grows on this machine too.
        signed = prepare(folder, cut_id, registry, final=final,
                         sequence_dir=ledger_path.parent)
        m = signed.manifest
        if not as_json:
            click.echo(f"{cut_id}: {len(m.entries)} archivos, {m.total_bytes} bytes, firmado; "
                       f"enviando a {len(registry.difusores)} difusor(es)", err=True)
        results = run_publish(registry, signed, led, list_dir=list_dir, sessions=sessions,
                              timeout=timeout, activation_timeout=activation_timeout)
    led.close()
    for r in results:  # run.publish cleaned each reason already; a direct caller may not
        r.reason = contract.sanitize_remote_text(r.reason)
    if as_json:
        from prep_iac.console import echo_json

        echo_json([r.__dict__ for r in results])
    else:
        from prep_iac.console import print_table

        print_table(f"publicación de {cut_id}",
                    ("difusor", "resultado", "bytes enviados", "archivos", "segundos", "motivo"),
                    [[shown(r.difusor), (result_word(r.result), RESULT_STYLES.get(r.result, "yellow")),
                      str(r.sent_bytes), str(r.sent_files), f"{r.seconds:.2f}",
                      shown(r.reason) or "-"] for r in results])
    not_activated = [r for r in results if r.result != "activated"]
    if not_activated:
        # docs/pipeline.md: 0 only when every difusor activated. sys.exit, not click's Exit:
        # the top-level CLI runs click with standalone_mode=False, where Exit is returned
        # as a value and the process would end 0.
        for r in not_activated:
            click.echo(f"prep-iac publish: {cut_id} no se activó en {r.difusor}: "
                       f"{result_word(r.result)}" + (f" ({r.reason})" if r.reason else ""), err=True)
        names = ", ".join(r.difusor for r in not_activated)
        click.echo(f"prep-iac publish: {len(not_activated)} de {len(results)} difusor(es) no "
                   f"activaron {cut_id}: {names}", err=True)
        sys.exit(1)


STATES = {"active": "activo", "suspended": "suspendido", "concluded": "concluido"}
RESULT_STYLES = {"activated": "green", "refused": "red"}
STATE_STYLES = {"active": "green", "suspended": "red", "concluded": "blue"}
UNRECORDED = "sin registro"


def _age(ts, now=None):
    """How long ago, for people, in Spanish."""
    if ts is None:
        return "nunca"
    s = max(0, int((time.time() if now is None else now) - ts))
    return (f"hace {s} s" if s < 120 else f"hace {s // 60} min" if s < 7200
            else f"hace {s // 3600} h")


REMOTE_STATUS = (f"sudo -n -u {contract.PUBLISHER_USER} {contract.PUBLISHER_VENV}/bin/prep-iac "
                 f"status --registry {contract.PUBLISHER_REGISTRY} --json")


def _remote_rows(inventory_path, publisher):
    """The publisher host's own ledger, read over SSH as an admin (pinned host key)."""
    from prep_iac.inventory import load_inventory
    from prep_iac.onhost.publisher.connect import PushError, connect, load_private_key
    from prep_iac.onhost.publisher.registry import DifusorEntry

    inv = load_inventory(inventory_path)
    name = publisher or next(iter(inv.publishers))
    host = inv.publishers[name]
    if not (host.ssh_key and host.host_key):
        raise PrepError(f"publisher {name} has no ssh_key or host_key in the inventory",
                        "add both to read its ledger, or run `prep-iac status` on it")
    target = DifusorEntry(name, host.address, host.ssh_port, host.host_key)
    try:
        transport = connect(target, inv.ssh_user(name), load_private_key(host.ssh_key))
        chan = transport.open_session(timeout=10)
        chan.settimeout(60)
        chan.exec_command(REMOTE_STATUS)
        out = chan.makefile("rb").read()
        err = chan.makefile_stderr("rb").read()
        rc = chan.recv_exit_status()
        transport.close()
    except PushError as exc:
        raise PrepError(f"cannot reach publisher {name}: {exc}") from None
    if rc != 0:
        raise PrepError(f"status on publisher {name} failed (rc {rc}): "
                        f"{contract.sanitize_remote_text(err.decode(errors='replace'))}")
    return json.loads(out)


@click.command()
@with_common
@click.option("--remote", is_flag=True,
              help="read the ledger on the inventory's publisher host over SSH")
@click.option("--json", "as_json", is_flag=True,
              help="print the rows as JSON (the ledger's English keys and values, for tools)")
def status(inventory_path, registry_path, publisher, ledger, remote, as_json):
    """Each difusor: last confirmed cut and its age, failures in a row, state, whom to call."""
    from prep_iac.onhost.publisher.ledger import Ledger, Row

    registry = _registry(inventory_path, registry_path, publisher)
    if remote:
        fields = set(Row.__dataclass_fields__)
        rows = {r["difusor"]: Row(**{k: v for k, v in r.items() if k in fields})
                for r in _remote_rows(inventory_path, publisher)}
        missing = Row("", "active", 0, None, None, None, None)
        rows = {d.name: rows.get(d.name, missing) for d in registry.difusores}
    else:
        # A query: with no ledger yet (nothing published from here) nothing is created.
        path = _ledger_path(registry, inventory_path, ledger)
        names = [d.name for d in registry.difusores]
        if path.exists():
            led = Ledger(path, registry.period_s)
            rows = {r.difusor: r for r in led.rows(names)}
            led.close()
        else:
            rows = {n: Row(n, "active", 0, None, None, None, None) for n in names}
            if not as_json:
                click.echo(f"prep-iac status: sin registro ({path} no existe): aún no se "
                           "ha publicado desde aquí", err=True)
    if as_json:
        from prep_iac.console import echo_json

        echo_json([{**rows[d.name].__dict__, "difusor": d.name, "contact": d.contact}
                   for d in registry.difusores])
        return
    from prep_iac.console import print_table

    clean = contract.sanitize_remote_text
    table = []
    for d in registry.difusores:
        r = rows[d.name]
        c = d.contact or {}
        contact = " / ".join(str(c[k]) for k in ("name", "role", "phone", "hours") if c.get(k))
        if r.last_result is None and r.confirmed_cut is None:  # nothing recorded for it
            state = (UNRECORDED, "dim")
        else:
            state = (STATES.get(r.state, r.state), STATE_STYLES.get(r.state))
        last = result_word(r.last_result) if r.last_result else "-"
        last += f": {r.last_reason}" if r.last_reason else ""
        table.append([clean(d.name), state, clean(r.confirmed_cut) or "-", _age(r.confirmed_at),
                      clean(str(r.failures)), clean(last), clean(contact) or "-"])
    print_table("difusores", ("difusor", "estado", "último corte confirmado", "antigüedad",
                              "fallas seguidas", "último resultado", "contacto"), table)
