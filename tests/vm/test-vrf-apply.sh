#!/bin/bash
# nsmgr's VRF example (conf/vrf.conf) on a kernel that has VRF: apply makes
# the VRF inside the namespace with eth0 enslaved and its routes in table
# 100, a process started in the VRF sees those routes and reaches the host
# through them, and a second apply changes nothing.
# vm-files: tests/vm/lib.sh conf/vrf.conf
set -euo pipefail
. /test/lib.sh

ok ip link set lo up
expect 'create vrf vrf-blue, table 100' nsmgrctl apply -c /test/vrf.conf
expect '^vrf-blue +100' ip -n vrfdemo vrf show
expect 'eth0.*master vrf-blue' ip -n vrfdemo link show master vrf-blue
expect '^default via 198\.18\.40\.1 dev eth0' ip -n vrfdemo route show vrf vrf-blue
expect '^198\.18\.41\.0/24 via 198\.18\.40\.1 dev eth0 .*metric 10' ip -n vrfdemo route show table 100
# The main table knows nothing of it: the routes are the VRF's.
reject '^default' ip -n vrfdemo route show table main

# A process started inside the VRF sees its routes and reaches the host.
expect 'via 198\.18\.40\.1 dev eth0 table 100' ip -n vrfdemo route get 198.18.41.7 vrf vrf-blue
expect ' 0% packet loss' ip netns exec vrfdemo ip vrf exec vrf-blue ping -c1 -W2 198.18.40.1

expect '^nothing to change$' nsmgrctl apply -c /test/vrf.conf

# Out of the VRF: the config drops eth0 from its members.
sed 's/members = \[ "eth0" \]/members = [ ]/; /table = 100; }/d; /table = 100; metric = 10; }/d; s/routes = (/routes = ( { to = "198.18.42.0\/24"; via = "198.18.40.1"; }/' /test/vrf.conf > /test/novrf.conf
expect 'release eth0 from VRF vrf-blue' nsmgrctl apply -c /test/novrf.conf
reject 'master' ip -n vrfdemo link show eth0
expect '^nothing to change$' nsmgrctl apply -c /test/novrf.conf

# Tear-down: an empty config removes what apply made.
: > /test/empty.conf
expect 'delete namespace' nsmgrctl apply -c /test/empty.conf
reject 'vrfdemo' ip netns list
echo "VRF apply: ok"
