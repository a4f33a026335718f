#!/bin/bash
# Installs the Debian packages nsmgr's build and tests need, if missing.
set -euo pipefail
pkgs=(
        make gcc pkg-config
        libnl-3-dev libnl-route-3-dev libconfig-dev libsystemd-dev libjson-c-dev
        libnftables-dev libcmocka-dev
        iproute2 nftables util-linux iputils-ping procps python3 python3-pytest
        systemd  # tests/lib/systemd_sandbox.py
        # tests/system/test_runtimes.py: real runtimes, a busybox rootfs, CNI
        runc crun busybox-static containernetworking-plugins podman conmon tar
)
missing=()
for p in "${pkgs[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing: ${missing[*]}"
        if [ "$(id -u)" != 0 ]; then
                echo "tests/deps.sh: installing packages needs root; run: sudo apt-get install ${missing[*]}" >&2
                exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
