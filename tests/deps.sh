#!/bin/bash
# Installs the Debian packages nsmgr's build and tests need, if missing.
set -euo pipefail
pkgs=(
        make gcc pkg-config
        libnl-3-dev libnl-route-3-dev libconfig-dev libsystemd-dev libjson-c-dev
        libnftables-dev libcmocka-dev
        iproute2 nftables util-linux iputils-ping procps python3 python3-pytest strace
        systemd  # tests/lib/systemd_sandbox.py
        bash-completion zsh  # tests/system/test_cli.py: completion as the shells run it
        # tests/system/test_bus.py: a real bus, polkit, busctl and gdbus
        dbus polkitd libglib2.0-bin python3-dbus
        # tests/system/test_runtimes.py: real runtimes, a busybox rootfs, CNI
        runc crun busybox-static containernetworking-plugins podman conmon tar
        # tests/system/test_docker.py: a real dockerd and containerd, in a sandbox
        docker.io containerd iptables docker-compose
        # tests/system/test_cni*.py: containerd's CRI driven by a client made
        # from tests/cri/api.proto at test time; strace checks DEL's order
        python3-grpcio python3-grpc-tools
)
# The tests run their own dockerd and containerd; the machine's stay off.
export APT_INSTALL_NO_BOOT="docker.service docker.socket containerd.service"
exec "$(dirname "$0")/lib/apt-install" tests/deps.sh "${pkgs[@]}"
