/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config loader on any input: read (as a file, which is how nsmgr
 * gets a config), parsed and validated. It must never crash, leak or hang,
 * and what it accepts must hold what validation promises. */
#include <stdint.h>
#include <sys/mman.h>

#include "config.h"
#include "name.h"

static int memfd = -1;
static char path[64];

static void check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "a loaded config broke a promise: %s\n", what);
                abort();
        }
}

/* What validation promises of a config it accepts. */
static void check_config(const Config *c) {
        for (size_t i = 0; i < c->n_bridges; i++) {
                check(ifname_check_nft(c->bridges[i].name, NULL) >= 0, "bridge name");
                check(c->bridges[i].mtu == 0 || (c->bridges[i].mtu >= 68 && c->bridges[i].mtu <= 65535), "bridge mtu");
        }
        for (size_t i = 0; i < c->n_networks; i++) {
                const Network *nw = &c->networks[i];

                check(network_name_check(nw->name, NULL) >= 0, "network name");
                check(nw->bridge && ifname_check_nft(nw->bridge, NULL) >= 0, "network bridge");
                check(!nw->uplink || ifname_check_nft(nw->uplink, NULL) >= 0, "uplink");
                check(nw->subnet.family || nw->subnet6.family, "network subnet");
        }
        for (size_t i = 0; i < c->n_netns; i++) {
                const Netns *ns = &c->netns[i];

                check(netns_name_is_valid(ns->name), "namespace name");
                check(!ns->incomplete, "a namespace with a problem was accepted");
                for (size_t j = 0; j < ns->n_ifaces; j++) {
                        const Iface *it = &ns->ifaces[j];

                        check(ifname_is_valid(it->name), "interface name");
                        check(it->kind < _IFACE_KIND_MAX, "interface kind");
                        check(it->mtu == 0 || (it->mtu >= 68 && it->mtu <= 65535), "interface mtu");
                        check(it->kind != IFACE_VETH || (it->peer_name && ifname_is_valid(it->peer_name)), "peer name");
                        check(it->kind != IFACE_VXLAN || it->vni <= 0xffffff, "vni");
                        check(it->kind != IFACE_VRF || (it->table != 0 && it->table != 254 && it->table != 255),
                              "vrf table");
                        check(!it->parent || ifname_is_valid(it->parent), "parent name");
                        for (char **m = it->members; m && *m; m++)
                                check(ifname_is_valid(*m), "member name");
                }
                for (size_t j = 0; j < ns->n_routes; j++) {
                        check(ns->routes[j].table != 0 && ns->routes[j].table != 255, "route table");
                        check(!ns->routes[j].dev || ifname_is_valid(ns->routes[j].dev), "route dev");
                        check(ns->routes[j].via.family || ns->routes[j].dev, "route without via or dev");
                }
                for (size_t j = 0; j < ns->n_attachments; j++)
                        check(ns->attachments[j].ifname && ifname_is_valid(ns->attachments[j].ifname),
                              "attachment interface");
                for (size_t j = 0; j < ns->n_ports; j++)
                        check(ns->ports[j].host_port > 0 && ns->ports[j].port > 0, "port");
                check(config_find_netns(c, ns->name) != NULL, "namespace index");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        char *files[] = { path, NULL };
        Config *c = NULL;

        if (memfd < 0) {
                memfd = memfd_create("fuzz-config", MFD_CLOEXEC);
                if (memfd < 0)
                        abort();
                snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
        }
        if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t) size)
                abort();

        if (config_load_files(files, &c, &err) >= 0) {
                check_config(c);
                config_free(c);
        } else
                check(err.msg && *err.msg && !c, "a refusal says why");
        return 0;
}
