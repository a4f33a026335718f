/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "paths.h"

/* The daemon's status record, /run/nsmgr/nsmgrd.json: what `nsmgrctl
 * status` shows and what `nsmgrctl reload` waits on. nsmgrd replaces it
 * atomically (rename) whenever something in it changes, so a reader always
 * sees a whole record; it lives in /run because it describes this boot. */

#define NSMGRD_STATUS_FILE_NAME "nsmgrd.json"
#define NSMGRD_STATUS_FILE NSMGR_RUN_DIR "/" NSMGRD_STATUS_FILE_NAME

/* One run of reconcile, or one reload. Times are CLOCK_REALTIME in µs for
 * people; begun/finished are CLOCK_MONOTONIC in µs, for ordering against a
 * request (`nsmgrctl reload` notes the clock before it signals). */
typedef struct StatusRun {
        uint64_t time;              /* when it finished; 0: never */
        uint64_t begun;
        uint64_t finished;
        uint64_t duration;          /* µs */
        char *trigger;              /* "start", "reload", "drift", "retry" */
        int result;                 /* 0 or a negative errno */
        char *error;                /* the sentence, when it failed */
        unsigned changes;           /* steps taken */
} StatusRun;

typedef struct DaemonStatus {
        pid_t pid;
        uint64_t pid_starttime;     /* /proc/PID/stat field 22: a reused PID has another */
        char *state;                /* "starting", "running", "reloading", "stopped" */
        uint64_t started;           /* CLOCK_REALTIME µs */
        uint64_t stopped;
        char *config;               /* the -c FILE nsmgrd was given, NULL for the default */
        char **files;               /* the config files in use */
        unsigned n_netns;           /* declared namespaces */
        unsigned n_networks;
        unsigned n_watched;         /* namespaces with a drift watch */
        uint64_t drifts_repaired;
        StatusRun reconcile;        /* the last reconcile, whatever its trigger */
        StatusRun reload;           /* the last reload */
        char **last_repair;         /* what the last drift repair did */
} DaemonStatus;

void daemon_status_done(DaemonStatus *s);
static inline void daemon_status_donep(DaemonStatus *s) {
        daemon_status_done(s);
}

/* The record as JSON, every key present whatever is known (a zeroed
 * DaemonStatus: one that never ran); NULL on ENOMEM. */
json_object *daemon_status_to_json(const DaemonStatus *s);
int daemon_status_write(const DaemonStatus *s);
/* The record as written (what `nsmgrctl status --json` shows). */
struct json_object *daemon_status_to_json(const DaemonStatus *s);
/* -ENOENT when there is no record; -EBADMSG when it cannot be read. */
int daemon_status_read(DaemonStatus *ret);

/* The start time of a process (/proc/PID/stat field 22, in clock ticks
 * since boot): with the PID, it names one process for the whole uptime. */
int proc_starttime(pid_t pid, uint64_t *ret);

/* True if the record's process still runs and is that very nsmgrd (same
 * PID and start time, so a reused PID does not count). Meaningful in the
 * PID namespace nsmgrd runs in. */
bool daemon_status_alive(const DaemonStatus *s);

/* CLOCK_REALTIME / CLOCK_MONOTONIC now, in µs. */
uint64_t now_realtime_usec(void);
uint64_t now_monotonic_usec(void);
