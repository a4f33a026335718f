/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <time.h>

#include "fileio.h"
#include "macro.h"
#include "status.h"
#include "strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

uint64_t now_monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void run_done(StatusRun *r) {
        free(r->trigger);
        free(r->error);
        *r = (StatusRun) {};
}

void daemon_status_done(DaemonStatus *s) {
        free(s->state);
        free(s->config);
        strv_free(s->files);
        strv_free(s->last_repair);
        run_done(&s->reconcile);
        run_done(&s->reload);
        *s = (DaemonStatus) {};
}

static json_object *strv_to_json(char *const *l) {
        json_object *a = json_object_new_array();

        STRV_FOREACH(s, l)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static json_object *string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *run_to_json(const StatusRun *r) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "time_usec", json_object_new_int64((int64_t) r->time));
        json_object_object_add(o, "begun_monotonic_usec", json_object_new_int64((int64_t) r->begun));
        json_object_object_add(o, "finished_monotonic_usec", json_object_new_int64((int64_t) r->finished));
        json_object_object_add(o, "duration_usec", json_object_new_int64((int64_t) r->duration));
        json_object_object_add(o, "trigger", string_or_null(r->trigger));
        json_object_object_add(o, "ok", json_object_new_boolean(r->result >= 0));
        json_object_object_add(o, "errno", json_object_new_int(r->result < 0 ? -r->result : 0));
        json_object_object_add(o, "error", string_or_null(r->error));
        json_object_object_add(o, "changes", json_object_new_int64(r->changes));
        return o;
}

json_object *daemon_status_to_json(const DaemonStatus *s) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_int(1));
        json_object_object_add(o, "pid", json_object_new_int(s->pid));
        json_object_object_add(o, "pid_starttime", json_object_new_int64((int64_t) s->pid_starttime));
        json_object_object_add(o, "state", string_or_null(s->state));
        json_object_object_add(o, "started_usec", json_object_new_int64((int64_t) s->started));
        json_object_object_add(o, "stopped_usec", json_object_new_int64((int64_t) s->stopped));
        json_object_object_add(o, "config", string_or_null(s->config));
        json_object_object_add(o, "files", strv_to_json(s->files));
        json_object_object_add(o, "namespaces", json_object_new_int64(s->n_netns));
        json_object_object_add(o, "networks", json_object_new_int64(s->n_networks));
        json_object_object_add(o, "watched", json_object_new_int64(s->n_watched));
        json_object_object_add(o, "drifts_repaired", json_object_new_int64((int64_t) s->drifts_repaired));
        json_object_object_add(o, "last_reconcile", run_to_json(&s->reconcile));
        json_object_object_add(o, "last_reload", run_to_json(&s->reload));
        json_object_object_add(o, "last_repair", strv_to_json(s->last_repair));
        return o;
}

int daemon_status_write(const DaemonStatus *s) {
        _cleanup_json_ json_object *o = daemon_status_to_json(s);
        const char *text;
        int r;

        if (!o)
                return -ENOMEM;
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        r = mkdir_p(NSMGR_RUN_DIR, 0755);
        if (r < 0)
                return r;
        return write_file_atomic(NSMGRD_STATUS_FILE, text, strlen(text), 0644);
}

static json_object *get(json_object *o, const char *key) {
        json_object *v;

        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static uint64_t get_u64(json_object *o, const char *key) {
        int64_t v = json_object_get_int64(get(o, key));

        return v > 0 ? (uint64_t) v : 0;
}

static int get_string(json_object *o, const char *key, char **ret) {
        json_object *v = get(o, key);

        *ret = NULL;
        if (!v || !json_object_is_type(v, json_type_string))
                return 0;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int get_strv(json_object *o, const char *key, char ***ret) {
        json_object *a = get(o, key);

        *ret = NULL;
        if (!a || !json_object_is_type(a, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(a, i));

                if (s && strv_extend(ret, s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int run_from_json(json_object *o, StatusRun *r) {
        int e;

        r->time = get_u64(o, "time_usec");
        r->begun = get_u64(o, "begun_monotonic_usec");
        r->finished = get_u64(o, "finished_monotonic_usec");
        r->duration = get_u64(o, "duration_usec");
        r->changes = (unsigned) get_u64(o, "changes");
        e = json_object_get_int(get(o, "errno"));
        r->result = json_object_get_boolean(get(o, "ok")) ? 0 : -(e > 0 ? e : EIO);
        if (get_string(o, "trigger", &r->trigger) < 0 || get_string(o, "error", &r->error) < 0)
                return -ENOMEM;
        return 0;
}

int daemon_status_read(DaemonStatus *ret) {
        _cleanup_(daemon_status_donep) DaemonStatus s = {};
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file(NSMGRD_STATUS_FILE, &text, NULL);
        if (r < 0)
                return r;
        o = json_tokener_parse(text);
        if (!o || !json_object_is_type(o, json_type_object) || !get(o, "pid"))
                return -EBADMSG;

        s.pid = (pid_t) json_object_get_int(get(o, "pid"));
        s.pid_starttime = get_u64(o, "pid_starttime");
        s.started = get_u64(o, "started_usec");
        s.stopped = get_u64(o, "stopped_usec");
        s.n_netns = (unsigned) get_u64(o, "namespaces");
        s.n_networks = (unsigned) get_u64(o, "networks");
        s.n_watched = (unsigned) get_u64(o, "watched");
        s.drifts_repaired = get_u64(o, "drifts_repaired");
        if (get_string(o, "state", &s.state) < 0 || get_string(o, "config", &s.config) < 0 ||
            get_strv(o, "files", &s.files) < 0 || get_strv(o, "last_repair", &s.last_repair) < 0 ||
            run_from_json(get(o, "last_reconcile"), &s.reconcile) < 0 ||
            run_from_json(get(o, "last_reload"), &s.reload) < 0)
                return -ENOMEM;

        *ret = s;
        s = (DaemonStatus) {};
        return 0;
}

int proc_starttime(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        unsigned long long t;
        const char *p;
        int r;

        if (asprintf(&path, "/proc/%d/stat", (int) pid) < 0)
                return -ENOMEM;
        r = read_one_line(path, &line);
        if (r < 0)
                return r;
        /* The command name in parentheses may hold anything, spaces and ")"
         * included: fields are counted from the last ")" (proc(5)). Field 3,
         * the state, follows it; the start time is field 22. */
        p = strrchr(line, ')');
        if (!p)
                return -EBADMSG;
        p++;
        for (int field = 3; field <= 22; field++) {
                p += strspn(p, " ");
                if (!*p)
                        return -EBADMSG;
                if (field == 22)
                        break;
                p += strcspn(p, " ");
        }
        if (sscanf(p, "%llu", &t) != 1)
                return -EBADMSG;
        *ret = t;
        return 0;
}

bool daemon_status_alive(const DaemonStatus *s) {
        uint64_t t;

        if (s->pid <= 0 || s->stopped)
                return false;
        if (proc_starttime(s->pid, &t) < 0)
                return false;
        return t == s->pid_starttime;
}
