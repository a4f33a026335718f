/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "bus-def.h"
#include "etcfiles.h"
#include "fileio.h"
#include "name.h"
#include "netns.h"
#include "nsthread.h"
#include "observe.h"
#include "ops.h"
#include "overlap.h"
#include "owner.h"
#include "procscan.h"
#include "state.h"
#include "strv.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

void ops_result_done(OpsResult *r) {
        free(r->path);
        strv_free(r->warnings);
        *r = (OpsResult) {};
}

void ops_attachment_done(OpsAttachment *a) {
        free(a->ifname);
        *a = (OpsAttachment) {};
}

int ops_create(const char *name, OpsFlags flags, const char *origin, OpsResult *ret, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        OpsResult res = {};
        int r;

        /* Recorded as nsmgr's before it is pinned (owner.h). */
        r = netns_create(name, flags & OPS_EXIST_OK ? NETNS_EXIST_OK : 0, origin, &fd, err);
        if (r < 0)
                return r;
        res.changed = r > 0;
        (void) netns_fd_inode(fd, &res.inode);
        res.path = netns_path(name);
        if (!res.path) {
                ops_result_done(&res);
                return -ENOMEM;
        }
        *ret = res;
        return 0;
}

int ops_open_pidfd(const char *name, pid_t pid, int *ret_fd, NmError *err) {
        int fd;

        if (pid <= 0)
                return nm_error(err, -EINVAL, "cannot pin '%s': %d is not a valid PID (a positive number)", name, (int) pid);
        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0) {
                if (errno == ESRCH)
                        return nm_error(err, -ESRCH, "cannot pin '%s': there is no process with pid %d", name, (int) pid);
                return nm_error(err, negative_errno(), "cannot pin '%s': cannot open pid %d: %m", name, (int) pid);
        }
        *ret_fd = fd;
        return 0;
}

/* The PID behind a pidfd as this process sees it (fdinfo's "Pid:"): -1 once
 * it has exited, 0 when it lives in a PID namespace we cannot see into.
 * -EBADF when fd is no pidfd. */
static int pidfd_get_pid(int pidfd, pid_t *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *p;
        int pid;

        if (asprintf(&path, "/proc/self/fdinfo/%d", pidfd) < 0)
                return -ENOMEM;
        if (read_full_file(path, &text, NULL) < 0)
                return -EBADF;
        p = strstr(text, "\nPid:");
        if (!p || sscanf(p + 5, "%d", &pid) != 1)
                return -EBADF;
        *ret = pid;
        return 0;
}

struct pidfd_args {
        int nsfd;
};

/* The thread has joined the process's network namespace through its pidfd
 * (setns(2) takes a pidfd since Linux 5.8): it names that very process,
 * whatever happens to its PID meanwhile. */
static int open_own_netns_in_thread(void *userdata) {
        struct pidfd_args *a = userdata;

        a->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        return a->nsfd < 0 ? negative_errno() : 0;
}

int ops_pin_pidfd(const char *name, int pidfd, OpsFlags flags, const char *origin, OpsResult *ret, NmError *err) {
        _cleanup_close_ int nsfd = -EBADF;
        struct pidfd_args a = { .nsfd = -EBADF };
        char who[32] = "the process";
        pid_t pid = 0;
        int r;

        r = netns_name_check(name, err);
        if (r < 0)
                return r;
        r = pidfd_get_pid(pidfd, &pid);
        if (r < 0)
                return nm_error(err, -EBADF, "cannot pin '%s': the descriptor given is not a pidfd (see pidfd_open(2))", name);
        if (pid > 0)
                (void) snprintf(who, sizeof(who), "pid %d", (int) pid);
        if (pid < 0)
                return nm_error(err, -ESRCH, "cannot pin '%s': %s has exited", name, who);

        r = ns_run_in(pidfd, open_own_netns_in_thread, &a);
        nsfd = a.nsfd;
        if (r == -ESRCH)
                return nm_error(err, -ESRCH, "cannot pin '%s': %s has exited", name, who);
        if (r == -EPERM || r == -EACCES)
                return nm_error(err, r, "cannot pin '%s': not allowed to enter the namespace of %s; this needs root (CAP_SYS_ADMIN)",
                                name, who);
        if (r < 0)
                return nm_error(err, r, "cannot pin '%s': cannot open the network namespace of %s: %s", name, who,
                                strerror(-r));
        return ops_pin_handle(name, nsfd, flags, origin, ret, err);
}

int ops_open_handle(const char *name, const char *path, int *ret_fd, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        int r;

        /* O_PATH first: fstatfs works on it, and it opens nothing that could
         * block or have side effects (a FIFO, a device). */
        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return nm_error(err, -ENOENT, "cannot pin '%s': %s does not exist", name, path);
                return nm_error(err, negative_errno(), "cannot pin '%s': cannot open %s: %m", name, path);
        }
        if (fstatfs(fd, &sfs) < 0)
                return nm_error(err, negative_errno(), "cannot pin '%s': cannot inspect %s: %m", name, path);
        if (sfs.f_type != NSFS_MAGIC)
                return nm_error(err, -EMEDIUMTYPE, "cannot pin '%s': %s is not a namespace handle (not a file of nsfs)",
                                name, path);
        safe_close(fd);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return nm_error(err, negative_errno(), "cannot pin '%s': cannot open %s: %m", name, path);
        r = netns_fd_check(fd, path, err);
        if (r < 0)
                return nm_error_prefix(err, r, "cannot pin '%s'", name);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int ops_pin_handle(const char *name, int nsfd, OpsFlags flags, const char *origin, OpsResult *ret, NmError *err) {
        OpsResult res = {};
        int r;

        r = netns_fd_check(nsfd, "the handle", err);
        if (r < 0)
                return nm_error_prefix(err, r == -EINVAL ? -EMEDIUMTYPE : r, "cannot pin '%s'", name);
        r = netns_pin_fd(name, nsfd, flags & OPS_ALLOW_HOST, origin, err);
        if (r < 0)
                return r;
        (void) netns_fd_inode(nsfd, &res.inode);
        res.changed = true;
        res.path = netns_path(name);
        if (!res.path) {
                ops_result_done(&res);
                return -ENOMEM;
        }
        *ret = res;
        return 0;
}

static char *format_processes(const ProcScan *ps, size_t first, size_t count) {
        _cleanup_free_ char *out = NULL;
        size_t shown = count > 10 ? 10 : count;

        for (size_t i = 0; i < shown; i++) {
                _cleanup_free_ char *comm = proc_comm(ps->v[first + i].pid);
                char *s;

                if (asprintf(&s, "%s%s%d %s", out ? out : "", out ? ", " : "", (int) ps->v[first + i].pid,
                             comm ? comm : "?") < 0)
                        return NULL;
                free(out);
                out = s;
        }
        if (count > shown) {
                char *s;

                if (asprintf(&s, "%s and %zu more", out, count - shown) < 0)
                        return NULL;
                free(out);
                out = s;
        }
        return TAKE_PTR(out);
}

/* The config nsmgrd keeps declares NAME: deleting it would only make nsmgrd
 * put it back (and forget that nsmgr made it). */
static int refuse_declared_netns(const Config *managed, const char *name, NmError *err) {
        const Netns *ns = managed ? config_find_netns(managed, name) : NULL;

        if (!ns || ns->transient)
                return 0;
        return nm_error(err, -NSMGR_ERRNO_DECLARED,
                        "cannot delete '%s': %s:%d declares it and nsmgrd keeps what its config declares; remove it from %s and run 'nsmgrctl reload'",
                        name, ns->src.file, ns->src.line, ns->src.file);
}

int ops_delete(const char *name, OpsFlags flags, const Config *managed, OpsResult *ret, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        OpsResult res = {};
        int r;

        r = netns_name_check(name, err);
        if (r < 0)
                return r;
        r = refuse_declared_netns(managed, name, err);
        if (r < 0)
                return r;

        r = netns_open(name, &fd, err);
        if (r == -ENOENT && (flags & OPS_MISSING_OK)) {
                nm_error_clear(err);
                *ret = res;
                return 0;
        }
        if (r == -ENOENT)
                return r;
        if (r >= 0) {
                (void) netns_fd_inode(fd, &res.inode);
                if (!(flags & OPS_FORCE)) {
                        _cleanup_(proc_scan_done) ProcScan ps = {};
                        _cleanup_free_ char *list = NULL;
                        size_t first, count;

                        if (proc_scan_netns(res.inode, &ps) < 0)
                                return nm_error(err, -EIO, "cannot delete '%s': cannot find out which processes are inside",
                                                name);
                        count = proc_scan_find(&ps, res.inode, &first);
                        if (count > 0) {
                                list = format_processes(&ps, first, count);
                                return nm_error(err, -EBUSY,
                                                "cannot delete '%s': %zu process%s still inside (%s); stop %s or use --force to unpin it anyway",
                                                name, count, count == 1 ? " is" : "es are", list ? list : "?",
                                                count == 1 ? "it" : "them");
                        }
                }
        }
        /* A broken entry (-ENXIO: an empty placeholder) is removed too. */
        nm_error_clear(err);
        fd = safe_close(fd);

        r = netns_unpin(name, err);
        if (r == -ENOENT && (flags & OPS_MISSING_OK)) {
                nm_error_clear(err);
                *ret = res;
                return 0;
        }
        if (r < 0)
                return r;
        res.changed = true;
        (void) owner_forget(name);
        r = etc_files_remove(name);
        if (r < 0)
                (void) strv_extendf(&res.warnings,
                                    "cannot remove the name-resolution files nsmgr made for '%s' under " ETC_FILES_GENERATED_DIR "/%s: %s, ignoring",
                                    name, name, strerror(-r));
        *ret = res;
        return 0;
}

int ops_attach(const Config *cfg, const AttachRequest *req, OpsAttachment *ret, ReconcileReport *report,
               NmError *err) {
        _cleanup_close_ int lock = -EBADF;
        OpsAttachment res = {};
        int r;

        lock = reconcile_lock(err);
        if (lock < 0)
                return lock;
        r = network_attach(cfg, req, &res.ifname, &res.address, &res.address6, err);
        if (r < 0)
                return r;
        r = reconcile_netns(cfg, req->netns, RECONCILE_LOCKED, report, err);
        if (r < 0) {
                /* Nothing half-made stays: the lease goes, and with it what
                 * was made for it. */
                _cleanup_error_ NmError undo = NM_ERROR_INIT;
                ReconcileReport rr = {};

                (void) network_detach(cfg, req->netns, req->network, &undo);
                (void) reconcile_netns(cfg, req->netns, RECONCILE_LOCKED, &rr, &undo);
                reconcile_report_done(&rr);
                ops_attachment_done(&res);
                return r;
        }
        *ret = res;
        return 0;
}

int ops_detach(const Config *cfg, const char *netns, const char *network, ReconcileReport *report, NmError *err) {
        const Netns *ns = config_find_netns(cfg, netns);
        _cleanup_close_ int lock = -EBADF;
        int r;

        for (size_t i = 0; ns && !ns->transient && i < ns->n_attachments; i++)
                if (streq(ns->attachments[i].network, network))
                        return nm_error(err, -NSMGR_ERRNO_DECLARED,
                                        "cannot detach '%s' from '%s': %s:%d attaches it; remove it from %s and apply the config again ('nsmgrctl reload' when nsmgrd runs)",
                                        netns, network, ns->attachments[i].src.file, ns->attachments[i].src.line,
                                        ns->attachments[i].src.file);

        lock = reconcile_lock(err);
        if (lock < 0)
                return lock;
        r = network_detach(cfg, netns, network, err);
        if (r < 0)
                return r;
        return reconcile_netns(cfg, netns, RECONCILE_LOCKED, report, err);
}

int ops_apply(const Config *cfg, HostReadAhead *ahead_in, ReconcileFlags flags, ReconcileReport *report,
              char **ret_ifname, NmError *err) {
        _cleanup_(host_read_ahead_freep) HostReadAhead *ahead = ahead_in;
        int r;

        r = networks_check_host_overlap(cfg, ret_ifname, err);
        if (r < 0)
                return r;
        if (ahead)
                return reconcile_read_ahead(cfg, TAKE_PTR(ahead), flags, report, err);
        return reconcile(cfg, flags, report, err);
}

static bool same_file(const char *a, const char *b) {
        struct stat sa, sb;

        if (streq(a, b))
                return true;
        if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
                return false;
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool ops_same_config(char *const *files, char *const *daemon_files) {
        if (strv_length(files) != strv_length(daemon_files))
                return false;
        for (size_t i = 0; files && files[i]; i++)
                if (!same_file(files[i], daemon_files[i]))
                        return false;
        return true;
}

static char *files_text(char *const *files) {
        char *text = NULL;
        size_t len = 0;
        FILE *f;

        if (!files || !*files)
                return strdup(NSMGR_CONF_FILE " (missing: an empty config)");
        f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        STRV_FOREACH(p, files)
                fprintf(f, "%s%s", p == files ? "" : (p[1] ? ", " : " and "), *p);
        if (fclose(f) != 0)
                return mfree(text);
        return text;
}

int ops_refuse_other_config(char *const *files, char *const *daemon_files, OpsConflict how, NmError *err) {
        _cleanup_free_ char *mine = NULL, *theirs = NULL;

        if (ops_same_config(files, daemon_files))
                return 0;
        mine = files_text(files);
        theirs = files_text(daemon_files);
        if (!mine || !theirs)
                return -ENOMEM;
        switch (how) {
        case OPS_CONFLICT_FORCED:
                return nm_error(err, -NSMGR_ERRNO_DECLARED,
                                "applying %s although nsmgrd keeps %s in force: nsmgrd will put back what it declares and remove what only this declares",
                                mine, theirs);
        case OPS_CONFLICT_PLAN:
                return nm_error(err, -NSMGR_ERRNO_DECLARED,
                                "nsmgrd keeps %s in force, not %s: this plan is what applying it would do, and nsmgrd would undo it",
                                theirs, mine);
        case OPS_CONFLICT_REFUSE:
        default:
                return nm_error(err, -NSMGR_ERRNO_DECLARED,
                                "cannot apply %s: nsmgrd keeps %s in force and would undo what this changes; edit %s and run 'nsmgrctl reload', or use --force to apply it anyway",
                                mine, theirs, strv_length(daemon_files) > 1 ? "those files" : theirs);
        }
}

int ops_pin_restored(const char *name, ino_t ino) {
        _cleanup_free_ char *origin = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t cookie = 0, rec_cookie = 0;
        ino_t rec = 0, now = 0;
        int r;

        /* The namespace now pinned under the name, as it is there. */
        if (netns_open(name, &fd, NULL) < 0 || netns_fd_inode(fd, &now) < 0 || now != ino)
                return 0;
        (void) netns_fd_cookie(fd, &cookie);

        /* Only a teardown by nsmgr forgets a namespace nsmgrd still
         * watches, and nsmgr tears down only what it made: a record of
         * another namespace under this name is left as it is. */
        r = owner_read(name, &rec, &rec_cookie, &origin);
        if (r < 0)
                return r;
        if (r > 0)
                return 0;
        return owner_record(name, ino, cookie, OWNER_CONFIG);
}

int plan_step_add(PlanStep **v, size_t *n, const char *action, const char *kind, const char *netns,
                  const char *ifname, const char *detail, const char *text) {
        PlanStep *nv = realloc(*v, (*n + 1) * sizeof(PlanStep));
        PlanStep *s;

        if (!nv)
                return -ENOMEM;
        *v = nv;
        s = &nv[*n];
        *s = (PlanStep) {
                .action = action ? strdup(action) : NULL,
                .kind = kind ? strdup(kind) : NULL,
                .netns = netns ? strdup(netns) : NULL,
                .ifname = ifname ? strdup(ifname) : NULL,
                .detail = detail ? strdup(detail) : NULL,
                .text = text ? strdup(text) : NULL,
        };
        (*n)++;
        if ((action && !s->action) || (kind && !s->kind) || (netns && !s->netns) || (ifname && !s->ifname) ||
            (detail && !s->detail) || (text && !s->text))
                return -ENOMEM;
        return 0;
}

void plan_steps_free(PlanStep *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].action);
                free(v[i].kind);
                free(v[i].netns);
                free(v[i].ifname);
                free(v[i].detail);
                free(v[i].text);
        }
        free(v);
}

int plan_steps_from_report(const ReconcileReport *r, PlanStep **v, size_t *n) {
        int k = 0;

        for (size_t i = 0; i < r->n_steps && k >= 0; i++) {
                const PlanStep *s = &r->steps[i];

                k = plan_step_add(v, n, s->action, s->kind, s->netns, s->ifname, s->detail, s->text);
        }
        if (r->n_steps == 0)
                STRV_FOREACH(c, r->changes)
                        if (k >= 0)
                                k = plan_step_add(v, n, NULL, NULL, NULL, NULL, NULL, *c);
        return k;
}
