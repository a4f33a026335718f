/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config.h"
#include "jsonfile.h"
#include "name.h"
#include "netns.h"
#include "network.h"
#include "ocihook.h"
#include "owner.h"
#include "reconcile.h"

#define STATE "the container state on stdin"

static int parse_annotations(json_object *annotations, OciHookRequest *req, NmError *err) {
        bool runtime = false;

        if (!annotations)
                return 0;
        if (!json_object_is_type(annotations, json_type_object))
                return nm_error(err, -EINVAL, STATE " is not an OCI state: 'annotations' is not an object");

        json_object_object_foreach(annotations, key, val) {
                const char *s;
                int r;

                if (!strneq(key, OCI_ANNOTATION_PREFIX, strlen(OCI_ANNOTATION_PREFIX)))
                        continue;
                if (streq(key, OCI_ANNOTATION_NETNS)) {
                        runtime = true;
                        continue;
                }
                if (!streq(key, OCI_ANNOTATION_PIN) && !streq(key, OCI_ANNOTATION_NETWORK))
                        return nm_error(err, -EOPNOTSUPP,
                                        "container '%s' has the annotation %s, which this nsmgr does not know (it knows "
                                        OCI_ANNOTATION_PIN ", " OCI_ANNOTATION_NETWORK " and " OCI_ANNOTATION_NETNS
                                        "); refusing to start it half-wired",
                                        req->id, key);
                if (!json_object_is_type(val, json_type_string))
                        return nm_error(err, -EINVAL, "container '%s': annotation %s is not a string", req->id, key);
                s = json_object_get_string(val);
                if (streq(key, OCI_ANNOTATION_NETWORK)) {
                        r = network_name_check(s, err);
                        if (r < 0)
                                return nm_error_prefix(err, r, "container '%s': annotation %s", req->id, key);
                        req->network = strdup(s);
                        if (!req->network)
                                return -ENOMEM;
                        continue;
                }
                r = netns_name_check(s, err);
                if (r < 0)
                        return nm_error_prefix(err, r, "container '%s': annotation %s", req->id, key);
                req->pin = strdup(s);
                if (!req->pin)
                        return -ENOMEM;
        }
        /* The runtime's request (it joined the container to org.nsmgr.netns
         * and attached that to the network before the container started). */
        if (req->network && !req->pin && runtime) {
                req->network = mfree(req->network);
                return 0;
        }
        if (req->network && !req->pin)
                return nm_error(err, -EINVAL,
                                "container '%s': annotation " OCI_ANNOTATION_NETWORK " needs " OCI_ANNOTATION_PIN
                                " too, a name to attach the namespace as",
                                req->id);
        return 0;
}

int oci_hook_parse(const char *text, size_t len, OciHookRequest *ret, NmError *err) {
        _cleanup_json_ json_object *state = NULL;
        OciHookRequest req = {};
        json_object *v = NULL;
        const char *s;
        int64_t pid;
        int r;

        r = json_parse_document(text, len, STATE, &state, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(state, json_type_object))
                return nm_error(err, -EINVAL, STATE " is not an OCI state (not a JSON object)");

        s = json_get_string(state, "id");
        {
                char show[NAME_SHOW_MAX];
                req.id = strdup(s ? name_show(s, show) : "?");
        }
        s = json_get_string(state, "bundle");
        req.bundle = s ? strdup(s) : NULL;
        if (!req.id || (s && !req.bundle)) {
                oci_hook_request_done(&req);
                return -ENOMEM;
        }

        if (!json_object_object_get_ex(state, "pid", &v) || !v || !json_object_is_type(v, json_type_int) ||
            (pid = json_object_get_int64(v)) <= 0) {
                r = nm_error(err, -EINVAL,
                             STATE " of container '%s' has no process ('pid'); run 'nsmgrctl oci-hook' as a createRuntime hook, when the container's process exists",
                             req.id);
                oci_hook_request_done(&req);
                return r;
        }
        if (pid > INT32_MAX) {
                r = nm_error(err, -EINVAL, STATE " of container '%s' has the pid %" PRId64 ", which is not a valid PID",
                             req.id, pid);
                oci_hook_request_done(&req);
                return r;
        }
        req.pid = (pid_t) pid;

        r = parse_annotations(json_object_object_get_ex(state, "annotations", &v) ? v : NULL, &req, err);
        if (r < 0) {
                oci_hook_request_done(&req);
                return r;
        }

        *ret = req;
        return 0;
}

int oci_hook_read_state(int fd, char **ret, size_t *ret_len, NmError *err) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        /* Up to one byte more than allowed, to tell a state that fits. */
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        size_t ncap = cap ? cap * 2 : 16384;
                        char *nbuf;

                        if (cap == OCI_HOOK_STATE_MAX + 1)
                                break;
                        if (ncap > OCI_HOOK_STATE_MAX + 1)
                                ncap = OCI_HOOK_STATE_MAX + 1;
                        nbuf = realloc(buf, ncap + 1);
                        if (!nbuf)
                                return -ENOMEM;
                        buf = nbuf;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return nm_error(err, negative_errno(), "cannot read " STATE ": %m");
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > OCI_HOOK_STATE_MAX)
                return nm_error(err, -EFBIG,
                                STATE " is over %d bytes (%d MiB), while an OCI state is a few KiB; run 'nsmgrctl oci-hook' as a createRuntime hook, which the runtime gives the container's state",
                                OCI_HOOK_STATE_MAX, OCI_HOOK_STATE_MAX >> 20);
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

void oci_hook_request_done(OciHookRequest *req) {
        req->id = mfree(req->id);
        req->bundle = mfree(req->bundle);
        req->pin = mfree(req->pin);
        req->network = mfree(req->network);
}

static bool same_file(int a, int b) {
        struct stat sa, sb;

        return fstat(a, &sa) >= 0 && fstat(b, &sb) >= 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int oci_hook_pin(const OciHookRequest *req, NmError *err) {
        _cleanup_close_ int nsfd = -EBADF;
        int r;

        if (!req->pin)
                return 0;

        r = netns_open_pid(req->pid, &nsfd, err);
        if (r < 0)
                return nm_error_prefix(err, r, "cannot pin '%s' for container '%s'", req->pin, req->id);
        if (netns_fd_is_host(nsfd))
                return nm_error(err, -EPERM,
                                "cannot pin '%s' for container '%s': the container runs in the machine's own network namespace (its config.json has no \"network\" entry in linux.namespaces)",
                                req->pin, req->id);

        /* Twice at most: a pin made by someone else between our look and
         * our pin is looked at once more. */
        for (unsigned attempt = 0;; attempt++) {
                _cleanup_error_ NmError lookerr = NM_ERROR_INIT;
                _cleanup_close_ int old = -EBADF;
                ino_t mine = 0, theirs = 0;

                r = netns_open(req->pin, &old, &lookerr);
                if (r >= 0) {
                        if (same_file(old, nsfd))
                                return 0;
                        (void) netns_fd_inode(nsfd, &mine);
                        (void) netns_fd_inode(old, &theirs);
                        return nm_error(err, -EEXIST,
                                        "cannot pin '%s' for container '%s': '%s' is already another network namespace (inode %ju; the container's is %ju); choose another name in org.nsmgr.pin, or remove the old one with 'nsmgrctl delete %s'",
                                        req->pin, req->id, req->pin, (uintmax_t) theirs, (uintmax_t) mine, req->pin);
                }
                /* -ENXIO: an empty placeholder left by a crash, which pinning
                 * takes over. */
                if (r != -ENOENT && r != -ENXIO) {
                        nm_error(err, r, "%s", nm_error_message(&lookerr));
                        return nm_error_prefix(err, r, "cannot pin '%s' for container '%s'", req->pin, req->id);
                }

                r = netns_pin_fd(req->pin, nsfd, false, OWNER_HOOK, err);
                if (r == -EEXIST && attempt == 0) {
                        nm_error_clear(err);
                        continue;
                }
                if (r < 0)
                        return nm_error_prefix(err, r, "cannot pin '%s' for container '%s'", req->pin, req->id);
                return 1;
        }
}

int oci_attach_network(const char *config, const char *id, const char *netns, const char *network, NmError *err) {
        _cleanup_config_ Config *cfg = NULL;
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *ifname = NULL;
        AttachRequest ar = { .netns = netns, .network = network };
        ReconcileReport report = {};
        Cidr a4, a6;
        int r;

        r = config_load(config, &cfg, err);
        if (r < 0)
                return r;
        lock = reconcile_lock(err);
        if (lock < 0)
                return lock;
        r = network_attach(cfg, &ar, &ifname, &a4, &a6, err);
        if (r == -EEXIST && err->msg && strstr(err->msg, "is already attached"))
                nm_error_clear(err);
        else if (r < 0)
                return nm_error_prefix(err, r, "container '%s'", id);
        r = reconcile_netns(cfg, netns, RECONCILE_LOCKED, &report, err);
        reconcile_report_done(&report);
        if (r < 0) {
                _cleanup_error_ NmError undo = NM_ERROR_INIT;
                ReconcileReport rr = {};

                (void) network_detach(cfg, netns, network, &undo);
                (void) reconcile_netns(cfg, netns, RECONCILE_LOCKED, &rr, &undo);
                reconcile_report_done(&rr);
                return nm_error_prefix(err, r, "container '%s': cannot attach '%s' to network '%s'", id, netns,
                                       network);
        }
        return 0;
}
