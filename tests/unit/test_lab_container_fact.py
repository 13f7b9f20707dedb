"""The container fact's process(): from raw probe lines to what a container forbids."""

from prep_iac.facts.container import Container

NSPAWN = """detect_virt=systemd-nspawn
run_container=systemd-nspawn
pid1_container=systemd-nspawn
uid=0
proc_sys_mount=ro
sysctl_kernel/randomize_va_space=readonly
sysctl_vm/swappiness=readonly
capbnd=00000000fcecbfff
loop=nocontrol
audit=nosocket:EAFNOSUPPORT""".splitlines()

VM = """detect_virt=none
pid1_container=
uid=0
proc_sys_mount=
sysctl_kernel/randomize_va_space=writable
sysctl_vm/swappiness=writable
capbnd=000001ffffffffff
loop=ok
audit=ok""".splitlines()


def test_nspawn_forbids_sysctls_auditd_and_timesync():
    fact = Container().process(NSPAWN)
    assert fact["container"] == "systemd-nspawn"
    assert set(fact["forbids"]) == {"kernel_sysctl", "auditd", "timesync", "loop_filesystem"}
    assert "no loop devices" in fact["forbids"]["loop_filesystem"]
    assert "read-only" in fact["forbids"]["kernel_sysctl"]
    assert "CAP_SYS_TIME" in fact["forbids"]["timesync"]


def test_a_machine_forbids_nothing():
    fact = Container().process(VM)
    assert fact == {"container": None, "forbids": {}, "probes": fact["probes"]}


def test_probes_decide_not_the_label():
    # A runtime that calls itself a container but lets us do everything forbids nothing.
    fact = Container().process([line.replace("none", "docker") for line in VM])
    assert fact["container"] == "docker" and fact["forbids"] == {}


def test_audit_refused_outside_the_initial_pid_namespace():
    lines = [line if not line.startswith("audit=") else "audit=error:ECONNREFUSED"
             for line in VM]
    assert "initial pid namespace" in Container().process(lines)["forbids"]["auditd"]


def test_non_root_sysctl_probe_trusts_the_mount_only():
    lines = [line.replace("uid=0", "uid=1000").replace("writable", "readonly") for line in VM]
    assert "kernel_sysctl" not in Container().process(lines)["forbids"]


def test_empty_output_is_the_default_shape():
    fact = Container().process([])
    assert fact["container"] is None and set(fact) == {"container", "forbids", "probes"}
    assert Container.default() == {"container": None, "forbids": {}, "probes": {}}


def test_a_loop_control_without_a_free_device_node_forbids_the_jail_filesystem():
    # A container given /dev/loop-control but not the node the kernel hands out.
    lines = [line if not line.startswith("loop=") else "loop=nofree:/dev/loop9" for line in VM]
    assert "/dev/loop9" in Container().process(lines)["forbids"]["loop_filesystem"]


def test_a_host_that_was_not_probed_for_loop_devices_gets_no_filesystem():
    lines = [line for line in VM if not line.startswith("loop=")]
    assert "loop_filesystem" in Container().process(lines)["forbids"]


def test_the_jails_mount_unit_and_image_size():
    from prep_iac.components.sftp_jail import MIB, filesystem_bytes, mount_unit_name

    assert mount_unit_name("/srv/sftp/iec/incoming") == "srv-sftp-iec-incoming.mount"
    assert mount_unit_name("/srv/a-b/x") == "srv-a\\x2db-x.mount"  # as systemd-escape --path
    assert filesystem_bytes(16) == 96 * MIB  # the byte budget: 2 x 16 MiB + 64 MiB
    assert filesystem_bytes(16) % MIB == 0
