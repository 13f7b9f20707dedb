"""The cut pipeline on a host (testinfra, with sudo).

Difusor: the IEC's SFTP jail (CONV-II.a.1), the activator that admits only signed cuts
(CONV-I.9), and the served cut byte-identical to its signed manifest (CONV-I.3).
Publisher: the service that pushes every period (CONV-III.1) and its ledger (CONV-III.2).
"""

import hashlib
import json
import shlex
from pathlib import PurePosixPath

import pytest

from prep_iac.components import activator as act
from prep_iac.components import onhost, sftp_jail
from prep_iac.components import publisher as pub
from prep_iac.conformance.suites.checks import not_applicable
from prep_iac.contract import (
    ACTIVATOR_CONFIG,
    ACTIVATOR_SIGNERS,
    ACTIVATOR_STATE_DIR,
    CURRENT_LINK,
    ESTADO_FILE,
    INCOMING,
    JAIL_BOUND_BUDGET,
    JAIL_BOUND_FILESYSTEM,
    JAIL_BOUND_QUOTA,
    JAIL_ESTADO,
    JAIL_ROOT,
    ONHOST_LIB,
    SFTP_GROUP,
)
from prep_iac.facts import container as container_fact
from prep_iac.onhost.activator import ActivatorConfig
from prep_iac.onhost.common import settings_from
from prep_iac.onhost.publisher.signing import allowed_signers
from prep_iac.paths import PACKAGE_DIR


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sshd_for(host, user, addr):
    out = host.check_output(f"sshd -T -C user={user},host=prep-check,addr={addr}")
    conf = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        conf.setdefault(key.lower(), value)
    return conf


def outside(sources):
    """An address outside every IEC source (documentation ranges first)."""
    import ipaddress

    nets = [ipaddress.ip_network(s) for s in sources]
    for cand in ("192.0.2.7", "198.51.100.7", "203.0.113.7", "2001:db8::7"):
        ip = ipaddress.ip_address(cand)
        if not any(ip.version == n.version and ip in n for n in nets):
            return cand
    return None


def first_source_address(sources):
    import ipaddress

    net = ipaddress.ip_network(sources[0])
    return str(next(iter(net.hosts()), net.network_address))  # a /32: hosts() is a list


# ---- difusor: the jail (CONV-II.a.1) ------------------------------------------------------

@pytest.mark.conv("CONV-II.a.1", id="pipeline::cuenta_sftp_del_iec")
def test_cuenta_sftp_del_iec(host, difusor):
    """Cuenta del IEC: sin shell, sin contraseña, en el grupo prep-sftp"""
    user = difusor.iec.jail_user
    u = host.user(user)
    assert u.exists, f"no existe la cuenta {user}"
    assert u.shell in ("/usr/sbin/nologin", "/bin/false"), f"{user} tiene shell {u.shell}"
    assert SFTP_GROUP in u.groups, f"{user} no está en el grupo {SFTP_GROUP}"
    pw = host.check_output(f"getent shadow {shlex.quote(user)}").split(":")[1]
    assert pw.startswith(("!", "*")), f"{user} tiene contraseña"


@pytest.mark.conv("CONV-II.a.1", id="pipeline::jaula_de_root")
def test_jaula_de_root(host, difusor):
    """Jaula: /srv/sftp/iec de root; escribe sólo incoming/, lee estado/"""
    # The chroot and every folder above it (sshd refuses a chroot any other user can write).
    above = [str(p) for p in reversed(PurePosixPath(JAIL_ROOT).parents) if str(p) != "/"]
    for path in (*above, JAIL_ROOT):
        f = host.file(path)
        assert f.is_directory and f.user == "root" and not f.mode & 0o022, (
            f"{path}: {f.user} {oct(f.mode)} (debe ser de root y no escribible por otros)")
    inc = host.file(f"{JAIL_ROOT}/{INCOMING}")
    assert inc.user == difusor.iec.jail_user and inc.mode & 0o077 == 0, (
        f"{INCOMING}/: {inc.user} {oct(inc.mode)}")
    est = host.file(f"{JAIL_ROOT}/{JAIL_ESTADO}")
    assert est.user == "root" and not est.mode & 0o022, (
        f"{JAIL_ESTADO}/: {est.user} {oct(est.mode)}")


@pytest.mark.conv("CONV-II.a.1", id="pipeline::sshd_jaula_solo_sftp")
def test_sshd_jaula_solo_sftp(host, difusor):
    """sshd: chroot, sólo internal-sftp sin symlink/hardlink, sin tty ni reenvíos, sólo llaves"""
    iec = difusor.iec
    conf = sshd_for(host, iec.jail_user, first_source_address(iec.sources))
    assert conf.get("chrootdirectory") == JAIL_ROOT
    force = conf.get("forcecommand", "")
    assert force.startswith("internal-sftp") and "-P symlink,hardlink" in force, force
    for key, want in (("permittty", "no"), ("allowtcpforwarding", "no"), ("x11forwarding", "no"),
                      ("allowagentforwarding", "no"), ("permittunnel", "no"),
                      ("passwordauthentication", "no"), ("authenticationmethods", "publickey")):
        assert conf.get(key) == want, f"{key} {conf.get(key)} (debe ser {want})"
    keys_file = conf.get("authorizedkeysfile", "").replace("%u", iec.jail_user)
    f = host.file(keys_file)
    assert f.user == "root" and not f.mode & 0o022, f"{keys_file}: {f.user} {oct(f.mode)}"
    listed = {" ".join(line.split()[1:3]) for line in f.content_string.splitlines() if line}
    assert listed == {" ".join(k.split()[:2]) for k in iec.sftp_keys}, (
        "las llaves autorizadas no son las del inventario (iec.sftp_keys)")


@pytest.mark.conv("CONV-II.a.1", id="pipeline::sshd_jaula_solo_desde_el_iec")
def test_sshd_jaula_solo_desde_el_iec(host, difusor):
    """sshd: la cuenta del IEC no puede autenticarse desde fuera de iec.sources"""
    addr = outside(difusor.iec.sources)
    if addr is None:
        not_applicable("iec.sources cubre todas las direcciones de prueba")
    conf = sshd_for(host, difusor.iec.jail_user, addr)
    assert conf.get("pubkeyauthentication") == "no" and conf.get("authorizedkeysfile") == "none"


@pytest.mark.conv("CONV-II.a.1", id="pipeline::sftp_de_admins_intacto")
def test_sftp_de_admins_intacto(host, difusor):
    """Los administradores conservan su sftp-server (sin chroot)"""
    admin = difusor.admins.accounts[0].name
    conf = sshd_for(host, admin, first_source_address(difusor.admins.networks))
    assert conf.get("chrootdirectory", "none") == "none"
    assert conf.get("forcecommand", "none") == "none"
    assert conf.get("subsystem", "").startswith("sftp ")


@pytest.mark.conv("CONV-II.a.1", id="pipeline::almacenamiento_del_jail")
def test_almacenamiento_del_jail(host, difusor):
    """Jaula: lo que el IEC puede dejar en incoming/ está acotado (presupuesto, cuota o disco propio)"""
    incoming = f"{JAIL_ROOT}/{INCOMING}"
    bounds = []
    cfg = settings_from(ActivatorConfig, json.loads(host.file(ACTIVATOR_CONFIG).content_string))
    sweep = host.service("prep-activator-sweep.timer")
    if cfg.jail_budget_bytes > 0 and sweep.is_enabled:
        bounds.append(f"{JAIL_BOUND_BUDGET} ({cfg.jail_budget_bytes} bytes, medido por root)")
    # A filesystem of its own: incoming/ (or the jail) is a mount point, not the root's disk.
    mount = host.run(f"findmnt -n -o TARGET,FSTYPE,SIZE --target {shlex.quote(incoming)}")
    target = mount.stdout.split()[0] if mount.rc == 0 and mount.stdout.split() else ""
    if target in (incoming, JAIL_ROOT):
        bounds.append(f"{JAIL_BOUND_FILESYSTEM} ({mount.stdout.strip()})")
    # A disk quota on the jail account (quota(1), when the quota tools are there).
    user = shlex.quote(difusor.iec.jail_user)
    quota = host.run(f"command -v quota >/dev/null && quota -w -u {user}")
    limits = [line.split() for line in quota.stdout.splitlines()[2:]] if quota.rc == 0 else []
    if any(len(cols) > 3 and (cols[2] not in ("0", "") or cols[3] not in ("0", ""))
           for cols in limits):
        bounds.append(f"{JAIL_BOUND_QUOTA} ({' '.join(limits[0])})")
    host.run("echo %s", "límites en vigor: " + ("; ".join(bounds) or "ninguno"))  # evidencia
    assert bounds, (f"nada acota {incoming}: sin {JAIL_BOUND_BUDGET} (jail_budget_bytes y el "
                    f"barrido del activador), sin {JAIL_BOUND_QUOTA} y sin "
                    f"{JAIL_BOUND_FILESYSTEM}")


@pytest.mark.conv("CONV-II.a.1", id="pipeline::incoming_en_disco_propio")
def test_incoming_en_disco_propio(host, difusor):
    """Jaula: incoming/ en un sistema de archivos propio (nodev, nosuid, noexec), donde el
    host ofrece dispositivos loop"""
    probe = container_fact.interpret(host.run(container_fact.COMMAND).stdout.splitlines())
    why_not = probe["forbids"].get("loop_filesystem")
    if why_not:
        not_applicable(f"sin dispositivos loop en este host ({why_not}); el presupuesto de "
                       "bytes del activador acota incoming/")
    incoming = f"{JAIL_ROOT}/{INCOMING}"
    unit = sftp_jail.mount_unit_name(incoming)
    mount = host.run(f"findmnt -n -o OPTIONS --mountpoint {shlex.quote(incoming)}")
    assert mount.rc == 0, (f"{incoming} no es un sistema de archivos propio: el despliegue lo "
                           f"monta desde {sftp_jail.FS_IMAGE} ({unit})")
    options = mount.stdout.strip()
    missing = {"nodev", "nosuid", "noexec"} - set(options.split(","))
    assert not missing, f"{incoming} montado sin {', '.join(sorted(missing))}"
    assert host.service(unit).is_enabled, (
        "el montaje no se repite al arrancar")


# ---- difusor: the activator (CONV-I.9) and the served cut (CONV-I.3) ---------------------

@pytest.mark.conv("CONV-I.9", id="pipeline::activador_instalado")
def test_activador_instalado(host, difusor):
    """Activador: firmantes del IEC, límites del inventario, unidad path y temporizador activos"""
    signers = host.file(ACTIVATOR_SIGNERS).content_string
    assert signers == allowed_signers(list(difusor.iec.signers)), (
        "allowed_signers no coincide con iec.signers del inventario")
    cfg = settings_from(ActivatorConfig, json.loads(host.file(ACTIVATOR_CONFIG).content_string))
    assert cfg == act.settings(difusor.iec), "config.json del activador difiere del inventario"
    for rel in onhost.library_files():  # the code that runs is the code this release ships
        installed = host.file(f"{ONHOST_LIB}/prep_iac/{rel}")
        assert installed.user == "root" and installed.mode == 0o644, f"{rel}: dueño o modo"
        assert installed.sha256sum == sha256_of(PACKAGE_DIR / rel), (
            f"{rel} en el difusor difiere del de esta versión de prep-iac")
    for unit in ("prep-activator.path", "prep-activator-sweep.timer"):
        s = host.service(unit)
        assert s.is_enabled and s.is_running, f"{unit} no está habilitada y activa"


@pytest.mark.conv("CONV-I.3", "CONV-I.9", id="pipeline::corte_servido_identico_al_manifiesto")
def test_corte_servido_identico_al_manifiesto(host, difusor):
    """El corte servido es idéntico, archivo por archivo, a su manifiesto firmado"""
    # One script resolves `current` once and checks that cut's own directory: a new cut may
    # be switched in while the files are hashed (every few seconds in a drill), and the
    # directory of a cut never changes. estado.json is written just after a switch, so it is
    # read between two resolutions that agree.
    script = (
        "import hashlib,json,os,sys,time\n"
        "for _ in range(5):\n"
        f"  if not os.path.islink('{CURRENT_LINK}'): print('NONE'); sys.exit()\n"
        f"  base=os.path.realpath('{CURRENT_LINK}')\n"
        f"  estado=json.load(open('{ESTADO_FILE}')).get('corte')\n"
        f"  if base==os.path.realpath('{CURRENT_LINK}') and estado==os.path.basename(base):\n"
        "    break\n"
        "  time.sleep(0.5)\n"
        "cut=os.path.basename(base)\n"
        f"m=json.load(open('{ACTIVATOR_STATE_DIR}/manifiestos/'+cut+'.json'))\n"
        "want={a['ruta']:a['sha256'] for a in m['archivos']}\n"
        "have={}\n"
        "for d,_,fs in os.walk(base):\n"
        "  for f in fs:\n"
        "    p=os.path.join(d,f); h=hashlib.sha256()\n"
        "    with open(p,'rb') as x:\n"
        "      for c in iter(lambda:x.read(1<<20),b''): h.update(c)\n"
        "    have[os.path.relpath(p,base)]=h.hexdigest()\n"
        "bad=sorted(k for k in set(want)|set(have) if want.get(k)!=have.get(k))\n"
        "print(cut, estado, json.dumps(bad[:20]))\n")
    out = host.check_output(f"python3 -c {shlex.quote(script)}")
    if out.strip() == "NONE":
        not_applicable("aún no se ha activado ningún corte")
    cut, estado, bad = out.split(" ", 2)
    assert json.loads(bad) == [], f"{cut}: archivos distintos del manifiesto: {bad}"
    assert estado == cut, f"estado.json dice {estado}, se sirve {cut}"


# ---- publisher (CONV-III.1, CONV-III.2) --------------------------------------------------

@pytest.mark.conv("CONV-III.1", id="pipeline::publicador_cada_periodo")
def test_publicador_cada_periodo(host, publisher):
    """Publicador: temporizador cada periodo, unidad path sobre la carpeta de entrega"""
    for unit in ("prep-publisher.timer", "prep-publisher.path"):
        s = host.service(unit)
        assert s.is_enabled and s.is_running, f"{unit} no está habilitada y activa"
    timer = host.file("/etc/systemd/system/prep-publisher.timer").content_string
    assert f"OnUnitActiveSec={publisher.iec.period_s}" in timer


@pytest.mark.conv("CONV-III.1", id="pipeline::llaves_del_iec_protegidas")
def test_llaves_del_iec_protegidas(host, publisher):
    """Llaves del IEC (SFTP y firma): 0600, sólo la cuenta del servicio"""
    for name in ("iec_sftp", "iec_firma"):
        f = host.file(f"{pub.KEYS}/{name}")
        assert f.exists and f.user == pub.USER and f.mode == 0o600, (
            f"{f.path}: {f.user} {oct(f.mode)}")


@pytest.mark.conv("CONV-III.1", "CONV-III.2", id="pipeline::registro_con_llaves_fijadas")
def test_registro_con_llaves_fijadas(host, publisher):
    """Registro de difusores: todos los del inventario, con su llave de host fijada y contacto"""
    reg = json.loads(host.file(pub.REGISTRY).content_string)
    got = {d["name"]: d for d in reg["difusores"]}
    inv = publisher.inventory.difusores
    assert set(got) == set(inv), f"registro {sorted(got)} ≠ inventario {sorted(inv)}"
    for name, d in inv.items():
        assert got[name]["host_key"] == d.host_key, f"{name}: llave de host distinta"
        assert got[name]["address"] == d.address


@pytest.mark.conv("CONV-III.2", id="pipeline::lista_publica_de_difusores")
def test_lista_publica_de_difusores(host, publisher):
    """Lista pública de difusores (HTML y JSON) generada por el publicador"""
    path = f"{publisher.host.state_dir}/lista/difusores.json"
    if not host.file(path).exists:
        not_applicable("el publicador aún no ha publicado ningún corte")
    data = json.loads(host.file(path).content_string)
    for d in data["difusores"]:
        assert (d["estado"] == "suspendido") == (d["url"] is None), d
