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
exec "$(dirname "$0")/../lib/apt-install" tests/vm/deps.sh "${pkgs[@]}"
