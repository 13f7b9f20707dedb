"""Rendered web-tier files, without a server: distribution switches and inventory numbers."""

from pathlib import Path

import jinja2

from prep_iac import contract, paths
from prep_iac.components import logs, nginx, watchdog
from prep_iac.inventory import load_inventory
from prep_iac.inventory.hostconfig import HostConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "inventories" / "example-difusor.yml"


def cfg() -> HostConfig:
    return HostConfig(load_inventory(EXAMPLE), EXAMPLE, "difusor-1", "difusor")


def render(folder, name, **ctx):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(Path(paths.template(folder, name)).read_text()).render(**ctx)


def test_http2_directive_by_nginx_version():
    old = render("nginx", "prep-servers.conf.j2", **nginx.context(cfg(), http2_on=False))
    new = render("nginx", "prep-servers.conf.j2", **nginx.context(cfg(), http2_on=True))
    assert "listen 443 ssl http2 default_server;" in old and "http2 on;" not in old
    assert "listen 443 ssl default_server;" in new and "    http2 on;" in new


def test_csp_from_portal_origins():
    text = render("nginx", "prep-http.conf.j2", **nginx.context(cfg()))
    assert "\"frame-ancestors 'self' https://www.example.mx\";" in text
    assert "rate=50r/s;" in text


def test_logs_keep_window_plus_30_days():
    c = cfg()  # window 6–15 June 2021
    assert logs.keep_days(c) == 9 + 30 + 2
    ctx = logs.context(c)
    assert (ctx["first_day"], ctx["last_day"]) == ("20210606", "20210615")
    text = render("logrotate", "nginx.j2", **ctx)
    assert "rotate 41" in text and "dateyesterday" in text and "compress" in text


def test_watchdog_config_and_interval():
    c = cfg()
    conf = watchdog.watchdog_config(c)
    assert conf.opens == "2021-06-06T18:00:00-05:00"  # Monterrey, June 2021 (CDT)
    assert conf.period_s == 600
    assert contract.watchdog_interval_s(600) == 10
    assert contract.watchdog_interval_s(10) == 2
