/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <time.h>

#include "fileio.h"
#include "macro.h"
#include "name.h"
#include "paths.h"
#include "state.h"
#include "strv.h"

#define STATE_FILE NSMGR_RUN_DIR "/state.json"

static void netns_rec_done(StateNetns *n) {
        free(n->name);
}

void state_done(State *s) {
        for (size_t i = 0; i < s->n_netns; i++)
                netns_rec_done(&s->netns[i]);
        free(s->netns);
        strmap_done(&s->index);
        json_object_put(s->nat);
        free(s->lost_reason);
        *s = (State) {};
}

const StateNetns *state_netns(const State *s, const char *name) {
        size_t i;

        if (!strmap_get(&s->index, name, &i) || i >= s->n_netns)
                return NULL;
        return &s->netns[i];
}

static StateNetns *netns_mut(State *s, const char *name) {
        return (StateNetns *) state_netns(s, name);
}

static int netns_append(State *s, const char *name, ino_t ino, uint64_t cookie, StateNetns **ret) {
        char *copy;
        int r;

        if (GREEDY_REALLOC(s->netns, s->cap_netns, s->n_netns + 1) < 0)
                return -ENOMEM;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        r = strmap_put(&s->index, name, s->n_netns);
        if (r < 0) {
                free(copy);
                return r;
        }
        s->netns[s->n_netns] = (StateNetns) { .name = copy, .ino = ino, .cookie = cookie };
        *ret = &s->netns[s->n_netns++];
        return 0;
}

int state_netns_set(State *s, const char *name, ino_t ino, uint64_t cookie) {
        StateNetns *n = netns_mut(s, name);

        if (n) {
                bool same = n->ino == ino && (!n->cookie || !cookie || n->cookie == cookie);

                if (!same) {
                        /* A namesake: nothing recorded of the old one holds. */
                        *n = (StateNetns) { .name = n->name, .ino = ino, .cookie = cookie };
                        s->dirty = true;
                } else if (cookie && n->cookie != cookie) {
                        n->cookie = cookie;
                        s->dirty = true;
                }
                return 0;
        }
        s->dirty = true;
        return netns_append(s, name, ino, cookie, &n);
}

void state_netns_remove(State *s, const char *name) {
        size_t i, last;

        if (!strmap_get(&s->index, name, &i) || i >= s->n_netns)
                return;
        strmap_remove(&s->index, name);
        netns_rec_done(&s->netns[i]);
        last = s->n_netns - 1;
        if (i != last) {
                s->netns[i] = s->netns[last];
                (void) strmap_put(&s->index, s->netns[i].name, i);
        }
        s->n_netns--;
        s->dirty = true;
}

void state_netns_routes(State *s, const char *name, int family) {
        StateNetns *n = netns_mut(s, name);
        bool *flag;

        if (!n)
                return;
        flag = family == AF_INET6 ? &n->routes6 : &n->routes4;
        if (!*flag) {
                *flag = true;
                s->dirty = true;
        }
}

void state_set_nat(State *s, json_object *record) {
        json_object_put(s->nat);
        s->nat = record;
        s->dirty = true;
}

/* --- the file ------------------------------------------------------------- */

static json_object *member(json_object *o, const char *key, json_type t) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
                return NULL;
        return v;
}

static bool all_strings(json_object *arr) {
        for (size_t i = 0; i < json_object_array_length(arr); i++)
                if (!json_object_is_type(json_object_array_get_idx(arr, i), json_type_string))
                        return false;
        return true;
}

/* nat.c keeps {"chains": {NAME: {"want": FP, "seen"?: FP}}, "ports": {NETNS: [TEXT...]}}. */
static bool nat_shape_ok(json_object *nat, char **why) {
        json_object *chains = member(nat, "chains", json_type_object);
        json_object *ports = member(nat, "ports", json_type_object);

        if (!chains || !ports) {
                *why = strdup("'nat' lacks 'chains' or 'ports'");
                return false;
        }
        json_object_object_foreach(chains, name, c) {
                if (!json_object_is_type(c, json_type_object) || !member(c, "want", json_type_string) ||
                    (json_object_object_get_ex(c, "seen", NULL) && !member(c, "seen", json_type_string))) {
                        if (asprintf(why, "NAT chain '%s' has no fingerprint", name) < 0)
                                *why = NULL;
                        return false;
                }
        }
        json_object_object_foreach(ports, ns, l) {
                if (!json_object_is_type(l, json_type_array) || !all_strings(l)) {
                        if (asprintf(why, "the ports of '%s' are not a list of text", ns) < 0)
                                *why = NULL;
                        return false;
                }
        }
        return true;
}

static bool read_u64(json_object *o, const char *key, uint64_t *ret) {
        json_object *v = member(o, key, json_type_int);
        int64_t x;

        if (!v)
                return false;
        errno = 0;
        x = json_object_get_int64(v);
        if (x < 0 || errno)
                return false;
        *ret = (uint64_t) x;
        return true;
}

_printf_(2, 3) static int bad(char **why, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(why, fmt, ap) < 0)
                *why = NULL;
        va_end(ap);
        return -EBADMSG;
}

static int parse_netns(State *s, json_object *all, int version, char **why) {
        json_object_object_foreach(all, name, o) {
                json_object *routes;
                StateNetns *n;
                uint64_t ino = 0, cookie = 0;
                int r;

                if (!netns_name_is_valid(name))
                        return bad(why, "'%s' is not a namespace name", name);
                if (!json_object_is_type(o, json_type_object) || !read_u64(o, "inode", &ino) || ino == 0)
                        return bad(why, "namespace '%s' has no inode", name);
                if (json_object_object_get_ex(o, "cookie", NULL) && !read_u64(o, "cookie", &cookie))
                        return bad(why, "namespace '%s': 'cookie' is not a number", name);
                if (state_netns(s, name))
                        return bad(why, "namespace '%s' is recorded twice", name);
                r = netns_append(s, name, (ino_t) ino, cookie, &n);
                if (r < 0)
                        return r;
                routes = member(o, "routes", json_type_array);
                if (json_object_object_get_ex(o, "routes", NULL) && !routes)
                        return bad(why, "namespace '%s': 'routes' is not a list", name);
                for (size_t i = 0; routes && i < json_object_array_length(routes); i++) {
                        json_object *e = json_object_array_get_idx(routes, i);
                        const char *f;

                        if (!json_object_is_type(e, json_type_string))
                                return bad(why, "namespace '%s': a route record is not text", name);
                        f = json_object_get_string(e);
                        if (version == 1) {
                                /* "TABLE DST VIA DEV METRIC": an IPv6 DST has a colon. */
                                if (strchr(f, ':'))
                                        n->routes6 = true;
                                else
                                        n->routes4 = true;
                        } else if (streq(f, "ipv4"))
                                n->routes4 = true;
                        else if (streq(f, "ipv6"))
                                n->routes6 = true;
                        else
                                return bad(why, "namespace '%s': unknown route family '%s'", name, f);
                }
        }
        return 0;
}

int state_parse(const char *text, size_t len, State *ret, char **ret_why) {
        _cleanup_(state_done) State s = {};
        json_tokener *tok;
        json_object *root, *v, *all, *nat;
        char *why = NULL;
        int64_t version;
        int r;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, text, (int) len);
        if (!root || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) < len) {
                /* Trailing bytes after the object are damage too. */
                bool trailing = root && json_tokener_get_error(tok) == json_tokener_success;
                json_tokener_free(tok);
                json_object_put(root);
                *ret_why = strdup(trailing ? "it has bytes after the record" : "it is not JSON (truncated or garbage)");
                return -EBADMSG;
        }
        json_tokener_free(tok);

        if (!json_object_is_type(root, json_type_object)) {
                r = bad(&why, "it is not a JSON object");
                goto out;
        }
        v = member(root, "version", json_type_int);
        version = v ? json_object_get_int64(v) : -1;
        if (version != 1 && version != STATE_VERSION) {
                r = v ? bad(&why, "it has version %" PRId64 ", which this nsmgr does not know (it writes %d)", version,
                            STATE_VERSION)
                      : bad(&why, "it has no version");
                goto out;
        }
        s.version = (int) version;
        all = member(root, "namespaces", json_type_object);
        if (json_object_object_get_ex(root, "namespaces", NULL) && !all) {
                r = bad(&why, "'namespaces' is not an object");
                goto out;
        }
        if (all) {
                r = parse_netns(&s, all, (int) version, &why);
                if (r < 0)
                        goto out;
        }
        nat = member(root, "nat", json_type_object);
        if (json_object_object_get_ex(root, "nat", NULL) && !nat) {
                r = bad(&why, "'nat' is not an object");
                goto out;
        }
        /* nsmgr 0.1 recorded rule texts: its record goes, and its chains
         * are written once more. */
        if (nat && version == 1)
                nat = NULL;
        if (nat && !nat_shape_ok(nat, &why)) {
                r = -EBADMSG;
                goto out;
        }
        s.nat = nat ? json_object_get(nat) : NULL;
        /* A file written by nsmgr 0.1 is read, and written in this
         * version's form at the next save. */
        s.dirty = version != STATE_VERSION;
        r = 0;
out:
        json_object_put(root);
        if (r < 0) {
                *ret_why = why ? why : strdup("it is damaged");
                return r;
        }
        *ret = s;
        s = (State) {};
        return 0;
}

/* The damaged file stays for whoever wants to look at it. */
static int move_aside(const char *why, State *s) {
        _cleanup_free_ char *to = NULL;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        if (asprintf(&to, STATE_FILE ".damaged-%" PRIu64, (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000) <
            0)
                return -ENOMEM;
        if (rename(STATE_FILE, to) < 0 && errno != ENOENT) {
                int r = negative_errno();
                if (asprintf(&s->lost_reason, STATE_FILE " is damaged (%s) and cannot be moved aside: %s", why,
                             strerror(-r)) < 0)
                        s->lost_reason = NULL;
                return 0;
        }
        if (asprintf(&s->lost_reason, STATE_FILE " is damaged (%s); it was moved to %s and nsmgr finds what it made by the marks it left on it",
                     why, to) < 0)
                s->lost_reason = NULL;
        return 0;
}

int state_load(State *ret, bool readonly) {
        _cleanup_free_ char *text = NULL, *why = NULL;
        _cleanup_close_ int fd = -EBADF;
        State s = {};
        struct stat st;
        size_t len = 0;
        int r;

        fd = open(STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT) {
                        *ret = s;
                        return 0;
                }
                if (errno != ELOOP)
                        return negative_errno();
                why = strdup("it is a symbolic link");
        } else if (fstat(fd, &st) < 0)
                return negative_errno();
        else if (!S_ISREG(st.st_mode))
                why = strdup("it is not a regular file");
        else if ((uint64_t) st.st_size > STATE_FILE_MAX)
                why = strdup("it is larger than any record nsmgr writes");
        else {
                r = read_full_fd(fd, &text, &len);
                if (r < 0)
                        return r;
                r = state_parse(text, len, &s, &why);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        *ret = s;
                        return 0;
                }
        }
        s = (State) { .lost = true };
        if (readonly) {
                if (asprintf(&s.lost_reason, STATE_FILE " is damaged (%s); nsmgr finds what it made by the marks it left on it",
                             why ? why : "it is damaged") < 0)
                        return -ENOMEM;
        } else {
                r = move_aside(why ? why : "it is damaged", &s);
                if (r < 0)
                        return r;
        }
        *ret = s;
        return 0;
}

int state_save(State *s) {
        _cleanup_free_ char *text_copy = NULL;
        json_object *root, *all;
        const char *text;
        int r;

        if (!s->dirty)
                return 0;
        r = mkdir_p(NSMGR_RUN_DIR, 0755);
        if (r < 0)
                return r;
        root = json_object_new_object();
        all = json_object_new_object();
        if (!root || !all) {
                json_object_put(root);
                json_object_put(all);
                return -ENOMEM;
        }
        json_object_object_add(root, "version", json_object_new_int(STATE_VERSION));
        json_object_object_add(root, "namespaces", all);
        for (size_t i = 0; i < s->n_netns; i++) {
                const StateNetns *n = &s->netns[i];
                json_object *o = json_object_new_object(), *routes = json_object_new_array();

                if (!o || !routes) {
                        json_object_put(o);
                        json_object_put(routes);
                        json_object_put(root);
                        return -ENOMEM;
                }
                json_object_object_add(o, "inode", json_object_new_int64((int64_t) n->ino));
                if (n->cookie)
                        json_object_object_add(o, "cookie", json_object_new_int64((int64_t) n->cookie));
                if (n->routes4)
                        json_object_array_add(routes, json_object_new_string("ipv4"));
                if (n->routes6)
                        json_object_array_add(routes, json_object_new_string("ipv6"));
                json_object_object_add(o, "routes", routes);
                json_object_object_add(all, n->name, o);
        }
        if (s->nat)
                json_object_object_add(root, "nat", json_object_get(s->nat));
        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        text_copy = text ? strdup(text) : NULL;
        json_object_put(root);
        if (!text_copy)
                return -ENOMEM;
        r = write_file_atomic(STATE_FILE, text_copy, strlen(text_copy), 0644);
        if (r < 0)
                return r;
        s->dirty = false;
        return 0;
}
