#!/usr/bin/env bash
# Installs the Debian packages intake builds against, if any are missing. Called by every
# Makefile target that builds, so `make run` and `make test` work on a fresh Debian machine.
set -euo pipefail

packages=(libturbojpeg0-dev libpng-dev libgif-dev libwebp-dev libtiff-dev libheif-dev libexif-dev libsqlite3-dev libpq-dev libssl-dev pkg-config)
# From Debian 13 on, libheif's decoders are plugins that libheif1 only recommends (12's depends
# on them), and recommendations are not installed here: HEIC needs libde265's.
. /etc/os-release 2>/dev/null || true
if [[ "${ID:-}" == debian && "${VERSION_ID:-0}" =~ ^[0-9]+$ ]] && ((VERSION_ID >= 13)); then
    packages+=(libheif-plugin-libde265)
fi
case "${1:-}" in
    # GNU time measures the contenders' peak RSS (bench/benchlib.py).
    --bench) packages+=(python3 python3-venv time) ;;
    # The HTML report is checked in a real headless browser; the sqlite3 shell is the other
    # writer that locks the database under a running daemon; curl speaks to a real `intake serve`;
    # GNU time measures a child's peak memory; python3 plays a client that stalls; postgresql's
    # initdb and pg_ctl start the throw-away clusters the shared-store tests run against; ExifTool
    # is the reference the EXIF agreement test compares intake's EXIF with.
    --test) packages+=(chromium sqlite3 curl time python3 postgresql libimage-exiftool-perl) ;;
esac

# promtool checks the shipped alerting rules. It is unpacked from Debian's prometheus package
# into .build/tools rather than installed: installing would also set up (and start) a server.
fetch_promtool() {
    local tools root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    tools="$root/.build/tools"
    command -v promtool >/dev/null && return 0
    [[ -x "$tools/promtool" ]] && return 0
    command -v apt-get >/dev/null || return 0
    local scratch
    scratch="$(mktemp -d)"
    if (cd "$scratch" && apt-get download prometheus >/dev/null 2>&1) && dpkg-deb -x "$scratch"/prometheus_*.deb "$scratch/x"; then
        mkdir -p "$tools" && cp "$scratch/x/usr/bin/promtool" "$tools/promtool"
    else
        echo "promtool could not be fetched; the alerting rules' test will say skipped" >&2
    fi
    rm -rf "$scratch"
}
# After the packages, whose install refreshes apt's lists on a fresh machine; also when none is missing.
[[ "${1:-}" == "--test" ]] && trap fetch_promtool EXIT

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

if ! command -v apt-get >/dev/null; then
    echo "intake needs these packages and cannot install them without apt-get: ${missing[*]}" >&2
    exit 1
fi
sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "installing ${missing[*]} needs root; run as root or install sudo" >&2; exit 1; }
    sudo=(sudo)
fi
echo "Installing missing packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
