/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <sched.h>
#include <stddef.h>

#include "macro.h"
#include "nsthread.h"

#define NS_THREAD_STACK (512 * 1024)

struct job {
        const int *nsfds;
        size_t n;
        ns_fn_t fn;
        ns_batch_fn_t batch_fn;
        void *userdata;
        size_t failed;
        int r;
};

static int enter(int nsfd) {
        if (nsfd < 0)
                return unshare(CLONE_NEWNET) < 0 ? negative_errno() : 0;
        return setns(nsfd, CLONE_NEWNET) < 0 ? negative_errno() : 0;
}

static void *thread_main(void *p) {
        struct job *j = p;

        for (size_t i = 0; i < j->n; i++) {
                j->r = enter(j->nsfds[i]);
                if (j->r >= 0)
                        j->r = j->fn ? j->fn(j->userdata) : j->batch_fn(i, j->userdata);
                if (j->r < 0) {
                        j->failed = i;
                        break;
                }
        }
        return NULL;
}

static int run(struct job *j) {
        pthread_attr_t attr;
        pthread_t t;
        int r;

        r = pthread_attr_init(&attr);
        if (r != 0)
                return -r;
        (void) pthread_attr_setstacksize(&attr, NS_THREAD_STACK);
        r = pthread_create(&t, &attr, thread_main, j);
        pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        r = pthread_join(t, NULL);
        if (r != 0)
                return -r;
        return j->r;
}

int ns_run_in(int nsfd, ns_fn_t fn, void *userdata) {
        int fds[1] = { nsfd };
        struct job j = { .nsfds = fds, .n = 1, .fn = fn, .userdata = userdata };

        if (nsfd < 0)
                return -EBADF;
        return run(&j);
}

int ns_run_in_new(ns_fn_t fn, void *userdata) {
        int fds[1] = { -1 };
        struct job j = { .nsfds = fds, .n = 1, .fn = fn, .userdata = userdata };

        return run(&j);
}

int ns_run_batch(const int *nsfds, size_t n, ns_batch_fn_t fn, void *userdata, size_t *ret_failed) {
        struct job j = { .nsfds = nsfds, .n = n, .batch_fn = fn, .userdata = userdata };
        int r;

        if (n == 0)
                return 0;
        r = run(&j);
        if (r < 0 && ret_failed)
                *ret_failed = j.failed;
        return r;
}
