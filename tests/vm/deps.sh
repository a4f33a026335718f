#!/bin/bash
# Installs the Debian packages tests/vm/run-in-vm needs on this machine, if
# missing. The guest's kernel is not one of them: run-in-vm fetches it with
# `apt-get download` into tests/vm/cache/, leaving /boot and /lib/modules alone.
set -euo pipefail
pkgs=(
        qemu-system-x86         # qemu-system-x86_64 and qboot
        busybox-static          # the guest's userland
        kmod                    # depmod for the unpacked kernel
        iproute2 bash dash coreutils findutils util-linux  # the guest's real tools
        python3                 # run-in-vm
)
missing=()
for p in "${pkgs[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing: ${missing[*]}"
        if [ "$(id -u)" != 0 ]; then
                echo "tests/vm/deps.sh: installing packages needs root; run: sudo apt-get install ${missing[*]}" >&2
                exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
