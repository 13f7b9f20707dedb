"""A small HTTP client over http.client: bounded bodies, bounded redirects, no cookies kept,
the exact headers seen — what an auditor needs, nothing a browser adds."""

from __future__ import annotations

import http.client
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

USER_AGENT = "prep-iac-audit/0.1 (+conformidad PREP)"
MAX_BODY = 64 * 2**20
MAX_REDIRECTS = 5
TIMEOUT_S = 10.0


@dataclass
class Response:
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    seconds: float = 0.0
    truncated: bool = False
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, location)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def head_text(self) -> str:
        """The status line and headers, as evidence."""
        lines = [f"HTTP {self.status} {self.reason}"] + [f"{k}: {v}" for k, v in self.headers]
        return "\n".join(lines)


class Client:
    """One connection per scheme+host, reused (keep-alive) for many small requests."""

    def __init__(self, context: ssl.SSLContext | None = None, timeout: float = TIMEOUT_S):
        self.context = context or ssl.create_default_context()
        self.timeout = timeout
        self._conns: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def _conn(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        key = (scheme, netloc)
        if key not in self._conns:
            if scheme == "https":
                self._conns[key] = http.client.HTTPSConnection(netloc, timeout=self.timeout,
                                                               context=self.context)
            else:
                self._conns[key] = http.client.HTTPConnection(netloc, timeout=self.timeout)
        return self._conns[key]

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def request(self, url: str, method: str = "GET", headers: dict | None = None,
                max_body: int = MAX_BODY, sink=None) -> Response:
        """One request, no redirect followed. ``sink(chunk)`` streams the body instead."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
        started = time.monotonic()
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            conn = self._conn(parts.scheme, parts.netloc)
            try:
                conn.request(method, path, headers=sent)
                resp = conn.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                self._conns.pop((parts.scheme, parts.netloc), None)
                if attempt == 2:
                    raise
        body, truncated, read = b"", False, 0
        if method != "HEAD":
            chunks = []
            while True:
                chunk = resp.read(65536)
                if not chunk:
                    break
                read += len(chunk)
                if sink:
                    sink(chunk)
                elif read <= max_body:
                    chunks.append(chunk)
                else:
                    truncated = True
                    break
            body = b"".join(chunks)
        if truncated or resp.will_close:
            conn.close()
            self._conns.pop((parts.scheme, parts.netloc), None)
        return Response(url, resp.status, resp.reason, list(resp.getheaders()), body,
                        time.monotonic() - started, truncated)

    def get(self, url: str, follow: bool = True, **kw) -> Response:
        """GET, following up to MAX_REDIRECTS redirects (recorded on the response)."""
        chain = []
        for _ in range(MAX_REDIRECTS + 1):
            resp = self.request(url, **kw)
            location = resp.header("Location")
            if not follow or resp.status not in (301, 302, 303, 307, 308) or not location:
                resp.redirects = chain
                return resp
            url = urljoin(url, location)
            chain.append((resp.status, url))
        resp.redirects = chain
        return resp
