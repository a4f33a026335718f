/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <string.h>
#include <inttypes.h>
#include <limits.h>

#include "fileio.h"
#include "jsonfile.h"
#include "name.h"
#include "netns.h"
#include "oci.h"
#include "ocihook.h"
#include "runtime.h"

/* --- Go's flag package, as urfave/cli 1.22 drives it for runc 1.1 ---------
 * (runc: main.go, create.go, run.go; urfave/cli: command.go reorderArgs,
 * context.go normalizeFlags; Go: flag.FlagSet.parseOne.) */

typedef enum FlagType {
        FLAG_BOOL,
        FLAG_STRING,
        FLAG_INT,
} FlagType;

typedef struct Flag {
        const char *name;
        const char *alias;      /* the other name urfave/cli gives it ("bundle, b"), or NULL */
        FlagType type;
        int id;
} Flag;

enum {
        OPT_RUNTIME_PATH,
        OPT_NSMGR_CONFIG,
        OPT_LOG,
        OPT_LOG_FORMAT,
        OPT_HELP,
        OPT_VERSION,
        OPT_BUNDLE,
        OPT_OTHER,
};

static const Flag our_flags[] = {
        { "runtime-path", NULL, FLAG_STRING, OPT_RUNTIME_PATH },
        { "nsmgr-config", NULL, FLAG_STRING, OPT_NSMGR_CONFIG },
        {}
};

/* runc 1.1's global options, and the help and version flags urfave/cli adds. */
static const Flag global_flags[] = {
        { "debug", NULL, FLAG_BOOL, OPT_OTHER },
        { "log", NULL, FLAG_STRING, OPT_LOG },
        { "log-format", NULL, FLAG_STRING, OPT_LOG_FORMAT },
        { "root", NULL, FLAG_STRING, OPT_OTHER },
        { "criu", NULL, FLAG_STRING, OPT_OTHER },
        { "systemd-cgroup", NULL, FLAG_BOOL, OPT_OTHER },
        { "rootless", NULL, FLAG_STRING, OPT_OTHER },
        { "help", "h", FLAG_BOOL, OPT_HELP },
        { "version", "v", FLAG_BOOL, OPT_VERSION },
        {}
};

static const Flag create_flags[] = {
        { "bundle", "b", FLAG_STRING, OPT_BUNDLE },
        { "console-socket", NULL, FLAG_STRING, OPT_OTHER },
        { "pid-file", NULL, FLAG_STRING, OPT_OTHER },
        { "no-pivot", NULL, FLAG_BOOL, OPT_OTHER },
        { "no-new-keyring", NULL, FLAG_BOOL, OPT_OTHER },
        { "preserve-fds", NULL, FLAG_INT, OPT_OTHER },
        { "help", "h", FLAG_BOOL, OPT_HELP },
        {}
};

static const Flag run_flags[] = {
        { "bundle", "b", FLAG_STRING, OPT_BUNDLE },
        { "console-socket", NULL, FLAG_STRING, OPT_OTHER },
        { "detach", "d", FLAG_BOOL, OPT_OTHER },
        { "keep", NULL, FLAG_BOOL, OPT_OTHER },
        { "pid-file", NULL, FLAG_STRING, OPT_OTHER },
        { "no-subreaper", NULL, FLAG_BOOL, OPT_OTHER },
        { "no-pivot", NULL, FLAG_BOOL, OPT_OTHER },
        { "no-new-keyring", NULL, FLAG_BOOL, OPT_OTHER },
        { "preserve-fds", NULL, FLAG_INT, OPT_OTHER },
        { "help", "h", FLAG_BOOL, OPT_HELP },
        {}
};

/* strconv.ParseBool */
static bool go_bool_valid(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
        static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False", NULL };

        for (size_t i = 0; yes[i]; i++)
                if (streq(s, yes[i])) {
                        *ret = true;
                        return true;
                }
        for (size_t i = 0; no[i]; i++)
                if (streq(s, no[i])) {
                        *ret = false;
                        return true;
                }
        return false;
}

static unsigned digit_value(char c) {
        if (c >= '0' && c <= '9')
                return (unsigned) (c - '0');
        if (c >= 'a' && c <= 'z')
                return (unsigned) (c - 'a' + 10);
        if (c >= 'A' && c <= 'Z')
                return (unsigned) (c - 'A' + 10);
        return 99;
}

/* strconv's underscoreOK: underscores only between digits, or between a
 * base prefix and a digit. */
static bool go_underscore_ok(const char *s) {
        char saw = '^';
        bool hex = false;
        size_t i = 0;

        if (*s == '-' || *s == '+')
                s++;
        if (strlen(s) >= 2 && s[0] == '0' && strchr("bBoOxX", s[1])) {
                i = 2;
                saw = '0';
                hex = s[1] == 'x' || s[1] == 'X';
        }
        for (; s[i]; i++) {
                char c = s[i];

                if ((c >= '0' && c <= '9') || (hex && digit_value(c) >= 10 && digit_value(c) <= 15)) {
                        saw = '0';
                        continue;
                }
                if (c == '_') {
                        if (saw != '0')
                                return false;
                        saw = '_';
                        continue;
                }
                if (saw == '_')
                        return false;
                saw = '!';
        }
        return saw != '_';
}

/* strconv.ParseInt(s, 0, 64), which Go's flag package uses for integers:
 * an optional sign, then 0b, 0o, 0x or a leading 0 (octal) picks the base;
 * underscores may separate digits. Only whether it parses matters here. */
static bool go_int_valid(const char *s0) {
        const char *s = s0;
        bool neg = false, underscores = false;
        unsigned base = 10;
        uint64_t n = 0;

        if (*s == '+' || *s == '-') {
                neg = *s == '-';
                s++;
        }
        if (!*s)
                return false;
        if (s[0] == '0') {
                bool long_enough = strlen(s) >= 3;

                if (long_enough && (s[1] == 'b' || s[1] == 'B'))
                        base = 2, s += 2;
                else if (long_enough && (s[1] == 'o' || s[1] == 'O'))
                        base = 8, s += 2;
                else if (long_enough && (s[1] == 'x' || s[1] == 'X'))
                        base = 16, s += 2;
                else
                        base = 8, s++;
        }
        for (; *s; s++) {
                unsigned d;

                if (*s == '_') {
                        underscores = true;
                        continue;
                }
                d = digit_value(*s);
                if (d >= base)
                        return false;
                if (n > (UINT64_MAX - d) / base)
                        return false;
                n = n * base + d;
        }
        if (underscores && !go_underscore_ok(s0))
                return false;
        return neg ? n <= (uint64_t) INT64_MAX + 1 : n <= (uint64_t) INT64_MAX;
}

static const Flag *flag_find(const Flag *table, const char *name, size_t n, bool *ret_alias) {
        for (const Flag *f = table; f && f->name; f++) {
                if (strlen(f->name) == n && strneq(f->name, name, n)) {
                        *ret_alias = false;
                        return f;
                }
                if (f->alias && strlen(f->alias) == n && strneq(f->alias, name, n)) {
                        *ret_alias = true;
                        return f;
                }
        }
        return NULL;
}

typedef enum Step {
        STEP_FLAG,              /* an option was read */
        STEP_END,               /* a word that is no option: options end here */
        STEP_TERMINATOR,        /* "--": options end after it */
        STEP_BAD,               /* Go would fail */
} Step;

typedef struct Parsed {
        const Flag *flag;       /* STEP_FLAG */
        bool alias;             /* given by its other name */
        const char *value;      /* strings, ints; NULL for booleans */
        bool on;                /* booleans */
        int words;              /* how many words it took */
} Parsed;

/* flag.FlagSet.parseOne over args[0..n): tables are looked up in order. */
static Step parse_one(char **args, int n, const Flag *const *tables, Parsed *ret) {
        const char *s = args[0], *name, *eq;
        const Flag *f = NULL;
        size_t len;
        bool alias = false;

        if (strlen(s) < 2 || s[0] != '-')
                return STEP_END;
        name = s + 1;
        if (s[1] == '-') {
                if (s[2] == 0)
                        return STEP_TERMINATOR;
                name = s + 2;
        }
        if (name[0] == 0 || name[0] == '-' || name[0] == '=')
                return STEP_BAD;
        eq = strchr(name + 1, '=');
        len = eq ? (size_t) (eq - name) : strlen(name);
        for (size_t t = 0; tables[t] && !f; t++)
                f = flag_find(tables[t], name, len, &alias);
        if (!f)
                return STEP_BAD;

        *ret = (Parsed) { .flag = f, .alias = alias, .words = 1 };
        if (f->type == FLAG_BOOL) {
                if (eq)
                        return go_bool_valid(eq + 1, &ret->on) ? STEP_FLAG : STEP_BAD;
                ret->on = true;
                return STEP_FLAG;
        }
        if (eq)
                ret->value = eq + 1;
        else if (n > 1) {
                ret->value = args[1];
                ret->words = 2;
        } else
                return STEP_BAD;
        if (f->type == FLAG_INT && !go_int_valid(ret->value))
                return STEP_BAD;
        return STEP_FLAG;
}

/* urfave/cli's normalizeFlags: "--bundle X -b Y" is refused. Bit 0: the
 * name was used, bit 1: the alias. */
static bool both_forms(unsigned *seen, size_t idx, bool alias) {
        seen[idx] |= alias ? 2u : 1u;
        return seen[idx] == 3u;
}

/* urfave/cli 1.22.1's reorderArgs (the version runc 1.1 pins): every word
 * that starts with '-' is an option and moves to the front, together with
 * the word after it when that does not start with '-'; "--" and what
 * follows go last. */
static char **reorder(char **args, int n) {
        _cleanup_free_ char **rest = NULL;
        char **out;
        int nf = 0, nr = 0, i;
        bool read_value = false;

        out = calloc((size_t) n + 1, sizeof(char *));
        rest = calloc((size_t) n + 1, sizeof(char *));
        if (!out || !rest) {
                free(out);
                return NULL;
        }
        for (i = 0; i < n; i++) {
                const char *a = args[i];

                if (streq(a, "--"))
                        break;
                if (read_value && a[0] != '-') {
                        read_value = false;
                        out[nf++] = args[i];
                        continue;
                }
                read_value = false;
                if (!streq(a, "-") && a[0] == '-') {
                        out[nf++] = args[i];
                        read_value = !strchr(a, '=');
                } else
                        rest[nr++] = args[i];
        }
        for (; i < n; i++)
                rest[nr++] = args[i];
        memcpy(out + nf, rest, (size_t) nr * sizeof(char *));
        return out;
}

/* create and run: their options and exactly one argument, the id. */
static void parse_create(char **args, int n, const Flag *table, RuntimeArgs *a) {
        _cleanup_free_ char **r = NULL;
        const Flag *const tables[] = { table, NULL };
        unsigned seen[16] = {};
        const char *bundle = NULL;
        int i = 0;

        r = reorder(args, n);
        if (!r)
                return;
        while (i < n) {
                Parsed p;
                Step s = parse_one(r + i, n - i, tables, &p);

                if (s == STEP_BAD)
                        return;
                if (s == STEP_END)
                        break;
                if (s == STEP_TERMINATOR) {
                        i++;
                        break;
                }
                if (both_forms(seen, (size_t) (p.flag - table), p.alias))
                        return;
                if (p.flag->id == OPT_HELP && p.on)
                        return; /* runc prints the command's help */
                if (p.flag->id == OPT_BUNDLE)
                        bundle = p.value;
                i += p.words;
        }
        if (n - i != 1)
                return;
        a->id = r[i];
        a->bundle = bundle && *bundle ? bundle : ".";
        a->create = true;
}

int runtime_args_parse(int argc, char **argv, RuntimeArgs *ret, NmError *err) {
        const Flag *const tables[] = { our_flags, global_flags, NULL };
        RuntimeArgs a = { .parsed = true };
        unsigned seen[16] = {};
        const char *log_format = NULL;
        int i = 1, verb, r = 0;

        a.argv = calloc((size_t) argc + 1, sizeof(char *));
        if (!a.argv)
                return -ENOMEM;
        a.argv[a.argc++] = argv[0];

        while (i < argc) {
                Parsed p;
                Step s = parse_one(argv + i, argc - i, tables, &p);

                if (s == STEP_END)
                        break;
                if (s == STEP_TERMINATOR) {
                        a.argv[a.argc++] = argv[i++];
                        break;
                }
                if (s == STEP_BAD) {
                        const Flag *f;
                        bool alias;
                        const char *name = argv[i] + (argv[i][1] == '-' ? 2 : 1);

                        /* Ours without its value is our error; anything
                         * else runc refuses, and says why. */
                        f = flag_find(our_flags, name, strcspn(name, "="), &alias);
                        if (f)
                                r = nm_error(err, -EINVAL, "option '%s' needs a value", argv[i]);
                        a.parsed = false;
                        break;
                }
                if (p.flag->id == OPT_RUNTIME_PATH || p.flag->id == OPT_NSMGR_CONFIG) {
                        if (!*p.value) {
                                r = nm_error(err, -EINVAL, "option '--%s' needs a value, not an empty word",
                                             p.flag->name);
                                a.parsed = false;
                                i += p.words;
                                break;
                        }
                        if (p.flag->id == OPT_RUNTIME_PATH)
                                a.runtime_path = p.value;
                        else
                                a.nsmgr_config = p.value;
                        i += p.words;
                        continue;
                }
                if (both_forms(seen, (size_t) (p.flag - global_flags), p.alias))
                        a.parsed = false;
                switch (p.flag->id) {
                case OPT_LOG:        a.log = p.value; break;
                case OPT_LOG_FORMAT: log_format = p.value; break;
                case OPT_HELP:       a.help = p.on; break;
                case OPT_VERSION:    a.version = p.on; break;
                default:             break;
                }
                for (int w = 0; w < p.words; w++)
                        a.argv[a.argc++] = argv[i++];
        }
        verb = a.argc;
        for (; i < argc; i++)
                a.argv[a.argc++] = argv[i];
        a.argv[a.argc] = NULL;

        /* runc's Before: an unknown --log-format stops it before any command. */
        if (log_format && !streq(log_format, "") && !streq(log_format, "text") && !streq(log_format, "json"))
                a.parsed = false;
        a.log_json = log_format && streq(log_format, "json");
        if (!a.parsed) {
                a.help = a.version = false;
                /* Our own error still goes where runc would write one. */
                if (r == 0) {
                        a.log = NULL;
                        a.log_json = false;
                }
        }
        if (a.help)
                a.version = false; /* urfave/cli looks at --help first */

        /* The command: the first word after the global options. */
        if (a.parsed && !a.help && !a.version && verb < a.argc) {
                a.verb = a.argv[verb];
                if (streq(a.verb, "create"))
                        parse_create(a.argv + verb + 1, a.argc - verb - 1, create_flags, &a);
                else if (streq(a.verb, "run"))
                        parse_create(a.argv + verb + 1, a.argc - verb - 1, run_flags, &a);
        }

        *ret = a;
        return r;
}

void runtime_args_done(RuntimeArgs *a) {
        a->argv = mfree(a->argv);
        a->argc = 0;
}

/* --- The request ------------------------------------------------------------ */

void runtime_request_done(RuntimeRequest *r) {
        r->netns = mfree(r->netns);
        r->network = mfree(r->network);
        r->netns_from = NULL;
}

/* The value of KEY=VALUE in process.env, the first as getenv() finds it. */
static const char *env_get(json_object *config, const char *key) {
        json_object *process = NULL, *env = NULL;
        size_t n = strlen(key);

        if (!json_object_object_get_ex(config, "process", &process) || !json_object_is_type(process, json_type_object) ||
            !json_object_object_get_ex(process, "env", &env) || !json_object_is_type(env, json_type_array))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(env); i++) {
                json_object *e = json_object_array_get_idx(env, i);
                const char *s;

                if (!json_object_is_type(e, json_type_string))
                        continue;
                s = json_object_get_string(e);
                if (strneq(s, key, n) && s[n] == '=')
                        return s + n + 1;
        }
        return NULL;
}

/* One value given two ways must agree. */
static int pick(const char *id, const char *env_key, const char *env_val, const char *ann_key, const char *ann_val,
                char **ret, const char **ret_from, NmError *err) {
        const char *v = env_val ? env_val : ann_val;

        if (env_val && ann_val && !streq(env_val, ann_val))
                return nm_error(err, -EINVAL, "container '%s' asks for '%s' in %s and for '%s' in the annotation %s; give one",
                                id, env_val, env_key, ann_val, ann_key);
        if (!v)
                return 0;
        if (!*v)
                return nm_error(err, -EINVAL, "container '%s': %s is empty; give the name of a %s", id,
                                env_val ? env_key : ann_key, streq(env_key, RUNTIME_ENV_NETNS) ? "namespace" : "network");
        *ret = strdup(v);
        if (!*ret)
                return -ENOMEM;
        if (ret_from)
                *ret_from = env_val ? env_key : ann_key;
        return 0;
}

int runtime_request_parse(json_object *config, const char *id, RuntimeRequest *ret, NmError *err) {
        _cleanup_(runtime_request_done) RuntimeRequest req = {};
        const char *ann_netns = NULL, *ann_network = NULL;
        json_object *annotations = NULL;
        int r;

        if (json_object_object_get_ex(config, "annotations", &annotations) &&
            json_object_is_type(annotations, json_type_object)) {
                json_object_object_foreach(annotations, key, val) {
                        if (!strneq(key, OCI_ANNOTATION_PREFIX, strlen(OCI_ANNOTATION_PREFIX)))
                                continue;
                        if (streq(key, OCI_ANNOTATION_PIN))
                                continue; /* the OCI hook's */
                        if (!streq(key, OCI_ANNOTATION_NETNS) && !streq(key, OCI_ANNOTATION_NETWORK))
                                return nm_error(err, -EOPNOTSUPP,
                                                "container '%s' has the annotation %s, which this nsmgr does not know (nsmgr-runtime knows "
                                                OCI_ANNOTATION_NETNS " and " OCI_ANNOTATION_NETWORK
                                                "); refusing to start it half-wired",
                                                id, key);
                        if (!json_object_is_type(val, json_type_string))
                                return nm_error(err, -EINVAL, "container '%s': annotation %s is not a string", id, key);
                        if (streq(key, OCI_ANNOTATION_NETNS))
                                ann_netns = json_object_get_string(val);
                        else
                                ann_network = json_object_get_string(val);
                }
        }

        r = pick(id, RUNTIME_ENV_NETNS, env_get(config, RUNTIME_ENV_NETNS), OCI_ANNOTATION_NETNS, ann_netns,
                 &req.netns, &req.netns_from, err);
        if (r < 0)
                return r;
        r = pick(id, RUNTIME_ENV_NETWORK, env_get(config, RUNTIME_ENV_NETWORK), OCI_ANNOTATION_NETWORK, ann_network,
                 &req.network, NULL, err);
        if (r < 0)
                return r;
        if (req.network && !req.netns)
                return nm_error(err, -EINVAL,
                                "container '%s' asks for the network '%s' but names no namespace; set " RUNTIME_ENV_NETNS
                                " (or " OCI_ANNOTATION_NETNS ") to the namespace to attach to it",
                                id, req.network);
        if (req.netns) {
                r = netns_name_check(req.netns, err);
                if (r < 0)
                        return nm_error_prefix(err, r, "container '%s': %s", id, req.netns_from);
        }
        *ret = req;
        req = (RuntimeRequest) {};
        return 0;
}

/* --- Whether it may join ---------------------------------------------------- */

static json_object *network_entry(json_object *config) {
        json_object *linux_ = NULL, *namespaces = NULL;

        if (!json_object_object_get_ex(config, "linux", &linux_) || !json_object_is_type(linux_, json_type_object) ||
            !json_object_object_get_ex(linux_, "namespaces", &namespaces) ||
            !json_object_is_type(namespaces, json_type_array))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(namespaces); i++) {
                json_object *e = json_object_array_get_idx(namespaces, i);
                const char *type = json_get_string(e, "type");

                if (type && streq(type, "network"))
                        return e;
        }
        return NULL;
}

char *runtime_docker_container_dir(json_object *config, const char *id) {
        static const char *const files[] = { "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", NULL };
        json_object *mounts = NULL;
        size_t idlen = strlen(id);

        if (idlen == 0 || strchr(id, '/'))
                return NULL;
        if (!json_object_object_get_ex(config, "mounts", &mounts) || !json_object_is_type(mounts, json_type_array))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                const char *dest = json_get_string(m, "destination"), *src = json_get_string(m, "source");
                const char *slash, *dir_end;
                size_t dirlen;
                bool known = false;

                if (!dest || !src || src[0] != '/')
                        continue;
                for (size_t f = 0; files[f]; f++)
                        known = known || streq(dest, files[f]);
                if (!known)
                        continue;
                /* SRC = .../containers/ID/FILE */
                slash = strrchr(src, '/');
                dir_end = slash;
                dirlen = (size_t) (dir_end - src);
                if (dirlen < idlen + strlen("/containers/") || !strneq(dir_end - idlen, id, idlen) ||
                    !strneq(dir_end - idlen - strlen("/containers/"), "/containers/", strlen("/containers/")))
                        continue;
                return strndup(src, dirlen);
        }
        return NULL;
}

static bool is_setkey_hook(json_object *hook) {
        json_object *args = NULL, *first;

        if (!json_object_is_type(hook, json_type_object) || !json_object_object_get_ex(hook, "args", &args) ||
            !json_object_is_type(args, json_type_array) || json_object_array_length(args) < 1)
                return false;
        first = json_object_array_get_idx(args, 0);
        return json_object_is_type(first, json_type_string) && streq(json_object_get_string(first), "libnetwork-setkey");
}

bool runtime_has_docker_hook(json_object *config) {
        json_object *hooks = NULL;

        if (!json_object_object_get_ex(config, "hooks", &hooks) || !json_object_is_type(hooks, json_type_object))
                return false;
        json_object_object_foreach(hooks, key, list) {
                (void) key;
                if (!json_object_is_type(list, json_type_array))
                        continue;
                for (size_t i = 0; i < json_object_array_length(list); i++)
                        if (is_setkey_hook(json_object_array_get_idx(list, i)))
                                return true;
        }
        return false;
}

int runtime_drop_docker_hook(json_object *config) {
        json_object *hooks = NULL;
        char **emptied = NULL;
        size_t n_emptied = 0;
        int dropped = 0;

        if (!json_object_object_get_ex(config, "hooks", &hooks) || !json_object_is_type(hooks, json_type_object))
                return 0;
        json_object_object_foreach(hooks, key, list) {
                size_t before;

                if (!json_object_is_type(list, json_type_array))
                        continue;
                before = json_object_array_length(list);
                for (size_t i = 0; i < json_object_array_length(list);) {
                        if (!is_setkey_hook(json_object_array_get_idx(list, i))) {
                                i++;
                                continue;
                        }
                        json_object_array_del_idx(list, i, 1);
                        dropped++;
                }
                /* A list that held only docker's hook goes too: the config
                 * is then what docker writes for a container that joins a
                 * path. */
                if (before > 0 && json_object_array_length(list) == 0) {
                        char **nv = realloc(emptied, (n_emptied + 1) * sizeof(char *));

                        if (!nv)
                                continue;
                        emptied = nv;
                        emptied[n_emptied++] = key;
                }
        }
        for (size_t i = 0; i < n_emptied; i++)
                json_object_object_del(hooks, emptied[i]);
        free(emptied);
        return dropped;
}

int runtime_check_container(json_object *config, const char *id, bool docker, json_object *hostconfig,
                            const char *name, NmError *err) {
        _cleanup_free_ char *nspath = NULL;
        json_object *entry;
        const char *path;

        nspath = netns_path(name);
        if (!nspath)
                return -ENOMEM;

        if (hostconfig) {
                const char *mode = json_get_string(hostconfig, "NetworkMode");

                if (!mode)
                        return nm_error(err, -EINVAL,
                                        "cannot tell the network mode of docker container '%s': its hostconfig.json has no NetworkMode",
                                        id);
                if (!streq(mode, "none"))
                        return nm_error(err, -EPERM,
                                        "container '%s' is on the docker network '%s'; to join '%s' it must run with --network none (network_mode: none), or docker keeps an interface of its own in the shared namespace, sets disable_ipv6 there and fights the others over eth0",
                                        id, streq(mode, "default") ? "bridge" : mode, name);
        } else if (docker)
                return nm_error(err, -EPERM,
                                "cannot tell the network mode of docker container '%s': there is no hostconfig.json next to the files docker binds at /etc/hostname, /etc/hosts and /etc/resolv.conf; refusing to join '%s'",
                                id, name);

        entry = network_entry(config);
        if (!entry)
                return nm_error(err, -EPERM,
                                "container '%s' runs in the machine's network namespace (its config.json has no \"network\" entry in linux.namespaces); to join '%s' it needs a namespace of its own (docker: --network none)",
                                id, name);
        path = json_get_string(entry, "path");
        if (path && *path && !streq(path, nspath))
                return nm_error(err, -EPERM,
                                "container '%s' already joins the network namespace %s (docker: --network container:...); to join '%s' instead, give it a namespace of its own (docker: --network none)",
                                id, path, name);
        return 0;
}

/* --- All of it ----------------------------------------------------------------- */

static int read_hostconfig(const char *dir, json_object **ret, NmError *err) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        if (asprintf(&path, "%s/hostconfig.json", dir) < 0)
                return -ENOMEM;
        r = read_full_file(path, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return nm_error(err, r, "cannot read docker's %s: %s", path, strerror(-r));
        r = json_parse_document(text, len, path, ret, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(*ret, json_type_object)) {
                json_object_put(*ret);
                *ret = NULL;
                return nm_error(err, -EINVAL, "docker's %s is not a JSON object", path);
        }
        return 0;
}

bool runtime_text_may_ask(const char *text, size_t len) {
        return memmem(text, len, RUNTIME_ENV_NETNS, strlen(RUNTIME_ENV_NETNS)) ||
               memmem(text, len, RUNTIME_ENV_NETWORK, strlen(RUNTIME_ENV_NETWORK)) ||
               memmem(text, len, OCI_ANNOTATION_PREFIX, strlen(OCI_ANNOTATION_PREFIX)) || memmem(text, len, "\\u", 2);
}

int runtime_prepare(const RuntimeArgs *a, runtime_attach_fn attach, void *userdata, NmError *err) {
        _cleanup_(oci_bundle_done) OciBundle b = {};
        _cleanup_(runtime_request_done) RuntimeRequest req = {};
        _cleanup_json_ json_object *hostconfig = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        _cleanup_close_ int nsfd = -EBADF;
        size_t len;
        int r;

        if (!a->create)
                return 0;
        /* Most containers ask for nothing: they are told apart without
         * parsing their config.json. */
        if (asprintf(&path, "%s/config.json", a->bundle) < 0)
                return -ENOMEM;
        if (read_full_file(path, &text, &len) < 0 || !runtime_text_may_ask(text, len))
                return 0;
        /* runc reads it too, and says what is wrong with it. */
        if (oci_bundle_load(a->bundle, &b, NULL) < 0)
                return 0;

        r = runtime_request_parse(b.config, a->id, &req, err);
        if (r < 0 || !req.netns)
                return r;

        dir = runtime_docker_container_dir(b.config, a->id);
        if (dir) {
                r = read_hostconfig(dir, &hostconfig, err);
                if (r < 0)
                        return r;
        }
        r = runtime_check_container(b.config, a->id, dir || runtime_has_docker_hook(b.config), hostconfig, req.netns,
                                    err);
        if (r < 0)
                return r;

        if (req.network) {
                r = attach(a->id, req.netns, req.network, a->nsmgr_config, userdata, err);
                if (r < 0)
                        return r;
        }
        r = netns_open(req.netns, &nsfd, err);
        if (r == -ENOENT) {
                nm_error_clear(err);
                return nm_error(err, r,
                                "namespace '%s' does not exist (there is no /run/netns/%s); make it first (nsmgrctl create %s, or declare it in nsmgr.conf), or name an nsmgr network in %s to have it made and attached",
                                req.netns, req.netns, req.netns,
                                streq(req.netns_from, RUNTIME_ENV_NETNS) ? RUNTIME_ENV_NETWORK : OCI_ANNOTATION_NETWORK);
        }
        if (r < 0)
                return r;

        r = oci_bundle_join_netns(&b, req.netns, err);
        if (r < 0)
                return r;
        (void) runtime_drop_docker_hook(b.config);
        r = oci_bundle_save(&b, err);
        if (r < 0)
                return r;
        return 1;
}

/* --- Log entries ----------------------------------------------------------------- */

/* Go's time.RFC3339 in local time: 2006-01-02T15:04:05Z07:00. */
static void rfc3339(time_t when, char buf[static 32]) {
        struct tm tm;
        long off;

        localtime_r(&when, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        off = tm.tm_gmtoff;
        if (off == 0) {
                strcat(buf, "Z");
                return;
        }
        /* Offsets are within a day. */
        snprintf(buf + strlen(buf), 8, "%c%02d:%02d", off < 0 ? '-' : '+', (int) (labs(off) / 3600 % 24),
                 (int) (labs(off) % 3600 / 60));
}

/* logrus's TextFormatter writes a value bare when it holds nothing but
 * [A-Za-z0-9-._/@^+], else as Go's %q does. */
static bool needs_quoting(const char *s) {
        for (; *s; s++)
                if (!(isalnum((unsigned char) *s) || strchr("-._/@^+", *s)))
                        return true;
        return false;
}

/* Length of the valid UTF-8 sequence at s, 0 if there is none. */
static size_t utf8_len(const unsigned char *s) {
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4;
        else
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

/* strconv.Quote, for the characters a message holds: ASCII escapes as Go
 * writes them, valid UTF-8 kept as is (Go keeps what unicode.IsPrint
 * says is printable, nearly all of it), invalid bytes as \xNN. */
static int go_quote(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = utf8_len(p);

                if (n > 1) {
                        fwrite(p, 1, n, f);
                        p += n;
                        continue;
                }
                switch (*p) {
                case '"':  fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\a': fputs("\\a", f); break;
                case '\b': fputs("\\b", f); break;
                case '\f': fputs("\\f", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                case '\v': fputs("\\v", f); break;
                default:
                        if (*p < 0x20 || *p >= 0x7f)
                                fprintf(f, "\\x%02x", *p);
                        else
                                fputc(*p, f);
                }
                p++;
        }
        fputc('"', f);
        return 0;
}

char *runtime_log_entry(bool json, const char *msg, time_t when) {
        char stamp[32], *out = NULL;
        size_t size = 0;
        FILE *f;

        rfc3339(when, stamp);
        if (json) {
                _cleanup_json_ json_object *o = json_object_new_object();

                if (!o)
                        return NULL;
                /* logrus's JSONFormatter: keys in Go's map order, sorted. */
                if (json_object_object_add(o, "level", json_object_new_string("error")) < 0 ||
                    json_object_object_add(o, "msg", json_object_new_string(msg)) < 0 ||
                    json_object_object_add(o, "time", json_object_new_string(stamp)) < 0)
                        return NULL;
                if (asprintf(&out, "%s\n",
                             json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
                        return NULL;
                return out;
        }
        f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        fputs("time=", f);
        go_quote(f, stamp);
        fputs(" level=error msg=", f);
        if (needs_quoting(msg))
                go_quote(f, msg);
        else
                fputs(msg, f);
        fputc('\n', f);
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}
