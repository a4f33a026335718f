#!/bin/bash
# The guest's kernel has VRF, and a VRF works inside a named network
# namespace: links enslaved to it, its routing table, `ip vrf exec`.
# Runs in the VM only: tests/vm/run-in-vm tests/vm/test-vrf-smoke.sh
# vm-files: tests/vm/lib.sh
set -euo pipefail
. /test/lib.sh

# A VRF in the initial namespace.
ok ip link add vrf-blue type vrf table 100
ok ip link set vrf-blue up
expect 'vrf table 100' ip -d link show vrf-blue

# A VRF in a namespace, with one end of a veth pair enslaved to it. The
# addresses are a documentation range; the guest has no network card.
ok ip netns add x
ok ip -n x link add vrf-red type vrf table 100
ok ip -n x link set vrf-red up
ok ip link add veth-h type veth peer name veth-x netns x
ok ip -n x link set veth-x master vrf-red
ok ip -n x addr add 198.18.2.2/24 dev veth-x
ok ip -n x link set veth-x up
ok ip addr add 198.18.2.1/24 dev veth-h
ok ip link set veth-h up
ok ip -n x route add 198.19.100.0/24 via 198.18.2.1 vrf vrf-red

expect '^vrf-red +100' ip -n x vrf show
expect 'veth-x.*master vrf-red' ip -n x link show master vrf-red
expect '^198\.19\.100\.0/24 via 198\.18\.2\.1 dev veth-x' ip -n x route show vrf vrf-red
expect '^198\.18\.2\.0/24 dev veth-x' ip -n x route show table 100
# The VRF's routes are in its table, not the namespace's main table.
reject '198\.18\.2\.|198\.19\.100\.' ip -n x route show table main
expect 'via 198\.18\.2\.1 dev veth-x table 100' ip -n x route get 198.19.100.7 vrf vrf-red

# Traffic follows the VRF: from inside it the peer answers, from outside
# it the namespace has no route there.
expect '1 packets received' ip netns exec x ip vrf exec vrf-red ping -c 1 -W 2 198.18.2.1
fails ip netns exec x ping -c 1 -W 1 198.18.2.1
# The VRF in the initial namespace is untouched by the one in x.
expect 'vrf table 100' ip -d link show vrf-blue
reject 'veth' ip link show master vrf-blue

ok ip netns del x
echo "vrf smoke: all good"
