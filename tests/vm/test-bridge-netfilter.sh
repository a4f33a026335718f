#!/bin/bash
# Debian's kernel, where bridge netfilter is the module dockerd loads
# (br_netfilter): once it is there, the net.bridge.bridge-nf-call-* sysctls
# are 1 and every bridge's IPv4 passes iptables' FORWARD, whatever the
# bridge's own nf_call_iptables says (nsmgr makes it 0). With a FORWARD
# policy of drop, as dockerd sets it, two namespaces on an nsmgr bridge
# reach their gateway but not each other, until nsmgr.conf declares the
# sysctls off. (tests/system/test_docker.py shows the same with a real
# dockerd on a kernel that has bridge netfilter built in.)
# vm-files: tests/vm/lib.sh conf/bridge-tutorial.conf
# vm-modules: crc32c_generic br_netfilter nf_tables
# vm-binaries: nft
set -euo pipefail
. /test/lib.sh

ping1() {
        ip netns exec "$1" /bin/busybox ping -c1 -W1 "$2" >/dev/null
}

ok ip link set lo up
[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)" = 1 ] || fail "br_netfilter is not loaded, or its sysctl is off"
ok nsmgrctl apply -c /test/bridge-tutorial.conf
expect '"nf_call_iptables":0' ip -j -d link show br-study
ok ping1 red 198.18.10.2

# What dockerd does to the host's filter table.
ok nft add table ip filter
ok nft 'add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }'
ok ping1 red 198.18.10.254
fails ping1 red 198.18.10.2

# Declared off in nsmgr.conf: the bridge works, the drop policy stays.
sed 's/^host = {/host = {\n  sysctls = [ "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0" ];/' \
        /test/bridge-tutorial.conf > /tmp/off.conf
expect 'net.bridge.bridge-nf-call-iptables' nsmgrctl apply -c /tmp/off.conf
[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)" = 0 ] || fail "the sysctl is still on"
ok ping1 red 198.18.10.2
ok ping1 blue 198.18.10.1
expect 'policy drop' nft list chain ip filter FORWARD
echo "bridge netfilter: ok"
