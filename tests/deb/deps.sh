#!/bin/bash
# Installs the Debian packages `make deb` and `make check-deb` need on this
# machine, if missing: the package's Build-Depends (debian/control) and the
# tools that check the result.
set -euo pipefail
pkgs=(
        dpkg-dev debhelper      # dpkg-buildpackage, dh (compat 13)
        pkg-config systemd      # the unit and tmpfiles.d folders, from systemd.pc
        libnl-3-dev libnl-route-3-dev libconfig-dev libsystemd-dev libjson-c-dev
        libnftables-dev libcmocka-dev
        lintian                 # no errors, known warnings only
        devscripts              # hardening-check
        apt                     # apt-get install ./nsmgr_*.deb in the test's root
        util-linux              # unshare, mount
)
exec "$(dirname "$0")/../lib/apt-install" tests/deb/deps.sh "${pkgs[@]}"
