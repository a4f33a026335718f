#!/bin/bash
# nsmgrctl runs in the guest (its shared libraries are there) and does its
# basic job: create, list, exec, delete, as `ip netns` sees it.
# vm-files: tests/vm/lib.sh
set -euo pipefail
. /test/lib.sh

expect '^/run/netns/red$' nsmgrctl create red
expect '"name": *"red"' nsmgrctl list --json
expect '"managed": *true' nsmgrctl list --json
expect '^red( |$)' ip netns list
expect '^nsfs$' stat -f -c %T /run/netns/red
expect '^lo +UNKNOWN' nsmgrctl exec red -- ip -br link
# A VRF in a namespace nsmgr made.
ok ip -n red link add vrf-blue type vrf table 100
expect 'vrf table 100' ip -n red -d link show vrf-blue
ok nsmgrctl delete red
reject '^red( |$)' ip netns list
[ ! -e /run/netns/red ] || fail "/run/netns/red is still there"
echo "nsmgrctl smoke: all good"
