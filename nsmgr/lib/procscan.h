/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Which processes are in which network namespace: one pass over /proc
 * (what `lsns -t net` and `ip netns pids` read), then lookups by inode. */
typedef struct ProcScan {
        struct ProcScanEntry {
                ino_t ino;
                pid_t pid;
        } *v;
        size_t n;
} ProcScan;

int proc_scan(ProcScan *ret);
/* Only the processes in the namespace ino, by PID: cheaper than a whole
 * scan when ino is not the initial namespace (kernel threads are skipped). */
int proc_scan_netns(ino_t ino, ProcScan *ret);
void proc_scan_done(ProcScan *s);

/* Number of processes in the namespace ino; *ret_first is the index of the
 * first of them in s->v (they are adjacent). */
size_t proc_scan_find(const ProcScan *s, ino_t ino, size_t *ret_first);

/* The command name of a process (/proc/PID/comm), or "?" if it is gone. */
char *proc_comm(pid_t pid);
