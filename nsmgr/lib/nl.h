/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* glibc before the kernel headers libnl pulls in (linux/libc-compat.h). */
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>

#include "macro.h"

/* An rtnetlink socket together with what the kernel said about the last
 * failed request: the real errno (libnl folds many into NLE_FAILURE) and
 * the extended-ack message ("Unknown device type"). */
typedef struct NlSock {
        struct nl_sock *sk;
        bool no_ack;             /* requests go without NLM_F_ACK (nls_set_no_ack) */
        int last_errno;          /* positive */
        char last_msg[256];      /* extack text of the last error, or "" */
} NlSock;

/* Opens a socket in the calling thread's network namespace. */
int nls_open(NlSock **ret);
/* The same without extended acks and a big message buffer: for a request
 * or two that cannot fail in interesting ways (loopback up). */
int nls_open_plain(NlSock **ret);
/* Opens a socket bound to the network namespace nsfd without moving the
 * calling thread: a short-lived thread joins the namespace and connects. */
int nls_open_in(int nsfd, NlSock **ret);
void nls_close(NlSock *s);
/* For a socket used only for queries with one reply each (RTM_GETNSID):
 * no ACK is asked for, so each costs one message back instead of two.
 * libnl checks sequence numbers only with its ACKs, so nothing else may
 * share such a socket. */
void nls_set_no_ack(NlSock *s);

/* Turns a libnl return value (negative NLE_*) into a negative errno, using
 * the socket's record of the kernel's own errno where there is one. This is
 * the one place where NLE codes become errnos. */
int nls_errno(const NlSock *s, int nlerr);
/* The kernel's extack message for the last failure, or NULL. */
const char *nls_last_message(const NlSock *s);
void nls_reset_error(NlSock *s);

DEFINE_TRIVIAL_CLEANUP_FUNC(NlSock *, nls_close);
#define _cleanup_nl_ _cleanup_(nls_closep)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);
#define _cleanup_cache_ _cleanup_(nl_cache_freep)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
#define _cleanup_link_ _cleanup_(rtnl_link_putp)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put);
#define _cleanup_addr_ _cleanup_(rtnl_addr_putp)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put);
#define _cleanup_route_ _cleanup_(rtnl_route_putp)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put);
#define _cleanup_nladdr_ _cleanup_(nl_addr_putp)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free);
#define _cleanup_nlmsg_ _cleanup_(nlmsg_freep)

/* The netnsid (RTM_GETNSID) the namespace behind nsfd has in the socket's
 * namespace; -1 when none is assigned. */
int nls_get_nsid(NlSock *s, int nsfd, int *ret_nsid);
