"""CONV-II.c.3: a Linux operating system, detected and supported by prep-iac.

Supported: Debian 12 and 13, Ubuntu LTS (even year, .04) from 22.04 — what the deploys are
tested on. Anything else is reported with what was found.
"""

import re

import pytest

DEBIAN = {"12", "13"}
UBUNTU_LTS = re.compile(r"(2[2-9]|[3-9]\d)\.04")  # matched whole


def os_release(host) -> dict:
    text = host.check_output("cat /etc/os-release")
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {k: v.strip().strip('"') for k, v in pairs}


def supported(info: dict) -> bool:
    system, version = info.get("ID"), info.get("VERSION_ID", "")
    if system == "debian":
        return version in DEBIAN
    if system == "ubuntu":
        return bool(UBUNTU_LTS.fullmatch(version)) and int(version[:2]) % 2 == 0
    return False


@pytest.mark.conv("CONV-II.c.3", id="os::linux")
def test_linux(host):
    """El núcleo es Linux"""
    kernel = host.check_output("uname -sr")
    assert kernel.startswith("Linux "), f"el sistema no es Linux: {kernel}"


@pytest.mark.conv("CONV-II.c.3", id="os::distribucion_soportada")
def test_distribucion_soportada(host):
    """Distribución y versión detectadas y soportadas (Debian 12/13, Ubuntu LTS)"""
    info = os_release(host)
    name = info.get("PRETTY_NAME") or f"{info.get('ID')} {info.get('VERSION_ID')}"
    assert supported(info), (
        f"{name} no está soportado por prep-iac: use Debian 12 o 13, o Ubuntu LTS (22.04, 24.04)")
