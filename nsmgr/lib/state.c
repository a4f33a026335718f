/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>

#include "fileio.h"
#include "macro.h"
#include "paths.h"
#include "state.h"
#include "strv.h"

#define STATE_FILE NSMGR_RUN_DIR "/state.json"

int state_load(State *s) {
        _cleanup_free_ char *text = NULL;
        int r;

        *s = (State) {};
        r = read_full_file(STATE_FILE, &text, NULL);
        if (r == -ENOENT) {
                s->root = json_object_new_object();
                return s->root ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        s->root = json_tokener_parse(text);
        if (!s->root || !json_object_is_type(s->root, json_type_object)) {
                /* A record we cannot read makes us own nothing: safe. */
                json_object_put(s->root);
                s->root = json_object_new_object();
                return -EBADMSG;
        }
        return 0;
}

int state_save(State *s) {
        const char *text;
        int r;

        if (!s->dirty)
                return 0;
        r = mkdir_p(NSMGR_RUN_DIR, 0755);
        if (r < 0)
                return r;
        json_object_object_add(s->root, "version", json_object_new_int(1));
        text = json_object_to_json_string_ext(s->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = write_file_atomic(STATE_FILE, text, strlen(text), 0644);
        if (r < 0)
                return r;
        s->dirty = false;
        return 0;
}

void state_done(State *s) {
        json_object_put(s->root);
        s->root = NULL;
}

static json_object *get(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

static json_object *get_or_add(json_object *o, const char *key, json_type t) {
        json_object *v = get(o, key);

        if (v && json_object_is_type(v, t))
                return v;
        v = t == json_type_array ? json_object_new_array() : json_object_new_object();
        json_object_object_add(o, key, v);
        return v;
}

/* The object holding a scope's records: namespaces.NAME or host. */
static json_object *scope_obj(const State *s, const char *scope) {
        if (!scope)
                return get(s->root, "host");
        return get(get(s->root, "namespaces"), scope);
}

static json_object *scope_obj_add(State *s, const char *scope) {
        s->dirty = true;
        if (!scope)
                return get_or_add(s->root, "host", json_type_object);
        return get_or_add(get_or_add(s->root, "namespaces", json_type_object), scope, json_type_object);
}

bool state_netns_known(const State *s, const char *name, ino_t ino, bool *ret_created) {
        json_object *o = scope_obj(s, name), *v;

        v = get(o, "inode");
        if (!v || (ino_t) json_object_get_int64(v) != ino)
                return false;
        if (ret_created)
                *ret_created = json_object_get_boolean(get(o, "created"));
        return true;
}

ino_t state_netns_inode(const State *s, const char *name) {
        json_object *v = get(scope_obj(s, name), "inode");

        return v ? (ino_t) json_object_get_int64(v) : 0;
}

void state_netns_set(State *s, const char *name, ino_t ino, bool created) {
        json_object *o = scope_obj(s, name);
        bool was_created = false;

        /* Wired namespaces keep no records of a former namesake. */
        if (o && (!state_netns_known(s, name, ino, &was_created))) {
                state_netns_remove(s, name);
                o = NULL;
        }
        o = scope_obj_add(s, name);
        json_object_object_add(o, "inode", json_object_new_int64((int64_t) ino));
        json_object_object_add(o, "created", json_object_new_boolean(created || was_created));
}

void state_netns_remove(State *s, const char *name) {
        json_object *all = get(s->root, "namespaces");

        if (all && get(all, name)) {
                json_object_object_del(all, name);
                s->dirty = true;
        }
}

char **state_netns_names(const State *s) {
        json_object *all = get(s->root, "namespaces");
        char **names = NULL;

        if (!all)
                return NULL;
        json_object_object_foreach(all, key, val) {
                (void) val;
                if (strv_extend(&names, key) < 0)
                        return strv_free(names);
        }
        return names;
}

bool state_link_owned(const State *s, const char *scope, const char *ifname, int ifindex) {
        json_object *v = get(get(scope_obj(s, scope), "links"), ifname);

        return v && json_object_get_int(v) == ifindex;
}

void state_link_add(State *s, const char *scope, const char *ifname, int ifindex) {
        json_object *links = get_or_add(scope_obj_add(s, scope), "links", json_type_object);

        json_object_object_add(links, ifname, json_object_new_int(ifindex));
}

void state_link_remove(State *s, const char *scope, const char *ifname) {
        json_object *o = scope_obj(s, scope);

        if (!o)
                return;
        json_object_object_del(get(o, "links"), ifname);
        json_object_object_del(get(o, "addresses"), ifname);
        s->dirty = true;
}

size_t state_links(const State *s, const char *scope, char ***ret_names, int **ret_ifindexes) {
        json_object *links = get(scope_obj(s, scope), "links");
        char **names = NULL;
        int *idx = NULL;
        size_t n = 0;

        *ret_names = NULL;
        *ret_ifindexes = NULL;
        if (!links)
                return 0;
        idx = calloc((size_t) json_object_object_length(links) + 1, sizeof(int));
        if (!idx)
                return 0;
        json_object_object_foreach(links, key, val) {
                if (strv_extend(&names, key) < 0)
                        break;
                idx[n++] = json_object_get_int(val);
        }
        *ret_names = names;
        *ret_ifindexes = idx;
        return n;
}

static bool array_has(json_object *arr, const char *str) {
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(arr, i)), str))
                        return true;
        return false;
}

static void array_add(json_object *arr, const char *str) {
        if (!array_has(arr, str))
                json_object_array_add(arr, json_object_new_string(str));
}

static bool array_del(json_object *arr, const char *str) {
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(arr, i)), str)) {
                        json_object_array_del_idx(arr, i, 1);
                        return true;
                }
        return false;
}

static char **array_strv(json_object *arr) {
        char **l = NULL;

        for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
                if (strv_extend(&l, json_object_get_string(json_object_array_get_idx(arr, i))) < 0)
                        return strv_free(l);
        return l;
}

bool state_addr_owned(const State *s, const char *scope, const char *ifname, const Cidr *a) {
        char buf[CIDR_STRLEN];

        return array_has(get(get(scope_obj(s, scope), "addresses"), ifname), cidr_format(a, true, buf));
}

void state_addr_add(State *s, const char *scope, const char *ifname, const Cidr *a) {
        json_object *addrs = get_or_add(scope_obj_add(s, scope), "addresses", json_type_object);
        char buf[CIDR_STRLEN];

        array_add(get_or_add(addrs, ifname, json_type_array), cidr_format(a, true, buf));
}

void state_addr_remove(State *s, const char *scope, const char *ifname, const Cidr *a) {
        char buf[CIDR_STRLEN];

        if (array_del(get(get(scope_obj(s, scope), "addresses"), ifname), cidr_format(a, true, buf)))
                s->dirty = true;
}

char **state_addrs(const State *s, const char *scope, const char *ifname) {
        return array_strv(get(get(scope_obj(s, scope), "addresses"), ifname));
}

static bool list_owned(const State *s, const char *scope, const char *list, const char *key) {
        return array_has(get(scope_obj(s, scope), list), key);
}

static void list_add(State *s, const char *scope, const char *list, const char *key) {
        array_add(get_or_add(scope_obj_add(s, scope), list, json_type_array), key);
}

static void list_remove(State *s, const char *scope, const char *list, const char *key) {
        if (array_del(get(scope_obj(s, scope), list), key))
                s->dirty = true;
}

bool state_route_owned(const State *s, const char *scope, const char *key) {
        return list_owned(s, scope, "routes", key);
}

void state_route_add(State *s, const char *scope, const char *key) {
        list_add(s, scope, "routes", key);
}

void state_route_remove(State *s, const char *scope, const char *key) {
        list_remove(s, scope, "routes", key);
}

char **state_routes(const State *s, const char *scope) {
        return array_strv(get(scope_obj(s, scope), "routes"));
}

bool state_dns_owned(const State *s, const char *scope, const char *file) {
        return list_owned(s, scope, "dns", file);
}

void state_dns_add(State *s, const char *scope, const char *file) {
        list_add(s, scope, "dns", file);
}

void state_dns_remove(State *s, const char *scope, const char *file) {
        list_remove(s, scope, "dns", file);
}

char **state_dns_files(const State *s, const char *scope) {
        return array_strv(get(scope_obj(s, scope), "dns"));
}

json_object *state_section(State *s, const char *key) {
        json_object *v = get(s->root, key);

        if (v && json_object_is_type(v, json_type_object))
                return v;
        s->dirty = true;
        return get_or_add(s->root, key, json_type_object);
}
