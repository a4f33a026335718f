#!/bin/bash
# Installs the Debian packages the benchmarks need, if missing: the tools
# nsmgr is measured against (iproute2, Debian's CNI plugins), gnuplot for
# the plot, and perf and valgrind for the profiles in the README.
set -euo pipefail
pkgs=(
        iproute2 containernetworking-plugins util-linux python3
        gnuplot-nox linux-perf valgrind
)
missing=()
for p in "${pkgs[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing: ${missing[*]}"
        if [ "$(id -u)" != 0 ]; then
                echo "bench/deps.sh: installing packages needs root; run: sudo apt-get install ${missing[*]}" >&2
                exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
