#!/bin/sh
# prep-jail-fs IMAGE BYTES: create, or grow (unmounted), the image of the IEC jail's own
# filesystem (prep-iac, sftp_jail component). Its mount unit mounts it on incoming/; what the
# uploader writes past its size fails with "no space" there, never on the host's own disk.
set -eu
image=$1 bytes=$2

# lost+found would be one more entry of incoming/, and the uploader's to touch; e2fsck puts
# it back, so it goes after every check too.
drop_lost_found() { debugfs -w -R "rmdir lost+found" -- "$1" >/dev/null 2>&1; }

if [ ! -e "$image" ]; then
    tmp="$image.new"
    rm -f -- "$tmp"
    mkdir -p -- "$(dirname -- "$image")"
    truncate -s "$bytes" -- "$tmp"
    mkfs.ext4 -q -F -m 0 -L prep-incoming -- "$tmp"
    drop_lost_found "$tmp"
    mv -f -- "$tmp" "$image"
    echo "created $image ($bytes bytes)"
elif [ "$(stat -c %s -- "$image")" -lt "$bytes" ]; then
    # Offline: online growth needs a capability some hosts withhold (CAP_SYS_RESOURCE).
    for dev in $(losetup -n -O NAME -j "$image"); do
        if findmnt -n -S "$dev" >/dev/null; then
            echo "error: $image is mounted; stop its mount unit before growing it" >&2
            exit 1
        fi
        losetup -d "$dev" || true  # still attached just after its unmount (autoclear is lazy)
    done
    rc=0; e2fsck -f -p -- "$image" >/dev/null || rc=$?
    [ "$rc" -le 1 ] || { echo "error: e2fsck found $image damaged (exit $rc)" >&2; exit 1; }
    truncate -s "$bytes" -- "$image"
    resize2fs -- "$image" >/dev/null 2>&1
    drop_lost_found "$image"
    echo "grew $image to $bytes bytes"
fi
