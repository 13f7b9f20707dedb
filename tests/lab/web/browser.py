"""Headless Chromium (Debian's) driven over the DevTools protocol on a pipe (fds 3/4):
no websocket client, no extra package. Used to see a page and the frames inside it."""

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         # One renderer for every frame, so one DOM tree holds the framed documents too.
         "--disable-site-isolation-trials", "--disable-features=IsolateOrigins,site-per-process",
         "--remote-debugging-pipe"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _high_fd(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Browser:
    def __init__(self, extra_flags: list[str], timeout: float = 30):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="prep-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Move chromium's ends above 3 and 4, or the shell's redirections would clobber them.
        to_chrome_r, from_chrome_w = (_high_fd(to_chrome_r), _high_fd(from_chrome_w))
        exe = chromium()
        if not exe:
            raise RuntimeError("no chromium: apt-get install chromium")
        # bash (dash takes single-digit fds only) puts our pipe ends on fds 3 (commands in)
        # and 4 (answers out).
        script = f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}'
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", script, exe, *FLAGS, f"--user-data-dir={self.profile}",
             *extra_flags, "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"],
                                 flatten=True)["sessionId"]

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def page(self, method: str, **params) -> dict:
        return self.call(method, session=self.session, **params)

    def open(self, url: str) -> None:
        self.page("Page.enable")
        self.page("Runtime.enable")
        self.page("Log.enable")
        self.page("Page.navigate", url=url)

    def console(self) -> list[str]:
        """What the page's console and the browser's log said so far (events already read)."""
        out = []
        for event in self.events:
            params = event.get("params", {})
            if event.get("method") == "Runtime.consoleAPICalled":
                out.append(params.get("type", "") + ": " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif event.get("method") == "Log.entryAdded":
                entry = params.get("entry", {})
                out.append(f"{entry.get('level', '')}: {entry.get('text', '')} {entry.get('url', '')}")
        return out

    def frames(self) -> list[dict]:
        """Every document in the page, framed ones included: [{"url", "text"}], outermost first."""
        root = self.page("DOM.getDocument", depth=-1, pierce=True)["root"]
        out: list[dict] = []

        def walk(node, doc):
            if node.get("nodeType") == 9:  # a document: the page or a frame's
                doc = {"url": node.get("documentURL", ""), "text": []}
                out.append(doc)
            if node.get("nodeType") == 3 and doc is not None:
                doc["text"].append(node.get("nodeValue", ""))
            if node.get("nodeName") in ("SCRIPT", "STYLE"):
                return
            for child in node.get("children", []):
                walk(child, doc)
            if "contentDocument" in node:
                walk(node["contentDocument"], doc)

        walk(root, None)
        return [{"url": d["url"], "text": " ".join(" ".join(d["text"]).split())} for d in out]

    def wait_for(self, predicate, timeout: float = 20) -> list[dict]:
        """Poll frames() until predicate(frames) holds; the last frames otherwise (bounded)."""
        deadline = time.monotonic() + timeout
        frames = []
        while time.monotonic() < deadline:
            try:
                frames = self.frames()
            except RuntimeError:
                frames = []
            if predicate(frames):
                return frames
            time.sleep(0.5)
        return frames

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
