#!/bin/bash
# Installs the Debian packages make fuzz and make check-fuzz need, if
# missing: clang 14 and its runtimes (libFuzzer, ASan, UBSan).
set -euo pipefail
pkgs=(
        clang-14 libclang-rt-14-dev
)
exec "$(dirname "$0")/../lib/apt-install" tests/fuzz/deps.sh "${pkgs[@]}"
