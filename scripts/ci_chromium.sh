#!/usr/bin/env bash
# Install Debian's Chromium (driven by Playwright with executable_path=/usr/bin/chromium)
# and the fonts pages are rendered with, if missing; and LibreOffice without its GUI, which the
# worker runs to preview the library's office files (tests/documents). As root, Debian 12.
# Prints the Chromium version on stderr; prints nothing on stdout. Never reads stdin.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
packages=(chromium fonts-liberation fonts-dejavu-core
          libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)

log() { printf 'ci_chromium: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- apt, quietly and without questions -------------------------------------------
apt_install() {
    local logfile opts
    logfile=$(mktemp "${TMPDIR:-/tmp}/ci-apt-chromium.XXXXXX.log")
    export DEBIAN_FRONTEND=noninteractive
    opts=(-y -qq --no-install-recommends
          -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=120
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        log "apt package lists are empty: apt-get update"
        apt-get update -qq </dev/null >>"$logfile" 2>&1 \
            || { tail -n 40 "$logfile" >&2; die "apt-get update failed (log: $logfile)"; }
    fi
    if ! apt-get install "${opts[@]}" "$@" </dev/null >>"$logfile" 2>&1; then
        log "apt-get install failed; retrying after apt-get update"
        if ! { apt-get update -qq && apt-get install "${opts[@]}" "$@"; } \
                </dev/null >>"$logfile" 2>&1; then
            tail -n 40 "$logfile" >&2
            die "apt-get install $* failed (log: $logfile)"
        fi
    fi
    rm -f "$logfile"
}

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
if [[ ! -x $CHROMIUM ]]; then
    missing=("${packages[@]}")
else
    for p in "${packages[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
fi
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || die "must run as root to install ${missing[*]}"
    log "installing ${missing[*]}"
    t0=$SECONDS
    apt_install "${missing[@]}"
    log "installed in $((SECONDS - t0)) s"
fi

[[ -x $CHROMIUM ]] || die "$CHROMIUM is missing after installation"
[[ -x /usr/bin/soffice ]] || die "/usr/bin/soffice (LibreOffice) is missing after installation"
# The Debian wrapper prints harmless "[: unexpected operator" noise on stderr: hide it.
version=$("$CHROMIUM" --version 2>/dev/null </dev/null) || die "$CHROMIUM --version failed"
log "$version ($CHROMIUM)"
