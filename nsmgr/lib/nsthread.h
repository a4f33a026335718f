/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Work inside another network namespace without moving the caller: the
 * function runs in a short-lived thread that joins the namespace (setns) or
 * makes a new one (unshare), and the thread ends with the work. The calling
 * thread's namespace never changes (crun's move_network_device does the
 * same). Returns the function's result. */
typedef int (*ns_fn_t)(void *userdata);

int ns_run_in(int nsfd, ns_fn_t fn, void *userdata);
int ns_run_in_new(ns_fn_t fn, void *userdata);

/* For a short-lived, single-threaded program (a one-shot nsmgrctl verb):
 * from now on ns_run_in(), ns_run_in_new() and ns_run_batch() run the
 * function on the calling thread, which enters the namespace and comes back
 * (as `ip netns add` does), instead of making a thread and waiting for the
 * scheduler to run it, which on a busy machine is most of a one-shot
 * command's extra time. If the thread cannot come back to its namespace
 * they return -ENOTRECOVERABLE, and the program must end. Never in nsmgrd. */
void ns_run_inline(void);

/* Runs fn(i, userdata) for i in [0, n) in one thread, which joins nsfds[i]
 * before each call (or makes a new namespace when nsfds[i] < 0). Stops at
 * the first failure and returns it, with *ret_failed set to its index. One
 * thread for a whole batch keeps the per-namespace price at one setns(). */
typedef int (*ns_batch_fn_t)(size_t i, void *userdata);
int ns_run_batch(const int *nsfds, size_t n, ns_batch_fn_t fn, void *userdata, size_t *ret_failed);

/* The same over several threads (one per online CPU, at most max_threads,
 * none with fewer than 16 items), which take the next index in turn: the
 * kernel makes namespaces and answers dumps in parallel. fn must be safe to
 * run concurrently for different i. After the first failure no new index
 * is started; returns that failure, with *ret_failed its index. */
int ns_run_batch_parallel(const int *nsfds, size_t n, ns_batch_fn_t fn, void *userdata, unsigned max_threads,
                          size_t *ret_failed);

/* Opens item i's namespace handle, in the worker that enters it: *ret_fd a
 * handle to join, or left negative for an item with nothing to enter (fn
 * is not called for it). A negative return fails the run. */
typedef int (*ns_open_fn_t)(size_t i, void *userdata, int *ret_fd);

/* ns_run_batch_parallel(), each handle opened by open_fn in the worker and
 * closed as soon as the worker is inside. A handle opened from a pin under
 * /run/netns keeps that mount busy -- a plain umount(8) of it fails with
 * EBUSY -- for as long as it is open; this way a pin is held only for the
 * moment a worker enters its namespace, never while a batch waits. */
int ns_run_open_parallel(size_t n, ns_open_fn_t open_fn, ns_batch_fn_t fn, void *userdata, unsigned max_threads,
                         size_t *ret_failed);
