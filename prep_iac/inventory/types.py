"""Value types of an inventory. Each validator says what is wrong in words a sysadmin uses;
the example of a right value comes from EXAMPLES in messages.py.

Every value may end up in a root shell script, a daemon's config or a public page, so each
type accepts only what its landing places accept, matched against the whole string
(re.fullmatch: `$` would let a trailing newline through). Quoting where a value lands
(shell, nginx, NUT, HTML) is the second line of defence, in the components and templates;
docs/inventory.md has the table.
"""

import base64
import binascii
import ipaddress
import re
import struct
import unicodedata
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator

from prep_iac import contract

# All matched with fullmatch (whole string).
_UNIX_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE | re.ASCII)
_HOST_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?", re.ASCII)
_LOCAL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TZ_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,2}")
_ABS_PATH = re.compile(r"(?:/[A-Za-z0-9._@+-]+)+/?|/")
# RFC 3986 characters of a path, query and fragment (percent escapes checked apart).
_URL_REST = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>\[[0-9A-Fa-f:.]+\]|[^/?#:\[\]@]+)"
                  r"(?::(?P<port>[0-9]{1,5}))?(?P<rest>[/?#].*)?", re.DOTALL)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Mail addresses: the plain form every MTA, certbot and mail(1) take unquoted.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._+-]{0,63})")
# NUT driver and UPS names; a UPS port: a device, a network address or a driver's URL.
NUT_NAME = re.compile(r"[a-z0-9_-]{1,32}")
_UPS_PORT = re.compile(r"[A-Za-z0-9/][A-Za-z0-9._:@/+=-]{0,199}")
TEXT_MAX = 200

# Key types OpenSSH accepts today; DSA is gone, RSA below 3072 bits is refused below.
_KEY_TYPES = {
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
}
MIN_RSA_BITS = 3072


def _str(value):
    if not isinstance(value, str):
        # pydantic turns ValueError, not TypeError, into a field error with this message
        raise ValueError(f"expected text, got {type(value).__name__} {value!r}")  # noqa: TRY004
    return value


def _control_chars(value: str) -> list[str]:
    """Control, format (bidi, zero-width), surrogate and line/paragraph separator characters:
    none of them has a place in a config file, a script or a page."""
    return [c for c in value if unicodedata.category(c)[0] == "C"
            or unicodedata.category(c) in ("Zl", "Zp")]


def _no_controls(value: str) -> str:
    bad = _control_chars(value)
    if bad:
        raise ValueError(f"{value!r} contains control or invisible characters "
                         f"({', '.join(sorted({f'U+{ord(c):04X}' for c in bad}))}); "
                         "write it on one line, with visible characters only")
    return value


def _line(value: str) -> str:
    """One line of visible text (names, roles, phone numbers, descriptions)."""
    _no_controls(value)
    if value != value.strip():
        raise ValueError(f"{value!r} starts or ends with spaces")
    if not value:
        raise ValueError("empty text")
    if len(value) > TEXT_MAX:
        raise ValueError(f"text of {len(value)} characters is too long (at most {TEXT_MAX})")
    return value


def _nut_text(value: str) -> str:
    """A NUT description: a line of text without the quote and backslash NUT escapes."""
    _line(value)
    if '"' in value or "\\" in value:
        raise ValueError(f"{value!r}: a UPS description cannot hold '\"' or '\\'")
    return value


def _email(value: str) -> str:
    _no_controls(value)
    local, at, domain = value.rpartition("@")
    if (not at or len(value) > 254 or not _EMAIL_LOCAL.fullmatch(local)
            or "." not in domain or not _dns_name_ok(domain)):
        raise ValueError(f"{value!r} is not a plain mail address (letters, digits and . _ + - "
                         "before the @, a DNS name after it)")
    return value


def _ssh_public_key(value: str) -> str:
    _no_controls(value)
    parts = value.split()
    if len(parts) < 2:
        raise ValueError("not an SSH public key: expected '<type> <base64> [comment]'")
    kind, blob = parts[0], parts[1]
    if kind not in _KEY_TYPES:
        raise ValueError(f"key type {kind!r} is not accepted (use ssh-ed25519, ecdsa or rsa >= {MIN_RSA_BITS} bits)")
    try:
        raw = base64.b64decode(blob, validate=True)
        (length,) = struct.unpack(">I", raw[:4])
        inner = raw[4:4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise ValueError("not an SSH public key: its base64 part does not decode") from None
    if inner != kind:
        raise ValueError(f"corrupt SSH public key: it says {kind!r} but holds a {inner!r} key")
    if kind == "ssh-rsa":
        bits = _rsa_bits(raw)
        if bits < MIN_RSA_BITS:
            raise ValueError(f"RSA key of {bits} bits is too weak (at least {MIN_RSA_BITS})")
    return " ".join(parts)


def _rsa_bits(raw: bytes) -> int:
    offset = 0
    fields = []
    for _ in range(3):  # type, e, n
        (length,) = struct.unpack(">I", raw[offset:offset + 4])
        fields.append(raw[offset + 4:offset + 4 + length])
        offset += 4 + length
    return int.from_bytes(fields[2], "big").bit_length()


def _no_scope(value: str) -> str:
    """ipaddress takes an IPv6 zone (fe80::1%eth0) with any text after the '%': none here."""
    if "%" in value:
        raise ValueError(f"{value!r}: a zone ('%...') has no place in an inventory address")
    return value


def _cidr(value: str) -> str:
    _no_scope(value)
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP network: {exc}") from None
        raise ValueError(f"{value!r} has host bits set; did you mean {net}?") from None


def _address(value: str) -> str:
    _no_scope(value)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if _dns_name_ok(value):
        return value.lower()
    raise ValueError(f"{value!r} is neither an IP address nor a DNS name")


def _dns_name_ok(value: str) -> bool:
    labels = value.rstrip(".").split(".")
    return 0 < len(value) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in labels)


def ip_interface_text(value: str) -> str:
    """'203.0.113.20/24' normalized; ValueError for anything else (zones included)."""
    return str(ipaddress.ip_interface(_no_scope(value)))


def _dns_name(value: str) -> str:
    if not _dns_name_ok(value) or "." not in value:
        raise ValueError(f"{value!r} is not a fully qualified DNS name")
    return value.lower().rstrip(".")


def _url_parts(value: str, what: str) -> re.Match:
    """scheme, host, port and the rest of an http(s) URL, each checked whole."""
    _no_controls(value)
    m = _URL.fullmatch(value)
    if not m or m["scheme"].lower() not in ("http", "https"):
        raise ValueError(f"{value!r} is not {what}")
    host = m["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{value!r}: {host!r} is not an IPv6 address") from None
    elif not _dns_name_ok(host):
        raise ValueError(f"{value!r}: {host!r} is not a host name")
    if m["port"] is not None and not 0 < int(m["port"]) <= 65535:
        raise ValueError(f"{value!r}: port {m['port']} is out of range")
    return m


def _origin(value: str) -> str:
    m = _url_parts(value, "an origin: expected scheme://host[:port]")
    if m["rest"] not in (None, "/"):
        netloc = m["host"] + (f":{m['port']}" if m["port"] else "")
        raise ValueError(f"{value!r} is not an origin: it has a path, query or fragment; "
                         f"keep only {m['scheme']}://{netloc}")
    port = f":{m['port']}" if m["port"] else ""
    return f"{m['scheme'].lower()}://{m['host'].lower()}{port}"


def _http_url(value: str) -> str:
    m = _url_parts(value, "an http(s) URL like https://www.example.mx/prep/")
    rest = m["rest"] or ""
    if not _URL_REST.fullmatch(rest) or _BAD_PERCENT.search(rest):
        raise ValueError(f"{value!r} is not an http(s) URL: spaces, quotes, <, >, {{, }}, \\, "
                         "^, ` and | must be percent-encoded (%20, %22...)")
    return value


def _https_url(value: str) -> str:
    _http_url(value)
    if not value.lower().startswith("https://"):
        raise ValueError(f"{value!r} is not an https URL: an ACME server speaks HTTPS only")
    return value


def _timezone(value: str) -> str:
    if not _TZ_NAME.fullmatch(value):
        raise ValueError(f"unknown time zone {value!r} (an IANA name is expected)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name is expected)") from None
    return value


LOCAL_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")  # seconds: for drills


def parse_local_time(value: str) -> datetime:
    """'YYYY-MM-DD HH:MM' (or with :SS) -> naive datetime; ValueError otherwise."""
    for fmt in LOCAL_TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a local time 'YYYY-MM-DD HH:MM'")


def local_time_text(value: datetime) -> str:
    """A LocalTime's text: seconds only when there are some (drills)."""
    return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")


def _local_time(value) -> str:
    if isinstance(value, datetime):  # YAML may already have parsed an unquoted timestamp
        value = local_time_text(value)
    value = _str(value)
    if not _LOCAL_TIME.fullmatch(value):
        raise ValueError(f"{value!r} is not a local time 'YYYY-MM-DD HH:MM'")
    parse_local_time(value)
    return value


def _local_date(value) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # YAML reads an unquoted 2021-06-06 as a date itself
    if _LOCAL_DATE.fullmatch(_str(value)):
        try:
            return date.fromisoformat(value)
        except ValueError:  # 2021-02-30
            pass
    raise ValueError(f"{value!r} is not a date 'YYYY-MM-DD'")


def _process_id(value: str) -> str:
    if not contract.PROCESS_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not an electoral process id: 3 to 64 lowercase letters, "
                         "digits and '-', starting with a letter")
    return value


def _unix_name(value: str) -> str:
    if not _UNIX_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid user name (lowercase letters, digits, _ and -)")
    return value


def _host_name(value: str) -> str:
    if not _HOST_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid host name (lowercase letters, digits and -)")
    return value


def _abs_path(value: str) -> str:
    """A folder on a host: it lands in systemd units and shell commands, so plain characters."""
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path")
    if not _ABS_PATH.fullmatch(value) or {".", ".."} & set(value.split("/")):
        raise ValueError(f"{value!r}: a host path may hold only letters, digits and . _ @ + - "
                         "between slashes, and no '.' or '..' parts")
    return value.rstrip("/") or "/"


def _local_path(value: str) -> str:
    """A file on the machine that runs prep-iac (keys, certificates)."""
    if not value:
        raise ValueError("empty path")
    return _no_controls(value)


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _logo(value: str) -> str:
    """A difusor's logo: an http(s) URL the list links to, or a file beside the inventory
    (its content is checked when the inventory loads: inventory/logos.py)."""
    return _http_url(value) if is_url(value) else _local_path(value)


def _nut_name(value: str) -> str:
    if not NUT_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a NUT name (lowercase letters, digits, _ and -)")
    return value


def _ups_port(value: str) -> str:
    if not _UPS_PORT.fullmatch(value) or ".." in value.split("/"):
        raise ValueError(f"{value!r} is not a UPS port: 'auto', a device like /dev/ttyS0, "
                         "or an address (letters, digits and . _ : @ / + = -)")
    return value


def _text(fn):
    return [BeforeValidator(_str), AfterValidator(fn)]


SshPublicKey = Annotated[str, *_text(_ssh_public_key)]
Cidr = Annotated[str, *_text(_cidr)]
Address = Annotated[str, *_text(_address)]
DnsName = Annotated[str, *_text(_dns_name)]
Origin = Annotated[str, *_text(_origin)]
HttpUrl = Annotated[str, *_text(_http_url)]
HttpsUrl = Annotated[str, *_text(_https_url)]
TimeZoneName = Annotated[str, *_text(_timezone)]
LocalTime = Annotated[str, BeforeValidator(_local_time)]
LocalDate = Annotated[date, BeforeValidator(_local_date)]
ProcessId = Annotated[str, *_text(_process_id)]
UnixName = Annotated[str, *_text(_unix_name)]
HostName = Annotated[str, *_text(_host_name)]
AbsPath = Annotated[str, *_text(_abs_path)]
LocalPath = Annotated[str, *_text(_local_path)]
Logo = Annotated[str, *_text(_logo)]
Line = Annotated[str, *_text(_line)]
NutText = Annotated[str, *_text(_nut_text)]
NutName = Annotated[str, *_text(_nut_name)]
UpsPort = Annotated[str, *_text(_ups_port)]
Email = Annotated[str, *_text(_email)]
