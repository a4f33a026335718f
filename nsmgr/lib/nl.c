/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include "nl.h"
#include "nsthread.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg) {
        NlSock *s = arg;
        struct nlmsghdr *hdr = (struct nlmsghdr *) ((char *) e - NLMSG_HDRLEN);
        struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {};
        size_t off;

        s->last_errno = e->error < 0 ? -e->error : e->error;
        s->last_msg[0] = 0;

        /* Extended ack TLVs follow the error (and the echoed request unless
         * the kernel capped it): see netlink(7), NETLINK_EXT_ACK. */
        if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
                return NL_STOP;
        off = sizeof(*e);
        if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(e->msg);
        if (hdr->nlmsg_len < NLMSG_HDRLEN + off)
                return NL_STOP;
        if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *) ((char *) e + NLMSG_ALIGN(off)),
                      (int) (hdr->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(off)), NULL) < 0)
                return NL_STOP;
        if (tb[NLMSGERR_ATTR_MSG])
                nla_strlcpy(s->last_msg, tb[NLMSGERR_ATTR_MSG], sizeof(s->last_msg));
        return NL_STOP;
}

static int open_socket(NlSock **ret, bool plain) {
        NlSock *s;
        int one = 1, r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->sk = nl_socket_alloc();
        if (!s->sk) {
                free(s);
                return -ENOMEM;
        }
        r = nl_connect(s->sk, NETLINK_ROUTE);
        if (r < 0) {
                r = errno > 0 ? -errno : -EIO;
                nls_close(s);
                return r;
        }
        /* A buffer big enough for any message the kernel sends (it caps a
         * dump's batch at 32 KiB) lets libnl read each batch with one
         * recvmsg() instead of a peek and a read. */
        (void) nl_socket_set_msg_buf_size(s->sk, 64 * 1024);
        if (plain) {
                *ret = s;
                return 0;
        }
        (void) setsockopt(nl_socket_get_fd(s->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void) setsockopt(nl_socket_get_fd(s->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        nl_socket_modify_err_cb(s->sk, NL_CB_CUSTOM, on_error, s);
        *ret = s;
        return 0;
}

int nls_open(NlSock **ret) {
        return open_socket(ret, false);
}

int nls_open_plain(NlSock **ret) {
        return open_socket(ret, true);
}

struct open_in_args {
        NlSock *sock;
};

static int open_in_thread(void *userdata) {
        struct open_in_args *a = userdata;

        return nls_open(&a->sock);
}

int nls_open_in(int nsfd, NlSock **ret) {
        struct open_in_args a = {};
        int r;

        r = ns_run_in(nsfd, open_in_thread, &a);
        if (r < 0)
                return r;
        *ret = a.sock;
        return 0;
}

void nls_close(NlSock *s) {
        if (!s)
                return;
        nl_socket_free(s->sk);
        free(s);
}

void nls_set_no_ack(NlSock *s) {
        nl_socket_disable_auto_ack(s->sk);
        s->no_ack = true;
}

void nls_reset_error(NlSock *s) {
        s->last_errno = 0;
        s->last_msg[0] = 0;
}

const char *nls_last_message(const NlSock *s) {
        return s && s->last_msg[0] ? s->last_msg : NULL;
}

int nls_errno(const NlSock *s, int nlerr) {
        if (nlerr >= 0)
                return nlerr;
        if (s && s->last_errno > 0)
                return -s->last_errno;

        switch (-nlerr) {
        case NLE_INTR:
        case NLE_DUMP_INTR:         return -EINTR;
        case NLE_BAD_SOCK:          return -EBADF;
        case NLE_AGAIN:             return -EAGAIN;
        case NLE_NOMEM:             return -ENOMEM;
        case NLE_EXIST:             return -EEXIST;
        case NLE_INVAL:             return -EINVAL;
        case NLE_RANGE:             return -ERANGE;
        case NLE_MSGSIZE:
        case NLE_MSG_OVERFLOW:
        case NLE_MSG_TRUNC:
        case NLE_MSG_TOOSHORT:      return -EMSGSIZE;
        case NLE_OPNOTSUPP:
        case NLE_SRCRT_NOSUPPORT:
        case NLE_MSGTYPE_NOSUPPORT: return -EOPNOTSUPP;
        case NLE_AF_NOSUPPORT:
        case NLE_AF_MISMATCH:       return -EAFNOSUPPORT;
        case NLE_OBJ_NOTFOUND:      return -ENOENT;
        case NLE_NOATTR:
        case NLE_MISSING_ATTR:      return -ENODATA;
        case NLE_SEQ_MISMATCH:      return -EILSEQ;
        case NLE_NOADDR:            return -EADDRNOTAVAIL;
        case NLE_BUSY:              return -EBUSY;
        case NLE_PROTO_MISMATCH:    return -EPROTONOSUPPORT;
        case NLE_NOACCESS:          return -EACCES;
        case NLE_PERM:              return -EPERM;
        case NLE_NODEV:             return -ENODEV;
        case NLE_IMMUTABLE:         return -EROFS;
        case NLE_ATTRSIZE:          return -E2BIG;
        default:                    return -EIO;
        }
}

struct nsid_result {
        int nsid;
        bool found;
};

static int parse_nsid(struct nl_msg *msg, void *arg) {
        struct nsid_result *res = arg;
        struct nlattr *tb[NETNSA_MAX + 1];

        if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) < 0)
                return NL_SKIP;
        if (tb[NETNSA_NSID]) {
                res->nsid = (int) nla_get_s32(tb[NETNSA_NSID]);
                res->found = true;
        }
        return NL_OK;
}

int nls_get_nsid(NlSock *s, int nsfd, int *ret_nsid) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
        struct nsid_result res = { .nsid = -1 };
        struct nl_cb *cb, *orig;
        int r;

        msg = nlmsg_alloc_simple(RTM_GETNSID, NLM_F_REQUEST);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &g, sizeof(g), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, NETNSA_FD, (uint32_t) nsfd) < 0)
                return -EMSGSIZE;

        nls_reset_error(s);
        r = nl_send_auto(s->sk, msg);
        if (r < 0)
                return nls_errno(s, r);

        orig = nl_socket_get_cb(s->sk);
        cb = nl_cb_clone(orig);
        nl_cb_put(orig);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, parse_nsid, &res);
        r = nl_recvmsgs(s->sk, cb);
        nl_cb_put(cb);
        if (r < 0)
                return nls_errno(s, r);
        /* The reply came first; the ACK the request asked for follows. */
        if (!s->no_ack) {
                r = nl_wait_for_ack(s->sk);
                if (r < 0)
                        return nls_errno(s, r);
        }

        *ret_nsid = res.found ? res.nsid : -1;
        return 0;
}
