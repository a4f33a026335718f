/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

#include "macro.h"
#include "nsthread.h"

#define NS_THREAD_STACK (512 * 1024)

struct job {
        const int *nsfds;
        ns_open_fn_t open_fn;   /* instead of nsfds */
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

/* Enters item i's namespace: nsfds[i], or the handle open_fn opens, which
 * is closed as soon as we are inside. *ret_skip: open_fn said there is
 * nothing to enter for this item. */
static int enter_item(const int *nsfds, ns_open_fn_t open_fn, size_t i, void *userdata, bool *ret_skip) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        *ret_skip = false;
        if (!open_fn)
                return enter(nsfds[i]);
        r = open_fn(i, userdata, &fd);
        if (r < 0)
                return r;
        if (fd < 0) {
                *ret_skip = true;
                return 0;
        }
        return enter(fd);
}

static void *thread_main(void *p) {
        struct job *j = p;

        for (size_t i = 0; i < j->n; i++) {
                bool skip;

                j->r = enter_item(j->nsfds, j->open_fn, i, j->userdata, &skip);
                if (skip)
                        continue;
                if (j->r >= 0)
                        j->r = j->fn ? j->fn(j->userdata) : j->batch_fn(i, j->userdata);
                if (j->r < 0) {
                        j->failed = i;
                        break;
                }
        }
        return NULL;
}

static bool inline_ok = false;

void ns_run_inline(void) {
        inline_ok = true;
}

static int run_here(struct job *j) {
        _cleanup_close_ int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

        if (home < 0)
                return negative_errno();
        thread_main(j);
        if (setns(home, CLONE_NEWNET) < 0)
                return -ENOTRECOVERABLE;
        return j->r;
}

static int run(struct job *j) {
        pthread_attr_t attr;
        pthread_t t;
        int r;

        if (inline_ok)
                return run_here(j);
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

struct pjob {
        const int *nsfds;
        ns_open_fn_t open_fn;   /* instead of nsfds */
        size_t n;
        ns_batch_fn_t fn;
        void *userdata;
        atomic_size_t next;
        atomic_bool stop;
        pthread_mutex_t lock;
        size_t failed;
        int r;
};

static void *pthread_main(void *p) {
        struct pjob *j = p;

        while (!atomic_load(&j->stop)) {
                size_t i = atomic_fetch_add(&j->next, 1);
                bool skip;
                int r;

                if (i >= j->n)
                        break;
                r = enter_item(j->nsfds, j->open_fn, i, j->userdata, &skip);
                if (skip)
                        continue;
                if (r >= 0)
                        r = j->fn(i, j->userdata);
                if (r < 0) {
                        atomic_store(&j->stop, true);
                        pthread_mutex_lock(&j->lock);
                        if (j->r >= 0 || i < j->failed) {
                                j->r = r;
                                j->failed = i;
                        }
                        pthread_mutex_unlock(&j->lock);
                        break;
                }
        }
        return NULL;
}

static int run_batch(const int *nsfds, ns_open_fn_t open_fn, size_t n, ns_batch_fn_t fn, void *userdata,
                     size_t *ret_failed) {
        struct job j = { .nsfds = nsfds, .open_fn = open_fn, .n = n, .batch_fn = fn, .userdata = userdata };
        int r;

        if (n == 0)
                return 0;
        r = run(&j);
        if (r < 0 && ret_failed)
                *ret_failed = j.failed;
        return r;
}

static int run_parallel(const int *nsfds, ns_open_fn_t open_fn, size_t n, ns_batch_fn_t fn, void *userdata,
                        unsigned max_threads, size_t *ret_failed) {
        struct pjob j = { .nsfds = nsfds, .open_fn = open_fn, .n = n, .fn = fn, .userdata = userdata,
                          .lock = PTHREAD_MUTEX_INITIALIZER };
        pthread_t t[64];
        pthread_attr_t attr;
        size_t started = 0;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t want = cpus > 0 ? (size_t) cpus : 1;

        if (n == 0)
                return 0;
        if (max_threads && want > max_threads)
                want = max_threads;
        if (want > n / 16)
                want = n / 16;
        if (want > ELEMENTSOF(t))
                want = ELEMENTSOF(t);
        if (want <= 1)
                return run_batch(nsfds, open_fn, n, fn, userdata, ret_failed);

        if (pthread_attr_init(&attr) != 0)
                return -ENOMEM;
        (void) pthread_attr_setstacksize(&attr, NS_THREAD_STACK);
        for (; started < want; started++)
                if (pthread_create(&t[started], &attr, pthread_main, &j) != 0)
                        break;
        pthread_attr_destroy(&attr);
        if (started == 0)
                return run_batch(nsfds, open_fn, n, fn, userdata, ret_failed);
        for (size_t k = 0; k < started; k++)
                (void) pthread_join(t[k], NULL);
        if (j.r < 0 && ret_failed)
                *ret_failed = j.failed;
        return j.r;
}

int ns_run_batch(const int *nsfds, size_t n, ns_batch_fn_t fn, void *userdata, size_t *ret_failed) {
        return run_batch(nsfds, NULL, n, fn, userdata, ret_failed);
}

int ns_run_batch_parallel(const int *nsfds, size_t n, ns_batch_fn_t fn, void *userdata, unsigned max_threads,
                          size_t *ret_failed) {
        return run_parallel(nsfds, NULL, n, fn, userdata, max_threads, ret_failed);
}

int ns_run_open_parallel(size_t n, ns_open_fn_t open_fn, ns_batch_fn_t fn, void *userdata, unsigned max_threads,
                         size_t *ret_failed) {
        return run_parallel(NULL, open_fn, n, fn, userdata, max_threads, ret_failed);
}
