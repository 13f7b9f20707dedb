# prep-iac (conffiles component, docs/security.md "Debian's own files"). Sourced into one
# command per file: `restore PATH` or `divert PATH TO`. Decides on the host, at run time
# (the package may have been installed by this same deploy).
set -eu
KEEP=__KEEP__

md5() { md5sum < "$1" 2>/dev/null | cut -d' ' -f1 || true; }
owner() { dpkg-query -S "$1" 2>/dev/null | grep -v diversion | head -n1 | cut -d: -f1; }
shipped() { dpkg-query -W -f='${Conffiles}\n' "$1" | awk -v p="$2" '$1 == p {print $2}'; }

# keep PATH WHY: a copy in $KEEP (never lost), and a line in the journal.
keep() {
    [ -e "$1" ] || return 0
    mkdir -p -m 700 "$KEEP"
    k="$KEEP/$(echo "${1#/}" | tr / _).$(date -u +%Y%m%dT%H%M%SZ)"
    cp -a "$1" "$k"
    logger -t prep-iac "$1: $2; the previous file is kept as $k"
    echo "prep-iac: $1: $2; the previous file is kept as $k"
}

# pristine PACKAGE PATH DEST MD5: the installed version's PATH, from its .deb, into DEST;
# checked against the checksum dpkg recorded. No maintainer script runs, nothing restarts.
pristine() {
    d=$(mktemp -d)
    v=$(dpkg-query -W -f='${Version}' "$1")
    if ! (cd "$d" && apt-get download -q -o APT::Sandbox::User=root "$1=$v" >/dev/null 2>&1); then
        cp /var/cache/apt/archives/"$1"_*.deb "$d"/ 2>/dev/null || true
    fi
    deb=$(ls "$d"/"$1"_*.deb 2>/dev/null | head -n1)
    if [ -z "$deb" ]; then
        rm -rf "$d"
        echo "prep-iac: cannot fetch $1 $v to restore $2: check the host's apt sources" >&2
        exit 1
    fi
    dpkg-deb -x "$deb" "$d/root"
    if [ "$(md5 "$d/root$2")" != "$4" ]; then
        rm -rf "$d"
        echo "prep-iac: $2 in $1 $v does not match dpkg's record; nothing changed" >&2
        exit 1
    fi
    cp -p "$d/root$2" "$3.prep-new"
    mv -f "$3.prep-new" "$3"
    rm -rf "$d"
}

# restore PATH: a conffile we never change; when it differs from the package's, the
# package's comes back (an earlier prep-iac version, or a hand edit, changed it).
restore() {
    pkg=$(owner "$1")
    [ -n "$pkg" ] || { echo "prep-iac: no installed package ships $1" >&2; exit 1; }
    want=$(shipped "$pkg" "$1")
    [ "$(md5 "$1")" != "$want" ] || return 0
    keep "$1" "the package's own file restored ($pkg)"
    pristine "$pkg" "$1" "$1" "$want"
}

# divert PATH TO: a conffile replaced by ours; dpkg puts the package's versions at TO
# (now and on every upgrade), so an upgrade never asks about PATH.
divert() {
    now=$(dpkg-divert --truename "$1")
    [ "$now" != "$2" ] || return 0
    if [ "$now" != "$1" ]; then
        echo "prep-iac: $1 is already diverted to $now by someone else: remove that" \
             "diversion (dpkg-divert --list) and deploy again" >&2
        exit 1
    fi
    pkg=$(owner "$1")
    [ -n "$pkg" ] || { echo "prep-iac: no installed package ships $1" >&2; exit 1; }
    want=$(shipped "$pkg" "$1")
    if [ "$(md5 "$1")" = "$want" ]; then
        cp -p "$1" "$2.prep-new" && mv -f "$2.prep-new" "$2"
    else
        keep "$1" "replaced by prep-iac's own; the package's own goes to $2 ($pkg)"
        pristine "$pkg" "$1" "$2" "$want"
    fi
    dpkg-divert --quiet --local --divert "$2" --add "$1"
    logger -t prep-iac "$1: diverted to $2 (the package's own file)"
}

# neutralise PATH WHY: a foreign file that overrides a hardened value, moved into $KEEP
# (the daemon no longer reads it; nothing is lost), with a line in the journal.
neutralise() {
    [ -e "$1" ] || [ -L "$1" ] || return 0
    mkdir -p -m 700 "$KEEP"
    k="$KEEP/$(echo "${1#/}" | tr / _).$(date -u +%Y%m%dT%H%M%SZ)"
    mv -f "$1" "$k"
    logger -t prep-iac "$1 neutralised: $2; kept as $k"
    echo "prep-iac: $1 neutralised: $2; kept as $k"
}

# neutralise_table FAMILY NAME WHY: a foreign nftables table, saved into $KEEP, deleted.
neutralise_table() {
    nft list table "$1" "$2" >/dev/null 2>&1 || return 0
    mkdir -p -m 700 "$KEEP"
    k="$KEEP/nftables-table-$1-$2.$(date -u +%Y%m%dT%H%M%SZ).nft"
    nft list table "$1" "$2" > "$k"
    nft delete table "$1" "$2"
    logger -t prep-iac "nftables table $1 $2 neutralised: $3; kept as $k"
    echo "prep-iac: nftables table $1 $2 neutralised: $3; kept as $k"
}
