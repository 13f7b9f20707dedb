"""A small HTTP(S) client for the drill: one keep-alive connection per thread and target."""

import http.client
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Target:
    """One difusor as visitors see it: its base URL and the CA that signs its certificate."""

    name: str
    base_url: str
    ca_file: str | None = None
    host_header: str | None = None
    check_name: bool = True  # False for a floating address the certificate does not name

    def context(self) -> ssl.SSLContext | None:
        if not self.base_url.startswith("https:"):
            return None
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.check_hostname = self.check_name
        return ctx


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


class Client:
    def __init__(self, target: Target, timeout: float = 3.0):
        self.target = target
        self.timeout = timeout
        self._conn = None
        parts = urlsplit(target.base_url)
        self._host, self._port, self._https = parts.hostname, parts.port, parts.scheme == "https"
        self._prefix = parts.path.rstrip("/")

    def _connection(self):
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout,
                                                         context=self.target.context())
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        return self._conn

    def get(self, path: str, method: str = "GET") -> Response:
        started = time.monotonic()
        headers = {"User-Agent": "prep-iac-simulacro/1", "Connection": "keep-alive"}
        if self.target.host_header:
            headers["Host"] = self.target.host_header
        try:
            conn = self._connection()
            conn.request(method, self._prefix + path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.getheader("connection", "").lower() == "close":
                self.close()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body,
                            time.monotonic() - started)
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
