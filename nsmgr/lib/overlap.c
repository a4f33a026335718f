/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>

#include "ipaddr.h"
#include "marks.h"
#include "nl.h"
#include "overlap.h"
#include "strv.h"

/* Host links the config itself puts addresses on. */
static bool declared_host_link(const Config *cfg, const char *ifname) {
        for (size_t i = 0; i < cfg->n_bridges; i++)
                if (streq(cfg->bridges[i].name, ifname))
                        return true;
        for (size_t i = 0; i < cfg->n_networks; i++)
                if (streq(cfg->networks[i].bridge, ifname))
                        return true;
        for (size_t i = 0; i < cfg->n_netns; i++)
                for (size_t j = 0; j < cfg->netns[i].n_ifaces; j++) {
                        const Iface *it = &cfg->netns[i].ifaces[j];

                        if (it->kind == IFACE_VETH && !it->peer_netns && streq_ptr(it->peer_name, ifname))
                                return true;
                }
        return false;
}

typedef struct Check {
        const Config *cfg;
        const Network *nw;
        const Cidr *subnet;
        struct nl_cache *links;
        const char *hit_ifname;
        Cidr hit;
} Check;

static void address_cb(struct nl_object *obj, void *userdata) {
        struct rtnl_addr *a = (struct rtnl_addr *) obj;
        Check *c = userdata;
        struct rtnl_link *l;
        const char *ifname;
        int ifindex = rtnl_addr_get_ifindex(a);
        Cidr addr;

        if (c->hit_ifname || cidr_from_nl(rtnl_addr_get_local(a), &addr) < 0 || addr.family != c->subnet->family)
                return;
        if (!cidr_overlap(c->subnet, &addr))
                return;
        l = rtnl_link_get(c->links, ifindex);
        ifname = l ? rtnl_link_get_name(l) : NULL;
        if (!ifname || declared_host_link(c->cfg, ifname)) {
                rtnl_link_put(l);
                return;
        }
        /* What nsmgr made (its mark, marks.h), which this apply may be
         * about to tear down, is no conflict. */
        if (rtnl_link_get_group(l) == NSMGR_LINK_GROUP) {
                rtnl_link_put(l);
                return;
        }
        c->hit_ifname = ifname;
        c->hit = addr;
        rtnl_link_put(l);
}

int networks_check_host_overlap(const Config *cfg, char **ret_ifname, NmError *err) {
        _cleanup_cache_ struct nl_cache *links = NULL, *addrs = NULL;
        _cleanup_nl_ NlSock *nl = NULL;
        int r = 0;

        for (size_t i = 0; i < cfg->n_networks && r >= 0; i++) {
                const Network *nw = &cfg->networks[i];
                const Cidr *subnets[] = { &nw->subnet, &nw->subnet6 };

                /* Made already (or held by someone else, which apply
                 * refuses by name): not a new network. One ioctl each keeps
                 * a re-apply as cheap as it was. */
                if (if_nametoindex(nw->bridge) > 0)
                        continue;
                for (size_t k = 0; k < ELEMENTSOF(subnets) && r >= 0; k++) {
                        char sbuf[CIDR_STRLEN], abuf[CIDR_STRLEN];
                        Check c = { .cfg = cfg, .nw = nw, .subnet = subnets[k] };

                        if (!subnets[k]->family)
                                continue;
                        if (!links) {
                                r = nls_open(&nl);
                                if (r < 0)
                                        return nm_error(err, r, "cannot read the host's addresses: %s", strerror(-r));
                                r = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &links);
                                if (r >= 0)
                                        r = rtnl_addr_alloc_cache(nl->sk, &addrs);
                                if (r < 0)
                                        return nm_error(err, nls_errno(nl, r), "cannot read the host's addresses: %s",
                                                        nl_geterror(r));
                        }
                        c.links = links;
                        nl_cache_foreach(addrs, address_cb, &c);
                        if (!c.hit_ifname)
                                continue;
                        if (ret_ifname)
                                *ret_ifname = strdup(c.hit_ifname);
                        r = nm_error(err, -EADDRINUSE,
                                     "%s:%d: network '%s': its subnet %s overlaps %s on the host's interface %s; choose another subnet or remove that address (nothing was changed)",
                                     nw->src.file, nw->src.line, nw->name, cidr_format(subnets[k], true, sbuf),
                                     cidr_format(&c.hit, true, abuf), c.hit_ifname);
                }
        }
        return r < 0 ? r : 0;
}
