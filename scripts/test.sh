#!/usr/bin/env bash
# rnc's checks: install the peers the integration tests drive (when missing),
# then rustfmt, clippy and the whole test suite.
#
#   bash scripts/test.sh              # everything
#   bash scripts/test.sh --test eof   # extra arguments go to `cargo test`
#
# The integration tests run the built binary against real clients and peers
# (curl, wget, python3, ncat, nc.openbsd, tinyproxy, microsocks, sshd, ...).
# A test whose peer is missing fails and names the package; it is never
# skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(curl wget openssl ncat netcat-openbsd netcat-traditional socat python3 tinyproxy
    microsocks openssh-client openssh-server)
# sshd by absolute path: /usr/sbin may not be in a non-root PATH.
COMMANDS=(curl wget openssl ncat nc.openbsd nc.traditional socat python3 tinyproxy
    microsocks ssh ssh-keygen /usr/sbin/sshd)

missing=()
for c in "${COMMANDS[@]}"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if ((${#missing[@]})); then
    echo "test.sh: missing ${missing[*]}; installing: ${PACKAGES[*]}" >&2
    if [[ $(id -u) -eq 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "test.sh: not root and no sudo; install as root: apt-get install -y ${PACKAGES[*]}" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: no apt-get; install the equivalents of: ${PACKAGES[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y "${PACKAGES[@]}"
fi

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --all-targets -- -D warnings
echo "== cargo test" >&2
cargo test "$@"
