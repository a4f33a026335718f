/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "ipaddr.h"

/* What nsmgr made while applying the config, so that the next apply tears
 * down exactly that when the config stops declaring it — and never what
 * somebody else made. Kept in /run/nsmgr/state.json (pins, links and
 * routes do not survive a reboot, so neither does the record). Links are
 * recorded with their ifindex and namespaces with their inode: an object
 * that was deleted and re-made by someone else is not taken for ours.
 *
 * A scope is a namespace name, or NULL for the host. */
typedef struct State {
        json_object *root;
        bool dirty;
} State;

int state_load(State *s);
int state_save(State *s);
void state_done(State *s);

/* Namespaces apply created (created) or wired without creating them. */
bool state_netns_known(const State *s, const char *name, ino_t ino, bool *ret_created);
/* The inode recorded for a namespace, 0 if none (nsmgrd: did one die?). */
ino_t state_netns_inode(const State *s, const char *name);
void state_netns_set(State *s, const char *name, ino_t ino, bool created);
void state_netns_remove(State *s, const char *name);
/* Names of every namespace in the record. */
char **state_netns_names(const State *s);

bool state_link_owned(const State *s, const char *scope, const char *ifname, int ifindex);
void state_link_add(State *s, const char *scope, const char *ifname, int ifindex);
void state_link_remove(State *s, const char *scope, const char *ifname);
/* Owned links of a scope: names and ifindexes (callee allocates). */
size_t state_links(const State *s, const char *scope, char ***ret_names, int **ret_ifindexes);

bool state_addr_owned(const State *s, const char *scope, const char *ifname, const Cidr *a);
void state_addr_add(State *s, const char *scope, const char *ifname, const Cidr *a);
void state_addr_remove(State *s, const char *scope, const char *ifname, const Cidr *a);
/* Owned addresses of one link, as "198.18.0.1/24" strings. */
char **state_addrs(const State *s, const char *scope, const char *ifname);

/* Routes are recorded by a key that names them (route_key()). */
bool state_route_owned(const State *s, const char *scope, const char *key);
void state_route_add(State *s, const char *scope, const char *key);
void state_route_remove(State *s, const char *scope, const char *key);
char **state_routes(const State *s, const char *scope);

/* DNS files written into /etc/netns/NAME/. */
bool state_dns_owned(const State *s, const char *scope, const char *file);
void state_dns_add(State *s, const char *scope, const char *file);
void state_dns_remove(State *s, const char *scope, const char *file);
char **state_dns_files(const State *s, const char *scope);

/* Free-form records other modules keep (NAT, leases) under a key. */
json_object *state_section(State *s, const char *key);
