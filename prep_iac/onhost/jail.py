"""What the uploader left in the jail's incoming/, as root observes it.

Anything an SFTP account can make may be there: folders and files of any name (newlines,
control characters, bytes that are not UTF-8, 255 bytes long), of any size (sparse ones
too) and with any time it likes. Nothing here trusts a time the uploader set: an entry's
age is counted from when this program first saw it as it is now (kept in seen.json, in the
root-owned state dir), and its size is what lstat says, links never followed.
"""

import errno
import json
import os
import stat
from dataclasses import dataclass

from prep_iac import contract
from prep_iac.onhost.common import read_json, write_atomic

ENTRY_OVERHEAD = 256  # bytes counted per file or folder besides its blocks (its inode)


@dataclass
class Entry:
    """One name directly in incoming/, measured by root."""
    name: str
    kind: str  # "file", "dir", "link" or "other"
    bytes: int  # max(size, blocks) of everything under it, plus ENTRY_OVERHEAD each
    entries: int  # files and folders under it, itself included
    since: float  # when root first saw it as it is now (same inode, size and count)
    measured: bool = True  # False: too deep, too many or unreadable to measure whole


def shown(name):
    """An entry's name for one journal line: escaped (no newline or control character can
    pass), without spaces (REFUSED_RE reads the cut up to the first one), clipped."""
    text = ascii(name).replace(" ", "\\x20")
    return text if len(text) <= 120 else text[:119] + "…"


def upload_of(name):
    """The upload an entry of incoming/ belongs to: its cut id, or whatever the name says."""
    for suffix in (contract.SIGNATURE_SUFFIX, contract.MANIFEST_SUFFIX):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    if name.endswith(contract.MARKER_SUFFIX):
        base = name[:-len(contract.MARKER_SUFFIX)]
        return base.removeprefix(".")
    return name


def is_marker(name):
    """A complete upload's marker name (a dot name is a marker still being written)."""
    return name.endswith(contract.MARKER_SUFFIX) and not name.startswith(".")


def _cost(st):
    return max(st.st_size, st.st_blocks * 512) + ENTRY_OVERHEAD


def _kind(st):
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    return "link" if stat.S_ISLNK(st.st_mode) else "other"


DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK


def walk(dir_fd, name, *, remove=False, limit=None):
    """(bytes, entries, whole) of what is under the folder dir_fd/name, at any depth (an
    uploader's renames can nest folders past PATH_MAX) with two descriptors open at most:
    down by name with O_NOFOLLOW, up by '..' checked against the folder it came from (a
    folder moved meanwhile stops the walk: never anywhere else). remove=True unlinks every
    file met and every folder once emptied (not dir_fd/name itself)."""
    total = count = 0
    whole = True
    try:
        cur = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return 0, 0, True
    except OSError:
        return 0, 0, False

    def scan(fd):
        nonlocal total, count, whole
        folders = []
        try:
            with os.scandir(fd) as it:
                children = list(it)
        except OSError:
            whole = False
            return folders
        for child in children:
            try:
                cst = child.stat(follow_symlinks=False)
            except OSError:
                continue  # gone meanwhile
            total += _cost(cst)
            count += 1
            if stat.S_ISDIR(cst.st_mode):
                folders.append(child.name)
            elif remove:
                try:
                    os.unlink(child.name, dir_fd=fd)
                except OSError:
                    whole = False
        return folders

    def ident(fd):
        st = os.fstat(fd)
        return st.st_dev, st.st_ino

    levels = [[name, ident(cur), scan(cur)]]  # [name, (dev, inode), folders still to visit]
    try:
        while levels:
            if limit is not None and count > limit:
                return total, count, False
            todo = levels[-1][2]
            if todo:
                child = todo.pop()
                try:
                    down = os.open(child, DIR_FLAGS, dir_fd=cur)
                except FileNotFoundError:
                    continue
                except OSError:
                    whole = False
                    continue
                os.close(cur)
                cur = down
                levels.append([child, ident(cur), scan(cur)])
                continue
            done = levels.pop()
            if not levels:
                break
            up = os.open("..", DIR_FLAGS, dir_fd=cur)
            os.close(cur)
            cur = up
            if ident(cur) != levels[-1][1]:
                return total, count, False  # moved while walked: stop here
            if remove:
                try:
                    os.rmdir(done[0], dir_fd=cur)
                except OSError:
                    whole = False
    except OSError:
        return total, count, False
    finally:
        os.close(cur)
    return total, count, whole


def measure(dir_fd, name, st, limit):
    """(bytes, entries, whole) of dir_fd/name, itself included."""
    if not stat.S_ISDIR(st.st_mode):
        return _cost(st), 1, True
    total, count, whole = walk(dir_fd, name, limit=limit)
    return total + _cost(st), count + 1, whole


def _key(name):
    return os.fsencode(name).hex()  # any name, even one that is not UTF-8, as a JSON key


def seen_path(cfg):
    return os.path.join(cfg.state_dir, contract.ACTIVATOR_SEEN_NAME)


def observe(cfg, now):
    """Every entry of incoming/, measured, with the time root first saw it as it is now.
    Updates seen.json (only the names present now are kept)."""
    try:
        dir_fd = os.open(cfg.incoming, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return []
    seen = read_json(seen_path(cfg))
    entries, record = [], {}
    try:
        for name in os.listdir(dir_fd):
            try:
                st = os.lstat(name, dir_fd=dir_fd)
            except FileNotFoundError:
                continue
            size, count, whole = measure(dir_fd, name, st, cfg.jail_budget_entries)
            fingerprint = [st.st_ino, size, count]
            old = seen.get(_key(name))
            since = now
            if isinstance(old, dict) and old.get("fp") == fingerprint and \
                    isinstance(old.get("since"), (int, float)) and old["since"] <= now:
                since = old["since"]
            record[_key(name)] = {"fp": fingerprint, "since": since}
            entries.append(Entry(name, _kind(st), size, count, since, whole))
    finally:
        os.close(dir_fd)
    os.makedirs(cfg.state_dir, mode=0o700, exist_ok=True)
    write_atomic(seen_path(cfg), (json.dumps(record, sort_keys=True) + "\n").encode(), 0o600)
    return entries


def remove_entry(cfg, name):
    """Remove incoming/<name> whatever it is (file, folder of any depth, link, FIFO), never
    following a link; True once it is gone. Never raises: one entry must not stop the rest."""
    try:
        dir_fd = os.open(cfg.incoming, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        for _ in range(3):  # the uploader may still be writing into it
            try:
                os.unlink(name, dir_fd=dir_fd)
                return True
            except FileNotFoundError:
                return True
            except OSError as exc:
                if exc.errno not in (errno.EISDIR, errno.EPERM):
                    return False
            walk(dir_fd, name, remove=True)
            try:
                os.rmdir(name, dir_fd=dir_fd)
                return True
            except FileNotFoundError:
                return True
            except OSError:
                continue
        return False
    finally:
        os.close(dir_fd)
