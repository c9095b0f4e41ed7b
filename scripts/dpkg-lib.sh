# shellcheck shell=bash
# dpkg-lib.sh - sourced by the install scripts: which Debian packages are installed.
# The caller defines log().

# installed PKG: "install ok installed" is the only state that counts (rc/un/half-configured don't).
installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# find_missing PKG...: logs each package present (with its version); the others go into the array `missing`.
find_missing() {
    missing=()
    local p
    for p in "$@"; do
        if installed "$p"; then
            log "present: $p ($(dpkg-query -W -f='${Version}' "$p"))"
        else
            missing+=("$p")
        fi
    done
}
