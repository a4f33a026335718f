/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "etcfiles.h"
#include "fileio.h"
#include "jsonfile.h"
#include "netns.h"
#include "oci.h"

json_object *oci_netns_entry(const char *netns_path) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "type", json_object_new_string("network"));
        json_object_object_add(o, "path", json_object_new_string(netns_path));
        return o;
}

/* A mount destination compared lexically, as runtimes do before they
 * resolve it: "etc//hosts/" and "/etc/./hosts" are "/etc/hosts". ".." is
 * kept, as it depends on the container's symlinks. */
static bool destination_equal(const char *dest, const char *want) {
        const char *p = dest, *q = want;

        for (;;) {
                /* Skip separators and "." steps on both sides. */
                for (;;) {
                        if (*p == '/')
                                p++;
                        else if (p[0] == '.' && (p[1] == '/' || p[1] == 0))
                                p++;
                        else
                                break;
                }
                for (;;) {
                        if (*q == '/')
                                q++;
                        else if (q[0] == '.' && (q[1] == '/' || q[1] == 0))
                                q++;
                        else
                                break;
                }
                if (*p == 0 || *q == 0)
                        return *p == *q;
                while (*p && *p != '/' && *p == *q) {
                        p++;
                        q++;
                }
                if ((*p != 0 && *p != '/') || (*q != 0 && *q != '/'))
                        return false;
        }
}

static const char *type_name(json_type t) {
        return t == json_type_object ? "an object" : "an array";
}

/* parent[key] of the given type, made when absent or null. */
static int member(json_object *parent, const char *key, json_type type, const char *field, json_object **ret,
                  NmError *err) {
        json_object *v = NULL;

        if (json_object_object_get_ex(parent, key, &v) && v) {
                if (!json_object_is_type(v, type))
                        return nm_error(err, -EINVAL, "'%s' is not %s", field, type_name(type));
                *ret = v;
                return 0;
        }
        v = type == json_type_object ? json_object_new_object() : json_object_new_array();
        if (!v)
                return -ENOMEM;
        /* Replacing a null keeps the key where it was. */
        if (json_object_object_add(parent, key, v) < 0)
                return -ENOMEM;
        *ret = v;
        return 0;
}

static int join_network(json_object *namespaces, const char *netns_path) {
        bool found = false;
        json_object *e;

        for (size_t i = 0; i < json_object_array_length(namespaces);) {
                const char *type;

                e = json_object_array_get_idx(namespaces, i);
                type = json_get_string(e, "type");
                if (!type || !streq(type, "network")) {
                        i++;
                        continue;
                }
                if (found) {
                        /* runc refuses a config with two. */
                        json_object_array_del_idx(namespaces, i, 1);
                        continue;
                }
                if (json_object_object_add(e, "path", json_object_new_string(netns_path)) < 0)
                        return -ENOMEM;
                found = true;
                i++;
        }
        if (found)
                return 0;
        e = oci_netns_entry(netns_path);
        if (!e || json_object_array_add(namespaces, e) < 0) {
                json_object_put(e);
                return -ENOMEM;
        }
        return 0;
}

static json_object *bind_mount(const char *destination, const char *source) {
        json_object *m = json_object_new_object(), *opts = json_object_new_array();

        if (!m || !opts) {
                json_object_put(m);
                json_object_put(opts);
                return NULL;
        }
        json_object_object_add(m, "destination", json_object_new_string(destination));
        json_object_object_add(m, "type", json_object_new_string("bind"));
        json_object_object_add(m, "source", json_object_new_string(source));
        /* Read-only: the file is the namespace's, shared by every container
         * in it (and may be the machine's /etc/netns/NAME/ file). */
        json_object_array_add(opts, json_object_new_string("rbind"));
        json_object_array_add(opts, json_object_new_string("ro"));
        json_object_object_add(m, "options", opts);
        return m;
}

static int set_mount(json_object *mounts, const char *destination, const char *source) {
        json_object *m = bind_mount(destination, source);
        bool placed = false;

        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(mounts);) {
                const char *d = json_get_string(json_object_array_get_idx(mounts, i), "destination");

                if (!d || !destination_equal(d, destination)) {
                        i++;
                        continue;
                }
                if (placed) {
                        json_object_array_del_idx(mounts, i, 1);
                        continue;
                }
                if (json_object_array_put_idx(mounts, i, m) < 0) {
                        json_object_put(m);
                        return -ENOMEM;
                }
                placed = true;
                i++;
        }
        if (placed)
                return 0;
        if (json_object_array_add(mounts, m) < 0) {
                json_object_put(m);
                return -ENOMEM;
        }
        return 0;
}

int oci_config_join(json_object *config, const OciJoin *j, NmError *err) {
        json_object *linux_ = NULL, *namespaces = NULL, *mounts = NULL;
        int r;

        if (!json_object_is_type(config, json_type_object))
                return nm_error(err, -EINVAL, "it is not a JSON object");
        if (!j->netns_path)
                return nm_error(err, -EINVAL, "no namespace path to join");

        r = member(config, "linux", json_type_object, "linux", &linux_, err);
        if (r < 0)
                return r;
        r = member(linux_, "namespaces", json_type_array, "linux.namespaces", &namespaces, err);
        if (r < 0)
                return r;
        r = join_network(namespaces, j->netns_path);
        if (r < 0)
                return r;

        if (!j->resolv_conf && !j->hosts)
                return 0;
        r = member(config, "mounts", json_type_array, "mounts", &mounts, err);
        if (r < 0)
                return r;
        if (j->resolv_conf) {
                r = set_mount(mounts, "/etc/resolv.conf", j->resolv_conf);
                if (r < 0)
                        return r;
        }
        if (j->hosts) {
                r = set_mount(mounts, "/etc/hosts", j->hosts);
                if (r < 0)
                        return r;
        }
        return 0;
}

int oci_bundle_load(const char *bundle, OciBundle *ret, NmError *err) {
        _cleanup_(oci_bundle_done) OciBundle b = {};
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        int r;

        if (asprintf(&b.path, "%s/config.json", bundle) < 0)
                return -ENOMEM;
        b.target = realpath(b.path, NULL);
        if (!b.target) {
                if (errno == ENOENT)
                        return nm_error(err, -ENOENT,
                                        "cannot patch bundle %s: there is no %s (a bundle is a folder with config.json; 'runc spec' writes one)",
                                        bundle, b.path);
                return nm_error(err, negative_errno(), "cannot patch bundle %s: cannot resolve %s: %m", bundle, b.path);
        }
        fd = open(b.target, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return nm_error(err, negative_errno(), "cannot patch %s: cannot open it: %m", b.path);
        if (fstat(fd, &b.st) < 0)
                return nm_error(err, negative_errno(), "cannot patch %s: cannot inspect it: %m", b.path);
        if (!S_ISREG(b.st.st_mode))
                return nm_error(err, -EINVAL, "cannot patch %s: it is not a regular file", b.path);
        r = read_full_fd(fd, &b.text, &len);
        if (r < 0)
                return nm_error(err, r, "cannot patch %s: cannot read it: %s", b.path, strerror(-r));
        if (strlen(b.text) != len)
                return nm_error(err, -EINVAL, "cannot patch %s: it contains a NUL byte, so it is not JSON", b.path);

        r = json_parse_document(b.text, len, "it", &b.config, err);
        if (r < 0)
                return nm_error_prefix(err, r, "cannot patch %s", b.path);
        if (!json_object_is_type(b.config, json_type_object))
                return nm_error(err, -EINVAL, "cannot patch %s: it is not an OCI runtime config (not a JSON object)",
                                b.path);
        *ret = b;
        b = (OciBundle) {};
        return 0;
}

int oci_bundle_join_netns(OciBundle *b, const char *name, NmError *err) {
        _cleanup_free_ char *nspath = NULL;
        EtcFiles files = {};
        int r;

        nspath = netns_path(name);
        if (!nspath)
                return -ENOMEM;
        r = etc_files_locate(name, &files, err);
        if (r < 0)
                return r;
        r = oci_config_join(b->config,
                            &(OciJoin) { .netns_path = nspath, .resolv_conf = files.resolv_conf, .hosts = files.hosts },
                            err);
        if (r < 0) {
                etc_files_done(&files);
                return nm_error_prefix(err, r, "cannot patch %s", b->path);
        }
        r = etc_files_refresh(name, &files, err);
        etc_files_done(&files);
        if (r < 0)
                return nm_error_prefix(err, r, "cannot prepare the name-resolution files of '%s'", name);
        return 0;
}

int oci_bundle_save(const OciBundle *b, NmError *err) {
        _cleanup_free_ char *out = NULL;
        int r;

        out = json_format_document(b->config, json_text_uses_tabs(b->text));
        if (!out)
                return -ENOMEM;
        if (streq(out, b->text))
                return 0;
        r = write_file_atomic_owned(b->target, out, strlen(out), b->st.st_mode & 07777, b->st.st_uid, b->st.st_gid);
        if (r < 0)
                return nm_error(err, r, "cannot write %s: %s", b->target, strerror(-r));
        return 1;
}

void oci_bundle_done(OciBundle *b) {
        b->path = mfree(b->path);
        b->target = mfree(b->target);
        b->text = mfree(b->text);
        if (b->config)
                json_object_put(b->config);
        b->config = NULL;
}

int oci_bundle_join(const char *bundle, const char *name, NmError *err) {
        _cleanup_(oci_bundle_done) OciBundle b = {};
        _cleanup_close_ int nsfd = -EBADF;
        int r;

        /* First what can fail without touching anything. */
        r = netns_open(name, &nsfd, err);
        if (r < 0)
                return r;
        r = oci_bundle_load(bundle, &b, err);
        if (r < 0)
                return r;
        r = oci_bundle_join_netns(&b, name, err);
        if (r < 0)
                return r;
        return oci_bundle_save(&b, err);
}
