"""How a drill hands each cut to the publisher: only what changed since the last cut.

A cut of the night's end is ~90 MB, and most of it (the actas' images) is the previous cut's,
hard-linked by the generator. Copying the whole cut every few seconds cost the publisher
more than the push itself; so the publisher's copy of the previous cut is hard-linked
(`cp -al`) under the new cut's dot name, the files that changed or left are removed, the
changed ones arrive in one tar stream, and the rename makes the cut appear whole.
"""

from __future__ import annotations

import os
import shlex
import tarfile
from pathlib import Path
from typing import IO


def files(folder: Path) -> dict[str, os.stat_result]:
    out = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            out[str(path.relative_to(folder))] = path.stat()
    return out


def delta(previous: Path | None, new: Path) -> tuple[list[str], list[str]]:
    """(files to send, files of the previous cut to remove from the linked copy). A file is
    unchanged when it is the same inode as the previous cut's (the generator's hard link)."""
    now = files(new)
    if previous is None:
        return sorted(now), []
    before = files(previous)
    same = {p for p, st in now.items()
            if p in before and (before[p].st_dev, before[p].st_ino) == (st.st_dev, st.st_ino)}
    send = sorted(set(now) - same)
    remove = sorted((set(before) - set(now)) | (set(before) & set(send)))
    return send, remove


def remote_script(drop_dir: str, name: str, previous: str | None, remove: list[str]) -> str:
    """The shell the publisher runs (as the admin, with sudo); the tar arrives on stdin."""
    tmp = shlex.quote(f"{drop_dir}/.{name}")
    final = shlex.quote(f"{drop_dir}/{name}")
    steps = [f"sudo mkdir -p {shlex.quote(drop_dir)}", f"sudo rm -rf {tmp}"]
    if previous is None:
        steps.append(f"sudo mkdir {tmp}")
    else:
        steps.append(f"sudo cp -al {shlex.quote(f'{drop_dir}/{previous}')} {tmp}")
    for start in range(0, len(remove), 200):
        chunk = " ".join(shlex.quote(p) for p in remove[start:start + 200])
        steps.append(f"(cd {tmp} && sudo rm -f -- {chunk})")
    steps += [f"sudo tar -C {tmp} -xf - --no-same-owner", f"sudo chmod -R a+rX {tmp}",
              f"sudo mv -T {tmp} {final}"]
    return " && ".join(steps)


def write_tar(folder: Path, paths: list[str], out: IO[bytes]) -> None:
    with tarfile.open(fileobj=out, mode="w|") as tar:
        for rel in paths:
            tar.add(folder / rel, arcname=rel, recursive=False)
