#!/bin/sh
# prep-sshd-apply STAGED LIVE: put an sshd drop-in live only if `sshd -t` accepts it.
# On refusal the previous file is restored and the staged copy removed, so the next deploy
# uploads it again (and fails again) instead of silently skipping it.
set -u
staged=$1 live=$2
backup="$live.prep-backup"
if [ -e "$live" ]; then cp -p "$live" "$backup"; fi
cp "$staged" "$live.tmp" && chmod 644 "$live.tmp" && mv -f "$live.tmp" "$live"
if out=$(sshd -t 2>&1); then
    rm -f "$backup"
    # reload, not restart: open sessions (the deploy's own) stay up.
    systemctl reload ssh 2>/dev/null || systemctl reload sshd
    exit $?
fi
if [ -e "$backup" ]; then mv -f "$backup" "$live"; else rm -f "$live"; fi
rm -f "$staged"
echo "sshd -t refused $live; the previous configuration stays: $out" >&2
exit 1
