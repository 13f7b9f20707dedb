"""prep-acme-issue: the difusor's ACME certificate (tls mode acme), with certbot over HTTP-01.

Run by prep-acme-issue.timer (hourly) and by the deploy (prep_iac/components/tls.py). Each
run does one thing:
- no certificate yet, or one for another ACME server or other names: `certbot certonly`;
- otherwise `certbot renew` of that one certificate (certbot renews only when it is due;
  `--force-renewal`, for an admin or a test, renews now).
Then nginx's links point at the certificate and nginx reloads (gracefully) when it changed.
Every run leaves one line in contract.ACME_STATUS (what `verify` reads) and, on failure, the
same line on stderr (the unit's journal, the deploy's output): `error: <cause>; fix: <fix>`.
A failure never touches the certificate in place: nginx keeps serving it.
Standard library only.
"""

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys

from prep_iac import contract
from prep_iac.onhost.common import read_json, settings_from, write_atomic, write_json

CERTBOT_TIMEOUT_S = 600
RETRY = f"sudo systemctl start {contract.ACME_UNIT}"


@dataclasses.dataclass(frozen=True)
class AcmeConfig:
    """/etc/prep-acme/config.json, written by the tls component from the inventory."""

    names: list  # the server names, first one first
    email: str
    webroot: str  # served by nginx under /.well-known/acme-challenge/
    fullchain: str  # nginx's links (nginx.TLS_DIR)
    privkey: str
    server: str | None = None  # the ACME directory; None: certbot's own (Let's Encrypt)
    ca_file: str | None = None  # the ACME server's CA, for certbot only
    cert_name: str = "prep"
    letsencrypt: str = "/etc/letsencrypt"

    @property
    def live(self) -> str:
        return f"{self.letsencrypt}/live/{self.cert_name}"

    def request(self) -> dict:
        """What the certificate in place must have been asked for."""
        return {"server": self.server, "names": list(self.names)}


def certbot_command(cfg: AcmeConfig, have_cert: bool, issued_for: dict, force: bool) -> list:
    """The one certbot command this run needs (argv: no shell)."""
    if have_cert and issued_for == cfg.request():
        # The timer spreads the load already (RandomizedDelaySec): no sleep of certbot's own.
        return ["certbot", "renew", "--non-interactive", "--cert-name", cfg.cert_name,
                "--no-directory-hooks", "--no-random-sleep-on-renew"] + \
            (["--force-renewal"] if force else [])
    cmd = ["certbot", "certonly", "--non-interactive", "--agree-tos", "--email", cfg.email,
           "--webroot", "-w", cfg.webroot, "--cert-name", cfg.cert_name]
    cmd += ["--server", cfg.server] if cfg.server else []
    # Another server or other names: a new certificate now, not when the old one is due.
    cmd += ["--force-renewal"] if have_cert or force else ["--keep-until-expiring"]
    for name in cfg.names:
        cmd += ["-d", name]
    return cmd


_CHALLENGE = re.compile(r"^\s*Domain:\s*(?P<domain>\S+)\s*\n\s*Type:\s*(?P<type>.*)\n"
                        r"\s*Detail:\s*(?P<detail>.*)$", re.MULTILINE)
_UNTRUSTED = re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed")
_UNREACHABLE = re.compile(r"Failed to establish a new connection|Max retries exceeded|"
                          r"Name or service not known|Connection refused|timed out|"
                          r"Temporary failure in name resolution|No route to host")
_RATE_LIMITED = re.compile(r"rateLimited|too many (?:certificates|failed authorizations)",
                           re.IGNORECASE)
_NOISE = ("Saving debug log", "Ask for help", "See the logfile", "Some challenges have failed")


def explain(output: str, cfg: AcmeConfig) -> str:
    """certbot's failure (its stdout and stderr) as one line: `error: <cause>; fix: <fix>`."""
    clean = contract.sanitize_remote_text
    server = cfg.server or "Let's Encrypt"
    challenge = _CHALLENGE.search(output)
    if challenge:
        cause = (f"the ACME server could not validate {clean(challenge['domain'], 100)} over "
                 f"HTTP-01 ({clean(challenge['type'], 40)}: {clean(challenge['detail'], 200)})")
        fix = ("make every server name resolve to this server and port 80 reach its nginx "
               f"from the Internet, then run: {RETRY}")
    elif _UNTRUSTED.search(output):
        cause = f"certbot does not trust the certificate of the ACME server {server}"
        fix = ("give its CA as tls.acme_ca in the inventory and deploy again" if cfg.server
               else "check this server's clock and the ca-certificates package")
    elif _RATE_LIMITED.search(output):
        cause = f"the ACME server {server} refuses more requests for now (rate limit)"
        fix = f"wait for the limit to reset (the timer retries hourly), or run later: {RETRY}"
    elif _UNREACHABLE.search(output):
        cause = f"the ACME server {server} cannot be reached ({clean(_last_line(output), 200)})"
        fix = ("check tls.acme_server and that this server reaches it over HTTPS "
               "(DNS, routes, a firewall in front)")
    else:
        cause = f"certbot failed: {clean(_last_line(output), 250)}"
        fix = "read /var/log/letsencrypt/letsencrypt.log"
    return f"error: {cause}; fix: {fix}"


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines()
             if line.strip() and not line.strip().startswith(_NOISE)]
    return lines[-1] if lines else "no output"


def _run(cmd: list, env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                              timeout=CERTBOT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 1, "", f"{cmd[0]} timed out after "
                                                       f"{CERTBOT_TIMEOUT_S} s")
    except OSError as exc:
        return subprocess.CompletedProcess(cmd, 1, "", f"cannot run {cmd[0]}: {exc}")


def _target(path: str) -> str | None:
    return os.path.realpath(path) if os.path.exists(path) else None


def link_nginx(cfg: AcmeConfig) -> bool:
    """nginx's pair -> the live certificate (replacing the placeholder); True if changed."""
    changed = False
    for link, live in ((cfg.fullchain, f"{cfg.live}/fullchain.pem"),
                       (cfg.privkey, f"{cfg.live}/privkey.pem")):
        if os.path.islink(link) and os.readlink(link) == live:
            continue
        tmp = f"{link}.tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(live, tmp)
        os.replace(tmp, link)
        changed = True
    return changed


def reload_nginx() -> str | None:
    """Graceful reload (running requests finish on the old workers); an error line or None."""
    test = _run(["nginx", "-t", "-q"])
    if test.returncode != 0:
        said = [line for line in test.stderr.splitlines() if "[emerg]" in line]
        why = said[0] if said else _last_line(test.stderr)
        return (f"error: nginx refuses its configuration with the new certificate "
                f"({contract.sanitize_remote_text(why, 200)}); "
                "fix: run sudo nginx -t, then deploy again")
    reload = _run(["systemctl", "reload", "nginx"])
    if reload.returncode != 0:
        return (f"error: nginx did not reload ({contract.sanitize_remote_text(reload.stderr)}); "
                "fix: sudo systemctl status nginx")
    return None


def describe(cfg: AcmeConfig) -> str:
    """ok line: which names, until when, which serial (openssl, as the admin would check)."""
    out = _run(["openssl", "x509", "-noout", "-enddate", "-serial", "-in",
                f"{cfg.live}/cert.pem"])
    fields = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return (f"ok: certificate for {', '.join(cfg.names)} valid until "
            f"{fields.get('notAfter', '?')}, serial {fields.get('serial', '?')}")


def record(line: str, path: str = contract.ACME_STATUS) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_atomic(path, f"{now} {line}\n".encode())


def run(cfg: AcmeConfig, force: bool = False) -> str:
    """One run; returns its line (`ok: …` or `error: …; fix: …`)."""
    have_cert = os.path.exists(f"{cfg.live}/cert.pem")
    cmd = certbot_command(cfg, have_cert, read_json(contract.ACME_REQUEST), force)
    env = dict(os.environ)
    if cfg.ca_file:
        env["REQUESTS_CA_BUNDLE"] = cfg.ca_file  # certbot's HTTP client trusts this CA alone
    before = _target(f"{cfg.live}/cert.pem")
    result = _run(cmd, env)
    if result.returncode != 0:
        return explain(result.stdout + "\n" + result.stderr, cfg)
    if cmd[1] == "certonly":
        write_json(contract.ACME_REQUEST, cfg.request())
    relinked = link_nginx(cfg)
    if relinked or _target(f"{cfg.live}/cert.pem") != before:
        failed = reload_nginx()
        if failed:
            return failed
    return describe(cfg)


def main(argv):
    force = argv == ["--force-renewal"]
    if argv and not force:
        print("usage: prep-acme-issue [--force-renewal]\n  gets or renews the ACME certificate "
              f"({contract.ACME_CONFIG}); --force-renewal renews now",
              file=sys.stdout if argv == ["--help"] else sys.stderr)
        return 0 if argv == ["--help"] else 2
    config = os.environ.get("PREP_ACME_CONFIG", contract.ACME_CONFIG)
    try:
        with open(config, encoding="utf-8") as f:
            cfg = settings_from(AcmeConfig, json.load(f))
    except (OSError, ValueError, TypeError) as exc:
        print(f"prep-acme-issue: error: cannot use {config} ({exc}); fix: deploy again "
              "(prep-iac deploy difusor) with tls mode acme", file=sys.stderr)
        return 2
    line = run(cfg, force)
    record(line)
    print(f"prep-acme-issue: {line}", file=sys.stderr if line.startswith("error") else sys.stdout,
          flush=True)
    return 0 if line.startswith("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
