"""Value types of an inventory. Each validator says what is wrong in words a sysadmin uses;
the example of a right value comes from EXAMPLES in messages.py."""

import base64
import binascii
import ipaddress
import re
import struct
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator

_UNIX_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_HOST_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

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


def _ssh_public_key(value: str) -> str:
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


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP network: {exc}") from None
        raise ValueError(f"{value!r} has host bits set; did you mean {net}?") from None


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if _dns_name_ok(value):
        return value.lower()
    raise ValueError(f"{value!r} is neither an IP address nor a DNS name")


def _dns_name_ok(value: str) -> bool:
    labels = value.rstrip(".").split(".")
    return len(value) <= 253 and all(_DNS_LABEL.match(label) for label in labels)


def _dns_name(value: str) -> str:
    if not _dns_name_ok(value) or "." not in value:
        raise ValueError(f"{value!r} is not a fully qualified DNS name")
    return value.lower().rstrip(".")


def _origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin: expected scheme://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r} is not an origin: it has a path, query or user; "
                         f"keep only {parts.scheme}://{parts.netloc}")
    if not _dns_name_ok(parts.hostname):
        try:
            ipaddress.ip_address(parts.hostname)
        except ValueError:
            raise ValueError(f"{value!r}: {parts.hostname!r} is not a host name") from None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _timezone(value: str) -> str:
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


def _local_time(value) -> str:
    if isinstance(value, datetime):  # YAML may already have parsed an unquoted timestamp
        value = value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    value = _str(value)
    parse_local_time(value)
    return value


def _unix_name(value: str) -> str:
    if not _UNIX_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid user name (lowercase letters, digits, _ and -)")
    return value


def _host_name(value: str) -> str:
    if not _HOST_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid host name (lowercase letters, digits and -)")
    return value


def _abs_path(value: str) -> str:
    if not value.startswith("/") or "/../" in f"{value}/":
        raise ValueError(f"{value!r} is not an absolute path")
    return value.rstrip("/") or "/"


def _text(fn):
    return [BeforeValidator(_str), AfterValidator(fn)]


SshPublicKey = Annotated[str, *_text(_ssh_public_key)]
Cidr = Annotated[str, *_text(_cidr)]
Address = Annotated[str, *_text(_address)]
DnsName = Annotated[str, *_text(_dns_name)]
Origin = Annotated[str, *_text(_origin)]
HttpUrl = Annotated[str, *_text(_http_url)]
TimeZoneName = Annotated[str, *_text(_timezone)]
LocalTime = Annotated[str, BeforeValidator(_local_time)]
UnixName = Annotated[str, *_text(_unix_name)]
HostName = Annotated[str, *_text(_host_name)]
AbsPath = Annotated[str, *_text(_abs_path)]
