"""CONV-II.c.3: a Linux operating system. The call asks for "LINUX (Red Hat, Centos, Debian,
Ubuntu, etc.)": any Linux meets it. Whether prep-iac's deploys support the release (Debian 12
and 13, Ubuntu LTS) is another question, its own informative row (INF-soporte).
"""

import re

import pytest

from prep_iac.components.distro import SUPPORTED

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
    """El sistema operativo es Linux (cualquier distribución cumple la convocatoria)"""
    kernel = host.check_output("uname -sr")
    assert kernel.startswith("Linux "), f"el sistema no es Linux: {kernel}"
    info = os_release(host)
    name = info.get("PRETTY_NAME") or info.get("ID")
    assert name, "/etc/os-release no nombra la distribución"


@pytest.mark.conv("INF-soporte", id="os::distribucion_soportada")
def test_distribucion_soportada(host):
    """Distribución y versión que los despliegues de prep-iac soportan (Debian 12/13, Ubuntu LTS)"""
    info = os_release(host)
    name = info.get("PRETTY_NAME") or f"{info.get('ID')} {info.get('VERSION_ID')}"
    assert supported(info), (
        f"{name} cumple la convocatoria (es Linux), pero los despliegues de prep-iac se prueban "
        f"en {SUPPORTED}: despliéguelo por su cuenta o use una de ellas")
