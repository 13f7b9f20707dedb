"""Text from another host is one clean line before it is logged or shown (issue 17, point 5),
and `publish` exits non-zero when a difusor did not activate (point 8)."""

import contextlib
import re
import sys
from types import SimpleNamespace

import pytest
from handmade import time_csv

from prep_iac import contract
from prep_iac.onhost.publisher import notify
from prep_iac.onhost.publisher.push import Result

FORGED = "ok\npushed C1 to difusor-2: activated [1 bytes, 0.1 s]"


@pytest.mark.parametrize("text, want", [
    (FORGED, "ok pushed C1 to difusor-2: activated [1 bytes, 0.1 s]"),
    ("a\r\nb\tc\x0bd\x0ce", "a b c d e"),
    ("red \x1b[31mtext\x1b[0m \x1b]0;title\x07end", "red text end"),
    ("nul\x00 del\x7f c1\x85\x9b2J", "nul del c1 2J"),
    ("bidi \u202eevil\u202c zw\u200bj", "bidi evil zwj"),
    ("ls\u2028ps\u2029", "ls ps"),
    ("  many    spaces  ", "many spaces"),
    ("María — 24 h", "María — 24 h"),
    (None, None),
    ({"motivo": 1}, "{'motivo': 1}"),
])
def test_sanitize_remote_text(text, want):
    assert contract.sanitize_remote_text(text) == want


def test_sanitize_clips():
    out = contract.sanitize_remote_text("x" * 1000, limit=50)
    assert len(out) == 50 and out.endswith("…")


def _is_one_clean_line(text):
    return not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]", text)


def test_journal_lines_are_one_line(monkeypatch, capsys):
    monkeypatch.setenv("JOURNAL_STREAM", "1:1")
    notify.journal(contract.pushed_message("C1", "d1", "refused", FORGED, 0, 0.0))
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("pushed C1 to d1: refused (ok pushed")


def test_first_failure_cleans_reason_and_contact(monkeypatch):
    lines, hooks, mails = [], [], []
    monkeypatch.setattr(notify, "journal", lines.append)
    monkeypatch.setattr(notify, "webhook", lambda url, payload: hooks.append(payload))
    monkeypatch.setattr(notify, "mail", lambda to, subject, body: mails.append(body))
    difusor = SimpleNamespace(name="d1", contact={"name": "A\nB", "phone": "1\x1b[2J"})
    result = Result(difusor="d1", cut="C1", result="refused", reason=FORGED)
    notify.first_failure(difusor, result, "https://h.example.mx/", "a@example.mx")
    assert all(_is_one_clean_line(line) for line in lines)
    assert _is_one_clean_line(hooks[0]["motivo"]) and hooks[0]["contacto"]["name"] == "A B"
    body = mails[0].splitlines()
    assert all(_is_one_clean_line(line) for line in body)
    assert not any(line.startswith("pushed") for line in body)  # no line forged by the difusor
    assert "El difusor d1 no tomó el corte C1." in body and "  nombre: A B" in body


def test_alert_mail_is_in_spanish_like_its_subject(monkeypatch):
    mails = []
    monkeypatch.setattr(notify, "journal", lambda line: None)
    monkeypatch.setattr(notify, "mail", lambda to, subject, body: mails.append((subject, body)))
    difusor = SimpleNamespace(name="d2", contact={"name": "María Pérez", "role": "TI",
                                                  "phone": "844 000 0000", "hours": "24 h"})
    result = Result(difusor="d2", cut="C7", result="failed", reason="sin respuesta en 10 s")
    notify.first_failure(difusor, result, None, "iec@example.mx")
    ((subject, body),) = mails
    assert subject == "PREP: falla en difusor d2"
    assert body.startswith("El difusor d2 no tomó el corte C7.\n"
                           "Resultado: fallido (sin respuesta en 10 s).\n")
    for line in ("  nombre: María Pérez", "  cargo: TI", "  teléfono: 844 000 0000",
                 "  horario: 24 h"):
        assert line in body.splitlines()
    assert "failed to take" not in body and "Contact:" not in body
    nobody = notify.mail_body("d3", result, None, {})
    assert "No hay contacto registrado" in nobody and "Resultado: fallido." in nobody


def test_publish_round_cleans_reason_before_journal_and_ledger(monkeypatch):
    from prep_iac.onhost.publisher import run

    lines, recorded = [], []
    monkeypatch.setattr(run.notify, "journal", lines.append)
    monkeypatch.setattr(run, "load_private_key", lambda path: None)

    def push_all(registry, signed, key, on_result, **kw):
        r = Result(difusor="d1", cut="C1", result="refused", reason=FORGED + "\x1b[2J")
        on_result(r)
        return [r]

    monkeypatch.setattr(run, "push_all", push_all)
    change = SimpleNamespace(first_failure=False, suspended=False, reactivated=False)
    ledger = SimpleNamespace(record=lambda name, result, **kw: recorded.append(kw) or change)
    registry = SimpleNamespace(sftp_identity="k", difusores=[SimpleNamespace(name="d1")],
                               notify_webhook=None, notify_mail=None)
    signed = SimpleNamespace(manifest=SimpleNamespace(stamp={"final": False}))
    (result,) = run.publish(registry, signed, ledger)
    assert len(lines) == 1 and _is_one_clean_line(lines[0])
    assert _is_one_clean_line(recorded[0]["reason"]) and result.reason == recorded[0]["reason"]


# --- publish's exit status ---------------------------------------------------------------------

def _fake_publish(monkeypatch, tmp_path, results):
    from prep_iac.onhost.publisher import ledger, run, source
    from prep_iac.publish import cli as publish_cli

    difusores = [SimpleNamespace(name=r.difusor) for r in results]
    registry = SimpleNamespace(difusores=difusores, period_s=600, state_dir=str(tmp_path),
                               only=lambda names: registry)
    monkeypatch.setattr(publish_cli, "_registry", lambda *a: registry)
    monkeypatch.setattr(publish_cli.preflight, "check_publish", lambda *a: None)  # no keys here

    time_csv(tmp_path, "20210606_2000_PREP")  # the folder is a cut; "C1" names no time

    @contextlib.contextmanager
    def opened(path):
        yield path, "C1"

    monkeypatch.setattr(source, "opened", opened)
    monkeypatch.setattr(ledger, "Ledger", lambda *a: SimpleNamespace(close=lambda: None))
    monkeypatch.setattr(run, "prepare", lambda *a, **kw: SimpleNamespace(
        manifest=SimpleNamespace(entries=[1], total_bytes=1)))
    monkeypatch.setattr(run, "publish", lambda *a, **kw: results)


def _main(monkeypatch, tmp_path, *extra):
    from prep_iac import cli

    monkeypatch.setattr(sys, "argv", ["prep-iac", "publish", str(tmp_path), "--registry",
                                      str(tmp_path / "r.json"), *extra])
    with pytest.raises(SystemExit) as info:
        cli.main()
        raise SystemExit(0)  # main() returned: the process would end 0
    return info.value.code or 0


@pytest.mark.parametrize("extra", [(), ("--json",)])
def test_publish_exits_1_naming_the_difusores_that_did_not_activate(monkeypatch, tmp_path,
                                                                    capsys, extra):
    results = [Result(difusor="d1", cut="C1", result="activated"),
               Result(difusor="d2", cut="C1", result="failed",
                      reason="no answer from the activator within 10 s"),
               Result(difusor="d3", cut="C1", result="refused", reason="[red]x[/]\nforged")]
    _fake_publish(monkeypatch, tmp_path, results)
    assert _main(monkeypatch, tmp_path, *extra) == 1
    out, err = capsys.readouterr()
    if not extra:  # piped: plain tab-separated columns in Spanish, nothing cut
        lines = out.splitlines()
        assert lines[0] == "difusor\tresultado\tbytes enviados\tarchivos\tsegundos\tmotivo"
        assert lines[2].startswith("d2\tfallido\t")
        assert lines[2].endswith("\tno answer from the activator within 10 s")
    assert "no se activó en d2: fallido (no answer from the activator within 10 s)" in err
    assert "no se activó en d3: rechazado ([red]x[/] forged)" in err
    assert "2 de 3 difusor(es) no activaron C1: d2, d3" in err


def test_publish_exits_0_when_every_difusor_activated(monkeypatch, tmp_path):
    _fake_publish(monkeypatch, tmp_path, [Result(difusor="d1", cut="C1", result="activated")])
    assert _main(monkeypatch, tmp_path) == 0
