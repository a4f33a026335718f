#!/bin/bash
# A kernel without nftables (this guest loads no nf_tables module): applying
# a network fails with one sentence that names what is missing, and changes
# nothing - no namespace, no bridge, no lease. libnftables is there (nft
# brings it), so what is missing is the kernel's part alone; libnftables
# would exit() the process on such a kernel (nft --version does, with 3).
# vm-files: tests/vm/lib.sh conf/lab.conf
# vm-binaries: nft
set -euo pipefail
. /test/lib.sh

ok ip link set lo up
compgen -G '/usr/lib/*/libnftables.so.1' >/dev/null || fail "libnftables.so.1 is not in the guest"
out=$(nsmgrctl apply -c /test/lab.conf 2>&1) && fail "apply succeeded without nftables"
echo "$out"
grep -q 'this kernel has no nftables (CONFIG_NF_TABLES)' <<<"$out" || fail "no clear sentence: $out"
[ "$(grep -c . <<<"$out")" = 1 ] || fail "more than one line: $out"
reject 'web' ip netns list
reject 'br-lab' ip -o link
[ -z "$(ls -A /var/lib/nsmgr/ipam/lab 2>/dev/null)" ] || fail "a lease was left: $(ls /var/lib/nsmgr/ipam/lab)"
echo "nat missing: ok"
