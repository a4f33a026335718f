/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "error.h"

/* nsmgrd: keeps the system what the config declares, under systemd.
 *
 * At start it applies the config with reconcile() -- the code path of
 * `nsmgrctl apply` -- which adopts what exists as it is, and only then
 * sends READY=1. Then an sd-event loop waits for drift (watch.h), for
 * SIGHUP (reload: re-read the config, apply the difference; a broken
 * config keeps the running one) and for SIGTERM/SIGINT (stop: nothing is
 * torn down, the next start adopts everything again). Events are
 * debounced for a few milliseconds and then repaired by one reconcile of
 * what they touched alone (drift.h); every few minutes a sweep looks at
 * everything. The status record (status.h) says how it went.
 *
 * The library does not print: every line to log goes to the log callback,
 * with a syslog priority. */

/* What a log line carries besides its text, for the journal: fields to
 * filter on (journalctl NSMGR_NAMESPACE=red, MESSAGE_ID=...). */
typedef struct LogFields {
        const char *message_id;     /* one of NSMGR_MESSAGE_*, or NULL */
        const char *netns;          /* NSMGR_NAMESPACE= */
        const char *ifname;         /* NSMGR_INTERFACE= */
} LogFields;

/* MESSAGE_IDs (made with `systemd-id128 new`; they never change):
 * drift was repaired (one line per step, NSMGR_NAMESPACE=/NSMGR_INTERFACE=
 * where the step has them); a reload finished or failed; a requested change
 * was refused and nothing was changed (another config, an object the config
 * declares, a subnet that overlaps the host's, polkit's no). */
#define NSMGR_MESSAGE_DRIFT_REPAIRED "e8afbeea42ec437a9ccc77a01c970b92"
#define NSMGR_MESSAGE_RELOADED       "0336004646ea4519b06d1891559b1cca"
#define NSMGR_MESSAGE_APPLY_REFUSED  "136844d58bba4ce1a23fda90015a3d15"

/* fields may be NULL. */
typedef void (*daemon_log_fn)(int priority, const LogFields *fields, const char *msg, void *userdata);

typedef struct DaemonOptions {
        const char *config;         /* NULL: /etc/nsmgr/nsmgr.conf and conf.d */
        uint64_t debounce_usec;     /* 0: DAEMON_DEBOUNCE_USEC */
        uint64_t sweep_usec;        /* 0: DAEMON_SWEEP_USEC; DAEMON_SWEEP_OFF: never */
        daemon_log_fn log;
        void *log_userdata;
} DaemonOptions;

#define DAEMON_DEBOUNCE_USEC (5 * 1000)
#define DAEMON_SWEEP_USEC (300ull * 1000 * 1000)
#define DAEMON_SWEEP_OFF UINT64_MAX

/* Runs until SIGTERM or SIGINT; returns 0 then. Returns a negative errno
 * when it cannot start, with err saying why; *ret_bad_config is set when
 * that is the config's fault (err then holds one "file:line: ..." per
 * line). */
int daemon_run(const DaemonOptions *o, bool *ret_bad_config, NmError *err);
