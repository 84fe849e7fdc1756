#!/usr/bin/env bash
# switchboard's test command: installs the test peers if missing, then runs
# formatting, lints, the build and every test (unit, property, simulated-clock
# scenarios, interop with SIPp and baresip on 127.0.0.1).
#
# Meant for a Debian machine with the Rust toolchain, gcc and Python, run as
# root (or with sudo available) the first time so apt can install packages.
# Re-runs skip the install. Any failure stops the run with a non-zero exit.
#
#   bash scripts/test.sh
#
# Environment:
#   SWITCHBOARD_SKIP_INSTALL=1   do not check or install Debian packages
#   SWITCHBOARD_TEST_KEEP=1      keep every interop test's temp files
#   CARGO_TEST_ARGS="..."        extra arguments after `cargo test --workspace`
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

started=$SECONDS
step() {
    # step NAME CMD...: run a command, time it, fail loudly.
    local name=$1
    shift
    say "$name: $*"
    local t0=$SECONDS
    "$@" || fail "$name (exit $?): $*"
    printf '    (%s: %ds)\n' "$name" $((SECONDS - t0))
}

# --- test peers from Debian ------------------------------------------------
# sip-tester: sipp and its sample RTP captures (/usr/share/sip-tester/*.pcap)
# baresip, baresip-core: the softphone and its modules (ctrl_tcp, aufile,
#   sndfile, g711, alsa); --no-install-recommends keeps the GUI/video
#   plugins of the `baresip` metapackage out
# sox: inspecting recordings by hand (`sox file.wav -n stat`)
# procps: kill(1), used to stop peers with SIGTERM so they close recordings
packages=(sip-tester baresip baresip-core sox procps)

# Files the tests need; if one is missing its package is (re)installed.
need_files=(
    /usr/bin/sipp
    /usr/share/sip-tester/g711a.pcap
    /usr/share/sip-tester/dtmf_2833_1.pcap
    /usr/bin/baresip
    /usr/lib/baresip/modules/ctrl_tcp.so
    /usr/lib/baresip/modules/aufile.so
    /usr/lib/baresip/modules/sndfile.so
    /usr/lib/baresip/modules/g711.so
    /usr/lib/baresip/modules/alsa.so
    /usr/lib/baresip/modules/account.so
    /usr/lib/baresip/modules/menu.so
    /usr/bin/sox
    /bin/kill
)

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

install_peers() {
    local missing=()
    local p
    for p in "${packages[@]}"; do
        installed "$p" || missing+=("$p")
    done
    local f
    for f in "${need_files[@]}"; do
        if [ ! -e "$f" ]; then
            case "$f" in
                /usr/bin/sipp | /usr/share/sip-tester/*) p=sip-tester ;;
                /usr/bin/baresip | /usr/lib/baresip/*) p=baresip-core ;;
                /usr/bin/sox) p=sox ;;
                /bin/kill) p=procps ;;
            esac
            printf '    missing %s (package %s)\n' "$f" "$p"
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "test peers present: ${packages[*]}"
        return 0
    fi
    # De-duplicate, keep order.
    local uniq=() seen=" "
    for p in "${missing[@]}"; do
        case "$seen" in *" $p "*) ;; *) uniq+=("$p"); seen="$seen$p " ;; esac
    done
    command -v apt-get >/dev/null || fail "need ${uniq[*]} but apt-get is not available (not Debian?)"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || fail "need root (or sudo) to install ${uniq[*]}"
        sudo=(sudo)
    fi
    step "apt-get update" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    step "install ${uniq[*]}" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${uniq[@]}"
    for f in "${need_files[@]}"; do
        [ -e "$f" ] || fail "still missing $f after installing ${uniq[*]}"
    done
}

if [ "${SWITCHBOARD_SKIP_INSTALL:-0}" = 1 ]; then
    say "skipping package checks (SWITCHBOARD_SKIP_INSTALL=1)"
else
    install_peers
fi

# --- Rust toolchain pieces --------------------------------------------------
command -v cargo >/dev/null || fail "cargo not found: install the Rust toolchain (rustup)"
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || fail "cargo fmt/clippy missing and no rustup to add them"
    step "rustup components" rustup component add rustfmt clippy
fi

# --- checks and tests ------------------------------------------------------
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
step "format" cargo fmt --all --check
step "clippy" cargo clippy --workspace --all-targets -- -D warnings
step "build" cargo build --bin switchboard
# Every wait in the interop harness has its own deadline; this outer bound
# only catches a hung process so CI never sits for hours.
# shellcheck disable=SC2086 # CARGO_TEST_ARGS is split on purpose
# The interop harness would build the switch itself; it was just built.
export SWITCHBOARD_NO_BUILD=1
step "test" timeout --signal=TERM --kill-after=30s 45m cargo test --workspace ${CARGO_TEST_ARGS:-}

say "all passed in $((SECONDS - started))s"
