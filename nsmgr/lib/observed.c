/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nl.h"
#include "observed.h"
#include "strv.h"

const char *dns_file_name(DnsFile f) {
        static const char *const names[_DNS_FILE_MAX] = {
                [DNS_RESOLV_CONF] = "resolv.conf",
                [DNS_HOSTS] = "hosts",
        };

        return f < _DNS_FILE_MAX ? names[f] : NULL;
}

void obs_scope_done(ObsScope *s) {
        free(s->name);
        safe_close(s->nsfd);
        if (!s->nl_borrowed)
                nls_close(s->nl);
        free(s->links);
        free(s->by_index);
        free(s->addrs);
        free(s->routes);
        for (size_t i = 0; i < s->n_sysctls; i++)
                free(s->sysctls[i]);
        free(s->sysctls);
        for (size_t i = 0; i < _DNS_FILE_MAX; i++)
                free(s->dns[i]);
        strmap_done(&s->peer_nsid);
        *s = (ObsScope) { .nsfd = -EBADF, .host_nsid = -1 };
}

void observed_done(Observed *o) {
        obs_scope_done(&o->host);
        for (size_t i = 0; i < o->n_scopes; i++)
                obs_scope_done(&o->scopes[i]);
        free(o->scopes);
        for (size_t i = 0; i < o->n_gone; i++)
                obs_scope_done(&o->gone[i]);
        free(o->gone);
        *o = (Observed) {};
}

static int link_name_cmp(const void *a, const void *b) {
        return strcmp(((const ObsLink *) a)->name, ((const ObsLink *) b)->name);
}

static int addr_index_cmp(const void *a, const void *b) {
        int x = ((const ObsAddr *) a)->ifindex, y = ((const ObsAddr *) b)->ifindex;

        return (x > y) - (x < y);
}

static int link_index_cmp(const void *a, const void *b) {
        int x = (*(const ObsLink *const *) a)->ifindex, y = (*(const ObsLink *const *) b)->ifindex;

        return (x > y) - (x < y);
}

int obs_scope_sort(ObsScope *s) {
        if (s->n_links > 1)
                qsort(s->links, s->n_links, sizeof(ObsLink), link_name_cmp);
        if (s->n_addrs > 1)
                qsort(s->addrs, s->n_addrs, sizeof(ObsAddr), addr_index_cmp);
        free(s->by_index);
        s->by_index = calloc(s->n_links + 1, sizeof(ObsLink *));
        if (!s->by_index)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_links; i++)
                s->by_index[i] = &s->links[i];
        if (s->n_links > 1)
                qsort(s->by_index, s->n_links, sizeof(ObsLink *), link_index_cmp);
        return 0;
}

const ObsLink *obs_link(const ObsScope *s, const char *name) {
        ObsLink key = {};

        if (!s || s->n_links == 0 || strlen(name) >= sizeof(key.name))
                return NULL;
        strcpy(key.name, name);
        return bsearch(&key, s->links, s->n_links, sizeof(ObsLink), link_name_cmp);
}

const ObsLink *obs_link_by_index(const ObsScope *s, int ifindex) {
        ObsLink key = { .ifindex = ifindex }, *kp = &key, **r;

        if (!s || !s->by_index || s->n_links == 0)
                return NULL;
        r = bsearch(&kp, s->by_index, s->n_links, sizeof(ObsLink *), link_index_cmp);
        return r ? *r : NULL;
}

const ObsAddr *obs_addrs_of(const ObsScope *s, int ifindex, size_t *ret_n) {
        size_t lo = 0, hi = s->n_addrs, n = 0;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->addrs[mid].ifindex < ifindex)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        while (lo + n < s->n_addrs && s->addrs[lo + n].ifindex == ifindex)
                n++;
        *ret_n = n;
        return n > 0 ? s->addrs + lo : NULL;
}

ObsScope *observed_scope(Observed *o, const Config *model, const char *name) {
        size_t i;

        if (!name)
                return &o->host;
        if (strmap_get(&model->netns_index, name, &i) && i < o->n_scopes && o->scopes[i].name &&
            streq(o->scopes[i].name, name))
                return &o->scopes[i];
        return NULL;
}
