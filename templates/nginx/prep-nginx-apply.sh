#!/bin/sh
# Managed by prep-iac (nginx component).
# Puts the staged config (/etc/nginx/prep-staging, same layout as /etc/nginx) live only if
# `nginx -t` accepts it; otherwise restores the previous files, drops the staging copy (so the
# next deploy stages and tries again) and fails with nginx's message. Then reloads nginx.
set -eu
STAGE=/etc/nginx/prep-staging
LIVE=/etc/nginx
BACKUP=$(mktemp -d /run/prep-nginx-apply.XXXXXX)
trap 'rm -rf "$BACKUP"' EXIT

cd "$STAGE"
FILES=$(find . -type f | sed 's|^\./||' | sort)
# Debian's default site also claims default_server on port 80: it goes with the PREP site.
EXTRA_REMOVE=sites-enabled/default

for f in $FILES $EXTRA_REMOVE; do
    if [ -e "$LIVE/$f" ] || [ -L "$LIVE/$f" ]; then
        mkdir -p "$BACKUP/$(dirname "$f")"
        cp -P -p "$LIVE/$f" "$BACKUP/$f"
    else
        echo "$f" >> "$BACKUP/.absent"
    fi
done

restore() {
    for f in $FILES $EXTRA_REMOVE; do
        if [ -e "$BACKUP/$f" ] || [ -L "$BACKUP/$f" ]; then
            rm -f "$LIVE/$f"; cp -P -p "$BACKUP/$f" "$LIVE/$f"
        fi
    done
    if [ -f "$BACKUP/.absent" ]; then
        while read -r f; do rm -f "$LIVE/$f"; done < "$BACKUP/.absent"
    fi
}

for f in $FILES; do
    mkdir -p "$LIVE/$(dirname "$f")"
    # Each file is replaced by rename, never rewritten in place.
    cp -p "$STAGE/$f" "$LIVE/$f.prep-new"
    mv -f "$LIVE/$f.prep-new" "$LIVE/$f"
done
rm -f "$LIVE/$EXTRA_REMOVE"

if ! out=$(nginx -t 2>&1); then
    restore
    rm -rf "$STAGE"
    echo "prep-nginx-apply: nginx rejected the new config; the previous one stays live:" >&2
    echo "$out" >&2
    exit 1
fi

if systemctl is-active --quiet nginx; then
    systemctl reload nginx
else
    systemctl start nginx
fi
echo "prep-nginx-apply: config live ($(echo $FILES | wc -w) files)"
