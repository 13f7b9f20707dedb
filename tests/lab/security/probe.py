"""Network probes run ON a lab host (python3, standard library only), from the test via
`ssh <host> python3 - <command> <args…> < probe.py`; prints one JSON line.

    http URL [--agent UA] [--bind ADDR]           -> {"status": 200|403|…|"timeout"|"reset"}
    tcp HOST PORT [--bind ADDR] [--timeout S]     -> {"state": "open"|"refused"|"timeout"}
    flood HOST PORT N [--bind ADDR] [--hold S]    -> {"open": n, "refused": n, "timeout": n}
    burst URL N [--agent UA]                       -> {"codes": {"403": n, …}}
    volume URL N [--agent UA] [--bind ADDR] [--header K:V]…
                                                   -> {"codes": {"200": n, "429": n, …}}
Every loop is bounded; every socket has a timeout.
"""

import argparse
import http.client as httpclient
import json
import selectors
import socket
import ssl
import sys
import time
from urllib.parse import urlsplit


def connect(host, port, bind, timeout):
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.settimeout(timeout)
    if bind:
        sock.bind((bind, 0))
    sock.connect((host, port))
    return sock


def get(url, agent="Mozilla/5.0 (prep-iac lab)", bind=None, timeout=5.0):
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        sock = connect(parts.hostname, port, bind, timeout)
        if parts.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=parts.hostname)
        conn = httpclient.HTTPConnection(parts.hostname, port, timeout=timeout)
        conn.sock = sock
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("User-Agent", agent)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status
    except TimeoutError:
        return "timeout"
    except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError):
        return "reset"
    except OSError as error:
        return f"error:{error.__class__.__name__}"


def tcp(host, port, bind=None, timeout=3.0):
    try:
        connect(host, port, bind, timeout).close()
        return "open"
    except TimeoutError:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as error:
        return f"error:{error.__class__.__name__}"


def flood(host, port, count, bind=None, hold=5.0, timeout=5.0):
    """Open `count` connections from one source at once and keep them; count what the
    server let in. Connects run in parallel (non-blocking), bounded by `timeout` in all;
    a connection counts as open only if it survives the hold (a reset kills it)."""
    result = {"open": 0, "refused": 0, "timeout": 0}
    pending = {}
    for _ in range(count):
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setblocking(False)
        if bind:
            sock.bind((bind, 0))
        sock.connect_ex((host, port))
        pending[sock.fileno()] = sock
    selector = selectors.DefaultSelector()
    for sock in pending.values():
        selector.register(sock, selectors.EVENT_WRITE)
    connected = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
            sock = pending.pop(key.fd)
            selector.unregister(sock)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected.append(sock)
            else:
                result["refused"] += 1
                sock.close()
    result["timeout"] = len(pending)
    for sock in pending.values():
        sock.close()
    time.sleep(min(hold, 30))
    for sock in connected:
        try:
            sock.setblocking(True)
            sock.settimeout(0.5)
            sock.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = sock.recv(16)
            result["open" if data else "refused"] += 1
        except TimeoutError:
            result["open"] += 1
        except OSError:
            result["refused"] += 1
        finally:
            sock.close()
    return result


def burst(url, count, agent):
    codes = {}
    for _ in range(min(count, 1000)):
        code = str(get(url, agent=agent, timeout=3.0))
        codes[code] = codes.get(code, 0) + 1
        if code in ("timeout", "reset"):
            break  # banned: the rest would only wait
    return {"codes": codes}


def volume(url, count, agent, bind=None, headers=(), budget=30.0):
    """Up to `count` GETs on keep-alive connections (reopened if the server closes one), as
    fast as they are answered; stops at the time budget or when the source is cut off."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    codes, conn, deadline = {}, None, time.monotonic() + budget
    for _ in range(min(count, 5000)):
        if time.monotonic() > deadline:
            codes["budget"] = codes.get("budget", 0) + 1
            break
        try:
            if conn is None:
                sock = connect(parts.hostname, port, bind, 5.0)
                if parts.scheme == "https":
                    context = ssl.create_default_context()
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                    sock = context.wrap_socket(sock, server_hostname=parts.hostname)
                conn = httpclient.HTTPConnection(parts.hostname, port, timeout=5.0)
                conn.sock = sock
            conn.putrequest("GET", path, skip_accept_encoding=True)
            conn.putheader("User-Agent", agent)
            for header in headers:
                name, _, value = header.partition(":")
                conn.putheader(name.strip(), value.strip())
            conn.endheaders()
            response = conn.getresponse()
            response.read()
            code = str(response.status)
            if response.will_close:
                conn.close()
                conn = None
        except TimeoutError:
            code = "timeout"
        except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError,
                httpclient.HTTPException, ssl.SSLError):
            code, conn = "reset", None
        codes[code] = codes.get(code, 0) + 1
        if code == "timeout":
            break  # banned: the rest would only wait
    if conn is not None:
        conn.close()
    return {"codes": codes}


def main(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("http")
    p.add_argument("url")
    p.add_argument("--agent", default="Mozilla/5.0 (prep-iac lab)")
    p.add_argument("--bind")
    p = sub.add_parser("tcp")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--bind")
    p.add_argument("--timeout", type=float, default=3.0)
    p = sub.add_parser("flood")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("count", type=int)
    p.add_argument("--bind")
    p.add_argument("--hold", type=float, default=5.0)
    p = sub.add_parser("burst")
    p.add_argument("url")
    p.add_argument("count", type=int)
    p.add_argument("--agent", default="Mozilla/5.0 (prep-iac lab)")
    p = sub.add_parser("volume")
    p.add_argument("url")
    p.add_argument("count", type=int)
    p.add_argument("--agent", default="Mozilla/5.0 (prep-iac lab)")
    p.add_argument("--bind")
    p.add_argument("--header", action="append", default=[])
    args = parser.parse_args(argv)
    if args.cmd == "http":
        out = {"status": get(args.url, args.agent, args.bind)}
    elif args.cmd == "tcp":
        out = {"state": tcp(args.host, args.port, args.bind, args.timeout)}
    elif args.cmd == "flood":
        out = flood(args.host, args.port, min(args.count, 2000), args.bind, args.hold)
    elif args.cmd == "volume":
        out = volume(args.url, args.count, args.agent, args.bind, args.header)
    else:
        out = burst(args.url, args.count, args.agent)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
