/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "nsthread.h"

/* Named network namespaces: nsfs handles bind-mounted at /run/netns/NAME. */

/* "/run/netns/NAME"; NULL on a bad name or no memory. */
char *netns_path(const char *name);

/* Checks that fd is a network namespace handle (fstatfs says nsfs and
 * NS_GET_NSTYPE says CLONE_NEWNET). `what` names it in the error. */
int netns_fd_check(int fd, const char *what, NmError *err);

/* Makes /run/netns exist and be a shared mount in its own peer group, so
 * that pins propagate into every mount namespace (also services started
 * later), the way iproute2 does it: under flock, MS_SHARED|MS_REC, and on
 * EINVAL bind it onto itself, make it private, then shared. Every pin does
 * it again (it may have been removed meanwhile). A symbolic link at
 * /run/netns is refused. */
int netns_dir_prepare(NmError *err);

/* True if something of nsfs is mounted at /run/netns/NAME: one statfs(),
 * for a quick look over many names before netns_open() of the few left. */
bool netns_pin_present(const char *name);

/* Opens the pinned namespace NAME, checked to be a live handle. */
int netns_open(const char *name, int *ret_fd, NmError *err);

/* True if fd refers to the machine's initial network namespace (that of
 * PID 1, or of kthreadd where PID 1 cannot be inspected). */
bool netns_fd_is_host(int fd);

/* The namespace inode ("namespace id" in lsns) behind an fd. The kernel
 * reuses the inode numbers of dead namespaces: an identity needs the cookie. */
int netns_fd_inode(int fd, ino_t *ret);
/* The namespace cookie (SO_NETNS_COOKIE, never reused while the machine
 * runs; 0 before Linux 5.14): of the namespace a socket lives in, and of a
 * namespace handle (through a socket made inside it by a short-lived thread). */
uint64_t netns_cookie_of_socket(int fd);
int netns_fd_cookie(int nsfd, uint64_t *ret);

typedef enum NetnsCreateFlags {
        NETNS_EXIST_OK = 1 << 0,
} NetnsCreateFlags;

/* Creates a network namespace with loopback up and pins it as NAME, from a
 * short-lived thread (no process is forked; the caller's namespace never
 * changes). Returns 1 when created, 0 when it existed (NETNS_EXIST_OK).
 * ret_fd, if given, receives an fd of the namespace. An empty placeholder
 * left by a crash is replaced; a file with content never is. With an
 * origin (owner.h), the owner record is written before the pin. */
int netns_create(const char *name, NetnsCreateFlags flags, const char *origin, int *ret_fd, NmError *err);

/* Creates many namespaces at once, each with loopback up, from a few
 * threads (one per CPU) that each make one after the other (the price per
 * namespace is then that of unshare() and the bind mount, shared among the
 * CPUs). Each entry gets an fd of its namespace and, if want_sockets, a
 * netlink socket bound to it. Stops at the first failure, which is undone;
 * the ones made stay (created = true) and the caller owns them. Names must
 * not exist yet (or be placeholders). */
struct NlSock;
typedef struct NetnsNew {
        const char *name;
        const char *origin;     /* owner record to write before the pin; NULL: none */
        bool want_socket;       /* keep a socket bound to it (want_sockets, or this) */
        bool no_fd;             /* keep no fd (fd is -EBADF): thousands at once would not fit under
                                 * the limit of open files; the socket, or the pin, stands for it */
        int fd;
        struct NlSock *nl;
        ino_t ino;
        uint64_t cookie;
        bool created;
} NetnsNew;
int netns_create_many(NetnsNew *v, size_t n, bool want_sockets, NmError *err);

/* Pins the namespace of a process. The process is addressed by a pidfd, so
 * a PID that is reused while we work cannot make us pin a stranger's
 * namespace; one that exits during the call is refused. */
int netns_pin_pid(const char *name, pid_t pid, bool allow_host, const char *origin, NmError *err);
/* Opens the network namespace of a process, through a pidfd as above. */
int netns_open_pid(pid_t pid, int *ret_fd, NmError *err);
/* Pins any network namespace handle (/proc/PID/task/TID/ns/net, another
 * bind mount). */
int netns_pin_path(const char *name, const char *path, bool allow_host, const char *origin, NmError *err);
/* Pins an open handle. With an origin, the owner record (owner.h) is
 * written before the pin, and removed if pinning fails. */
int netns_pin_fd(const char *name, int nsfd, bool allow_host, const char *origin, NmError *err);

/* Removes the pin: detach the mount and unlink the file, retrying on EBUSY
 * (a mount copy elsewhere that is still going away). A handle whose mount
 * is gone (an empty placeholder) is removed too. -ENOENT if missing. */
int netns_unpin(const char *name, NmError *err);

/* One entry of /run/netns, as `list` shows it. */
typedef struct NetnsEntry {
        char *name;
        bool broken;
        char *reason;       /* why it is broken */
        ino_t inode;        /* namespace inode when not broken */
        int nsid;           /* -1 if none assigned */
} NetnsEntry;

/* Every entry under /run/netns, sorted by name, broken ones included. */
int netns_list(NetnsEntry **ret, size_t *ret_n);
struct NlSock;
/* The same, asking the kernel for nsids through the given socket. */
int netns_list_nsid(NetnsEntry **ret, size_t *ret_n, struct NlSock *nl);
void netns_entries_free(NetnsEntry *e, size_t n);
