"""Telling people: the journal (SYSLOG_IDENTIFIER=prep-publisher), plus optional webhook/mail.

Message texts follow docs/contracts.md (the memoria parses them).
"""

import json
import os
import smtplib
import socket
import sys
import syslog
import urllib.request
from email.message import EmailMessage

from prep_iac import contract

IDENT = contract.JOURNAL_PUBLISHER
_opened = False


def journal(message: str) -> None:
    """Under systemd stdout is the journal; elsewhere syslog, which the journal also reads.

    Always one line: a message that carries another host's text cannot start a line of its
    own (a forged `pushed ... activated` the memoria would count)."""
    global _opened
    message = contract.sanitize_remote_text(message, limit=2000)
    if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
        print(message, file=sys.stdout, flush=True)
        return
    if not _opened:
        syslog.openlog(IDENT, 0, syslog.LOG_DAEMON)
        _opened = True
    syslog.syslog(syslog.LOG_INFO, message)


def webhook(url: str, payload: dict, timeout: float = 5.0) -> str | None:
    req = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode(),
                                 headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read(1024)
        return None
    except OSError as exc:
        return f"webhook {url} failed: {exc}"


def mail(to: str, subject: str, body: str, timeout: float = 5.0) -> str | None:
    """Through the host's own MTA on localhost:25 (the publisher relays no mail itself)."""
    msg = EmailMessage()
    msg["From"] = f"{IDENT}@{socket.getfqdn()}"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        with smtplib.SMTP("localhost", 25, timeout=timeout) as smtp:
            smtp.send_message(msg)
        return None
    except (OSError, smtplib.SMTPException) as exc:
        return f"mail to {to} failed: {exc}"


RESULT_WORDS = {"refused": "rechazado", "failed": "fallido", "activated": "activado"}


def result_word(result: str) -> str:
    """A push's result as the Institute reads it (mail, publish, status)."""
    return RESULT_WORDS.get(result, result)

CONTACT_FIELDS = {"name": "nombre", "role": "cargo", "phone": "teléfono", "hours": "horario",
                  "email": "correo"}


def mail_body(name: str, result, reason: str | None, contact: dict) -> str:
    """The alert mail, in Spanish like its subject: the Institute reads it and calls."""
    lines = [f"El difusor {name} no tomó el corte {result.cut}.",
             f"Resultado: {result_word(result.result)}"
             + (f" ({reason})" if reason else "") + ".", ""]
    shown = [(CONTACT_FIELDS.get(k, k), v) for k, v in contact.items() if v]
    if shown:
        lines.append("Contacto del difusor:")
        lines += [f"  {k}: {v}" for k, v in shown]
    else:
        lines.append("No hay contacto registrado para este difusor.")
    lines += ["", ("La convocatoria pide llamar al difusor cuando falla una conexión. "
                   f"Tras {contract.MISSED_PERIODS} periodos seguidos sin activar un corte "
                   "queda suspendido; `prep-iac status` muestra su estado.")]
    return "\n".join(lines) + "\n"


def first_failure(difusor, result, webhook_url=None, mail_to=None) -> None:
    """The convocatoria has the Institute call the difusor when a connection fails."""
    clean = contract.sanitize_remote_text
    contact = {k: clean(v) for k, v in (difusor.contact or {}).items()}
    reason = clean(result.reason)  # the difusor's own words (ultimo.json, its SSH server)
    who = ", ".join(f"{k}: {v}" for k, v in contact.items() if v) or "no contact on file"
    journal(f"failure {difusor.name}: {reason} (contact: {who})")  # operators' tools: English
    payload = {"difusor": difusor.name, "corte": result.cut, "resultado": result.result,
               "motivo": reason, "contacto": contact}
    for problem in (webhook(webhook_url, payload) if webhook_url else None,
                    mail(mail_to, f"PREP: falla en difusor {difusor.name}",
                         mail_body(difusor.name, result, reason, contact))
                    if mail_to else None):
        if problem:
            journal(problem)
