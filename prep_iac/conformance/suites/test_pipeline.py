"""The cut pipeline on a host (testinfra, with sudo).

Difusor: the IEC's SFTP jail (CONV-II.a.1), the activator that admits only signed cuts
(CONV-I.9), and the served cut byte-identical to its signed manifest (CONV-I.3).
Publisher: the service that pushes every period (CONV-III.1) and its ledger (CONV-III.2).
"""

import json
import shlex

import pytest

from prep_iac.components import activator as act
from prep_iac.components import publisher as pub
from prep_iac.components import sftp_jail as jail
from prep_iac.conformance.suites.checks import not_applicable
from prep_iac.publish.signing import allowed_signers


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
    return str(next(net.hosts(), net.network_address))


# ---- difusor: the jail (CONV-II.a.1) ------------------------------------------------------

@pytest.mark.conv("CONV-II.a.1")
def test_cuenta_sftp_del_iec(host, difusor):
    """Cuenta del IEC: sin shell, sin contraseña, en el grupo prep-sftp"""
    user = difusor.iec.jail_user
    u = host.user(user)
    assert u.exists, f"no existe la cuenta {user}"
    assert u.shell in ("/usr/sbin/nologin", "/bin/false"), f"{user} tiene shell {u.shell}"
    assert jail.GROUP in u.groups, f"{user} no está en el grupo {jail.GROUP}"
    pw = host.check_output(f"getent shadow {shlex.quote(user)}").split(":")[1]
    assert pw.startswith(("!", "*")), f"{user} tiene contraseña"


@pytest.mark.conv("CONV-II.a.1")
def test_jaula_de_root(host, difusor):
    """Jaula: /srv/sftp/iec de root; escribe sólo incoming/, lee estado/"""
    for path in ("/srv", "/srv/sftp", jail.JAIL):
        f = host.file(path)
        assert f.is_directory and f.user == "root" and not f.mode & 0o022, (
            f"{path}: {f.user} {oct(f.mode)} (debe ser de root y no escribible por otros)")
    inc = host.file(f"{jail.JAIL}/incoming")
    assert inc.user == difusor.iec.jail_user and inc.mode & 0o077 == 0, (
        f"incoming/: {inc.user} {oct(inc.mode)}")
    est = host.file(f"{jail.JAIL}/estado")
    assert est.user == "root" and not est.mode & 0o022, f"estado/: {est.user} {oct(est.mode)}"


@pytest.mark.conv("CONV-II.a.1")
def test_sshd_jaula_solo_sftp(host, difusor):
    """sshd: chroot, sólo internal-sftp sin symlink/hardlink, sin tty ni reenvíos, sólo llaves"""
    iec = difusor.iec
    conf = sshd_for(host, iec.jail_user, first_source_address(iec.sources))
    assert conf.get("chrootdirectory") == jail.JAIL
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


@pytest.mark.conv("CONV-II.a.1")
def test_sshd_jaula_solo_desde_el_iec(host, difusor):
    """sshd: la cuenta del IEC no puede autenticarse desde fuera de iec.sources"""
    addr = outside(difusor.iec.sources)
    if addr is None:
        not_applicable("iec.sources cubre todas las direcciones de prueba")
    conf = sshd_for(host, difusor.iec.jail_user, addr)
    assert conf.get("pubkeyauthentication") == "no" and conf.get("authorizedkeysfile") == "none"


@pytest.mark.conv("CONV-II.a.1")
def test_sftp_de_admins_intacto(host, difusor):
    """Los administradores conservan su sftp-server (sin chroot)"""
    admin = difusor.admins.accounts[0].name
    conf = sshd_for(host, admin, first_source_address(difusor.admins.networks))
    assert conf.get("chrootdirectory", "none") == "none"
    assert conf.get("forcecommand", "none") == "none"
    assert conf.get("subsystem", "").startswith("sftp ")


# ---- difusor: the activator (CONV-I.9) and the served cut (CONV-I.3) ---------------------

@pytest.mark.conv("CONV-I.9")
def test_activador_instalado(host, difusor):
    """Activador: firmantes del IEC, límites del inventario, unidad path y temporizador activos"""
    signers = host.file(f"{act.ETC}/allowed_signers").content_string
    assert signers == allowed_signers(list(difusor.iec.signers)), (
        "allowed_signers no coincide con iec.signers del inventario")
    cfg = json.loads(host.file(f"{act.ETC}/config.json").content_string)
    assert cfg == act.settings(difusor.iec), "config.json del activador difiere del inventario"
    assert host.file(act.PROGRAM).user == "root"
    for unit in ("prep-activator.path", "prep-activator-sweep.timer"):
        s = host.service(unit)
        assert s.is_enabled and s.is_running, f"{unit} no está habilitada y activa"


@pytest.mark.conv("CONV-I.3", "CONV-I.9")
def test_corte_servido_identico_al_manifiesto(host, difusor):
    """El corte servido es idéntico, archivo por archivo, a su manifiesto firmado"""
    # One script resolves `current` once and checks that cut's own directory: a new cut may
    # be switched in while the files are hashed (every few seconds in a drill), and the
    # directory of a cut never changes. estado.json is written just after a switch, so it is
    # read between two resolutions that agree.
    script = (
        "import hashlib,json,os,sys,time\n"
        "for _ in range(5):\n"
        "  if not os.path.islink('/srv/prep/current'): print('NONE'); sys.exit()\n"
        "  base=os.path.realpath('/srv/prep/current')\n"
        "  estado=json.load(open('/srv/prep/estado.json')).get('corte')\n"
        "  if base==os.path.realpath('/srv/prep/current') and estado==os.path.basename(base):\n"
        "    break\n"
        "  time.sleep(0.5)\n"
        "cut=os.path.basename(base)\n"
        f"m=json.load(open('{act.STATE_DIR}/manifiestos/'+cut+'.json'))\n"
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

@pytest.mark.conv("CONV-III.1")
def test_publicador_cada_periodo(host, publisher):
    """Publicador: temporizador cada periodo, unidad path sobre la carpeta de entrega"""
    for unit in ("prep-publisher.timer", "prep-publisher.path"):
        s = host.service(unit)
        assert s.is_enabled and s.is_running, f"{unit} no está habilitada y activa"
    timer = host.file("/etc/systemd/system/prep-publisher.timer").content_string
    assert f"OnUnitActiveSec={publisher.iec.period_s}" in timer


@pytest.mark.conv("CONV-III.1")
def test_llaves_del_iec_protegidas(host, publisher):
    """Llaves del IEC (SFTP y firma): 0600, sólo la cuenta del servicio"""
    for name in ("iec_sftp", "iec_firma"):
        f = host.file(f"{pub.KEYS}/{name}")
        assert f.exists and f.user == pub.USER and f.mode == 0o600, (
            f"{f.path}: {f.user} {oct(f.mode)}")


@pytest.mark.conv("CONV-III.1", "CONV-III.2")
def test_registro_con_llaves_fijadas(host, publisher):
    """Registro de difusores: todos los del inventario, con su llave de host fijada y contacto"""
    reg = json.loads(host.file(pub.REGISTRY).content_string)
    got = {d["name"]: d for d in reg["difusores"]}
    inv = publisher.inventory.difusores
    assert set(got) == set(inv), f"registro {sorted(got)} ≠ inventario {sorted(inv)}"
    for name, d in inv.items():
        assert got[name]["host_key"] == d.host_key, f"{name}: llave de host distinta"
        assert got[name]["address"] == d.address


@pytest.mark.conv("CONV-III.2")
def test_lista_publica_de_difusores(host, publisher):
    """Lista pública de difusores (HTML y JSON) generada por el publicador"""
    path = f"{publisher.host.state_dir}/lista/difusores.json"
    if not host.file(path).exists:
        not_applicable("el publicador aún no ha publicado ningún corte")
    data = json.loads(host.file(path).content_string)
    for d in data["difusores"]:
        assert (d["estado"] == "suspendido") == (d["url"] is None), d
