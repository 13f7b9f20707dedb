"""Machine limits the lab raises (never lowers) before booting hosts.

Every lab host's systemd, and every path unit in it, uses inotify instances of root on this
machine: with the default 128 a dozen hosts exhaust them and path units fail to start
("Too many open files"), as a container host would see too."""

from pathlib import Path

INOTIFY = {"/proc/sys/fs/inotify/max_user_instances": 8192,
           "/proc/sys/fs/inotify/max_user_watches": 524288}


def raise_limits() -> None:
    for knob, wanted in INOTIFY.items():
        path = Path(knob)
        if int(path.read_text()) < wanted:
            path.write_text(str(wanted))
