#!/bin/bash
# Installs the Debian packages the benchmarks need, if missing: the tools
# nsmgr is measured against (iproute2, Debian's CNI plugins), gnuplot for
# the plot, and perf and valgrind for the profiles in the README.
set -euo pipefail
pkgs=(
        iproute2 containernetworking-plugins util-linux python3
        gnuplot-nox linux-perf valgrind
)
exec "$(dirname "$0")/../tests/lib/apt-install" bench/deps.sh "${pkgs[@]}"
