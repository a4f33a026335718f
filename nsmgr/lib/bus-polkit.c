/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One polkit question per method call, asked asynchronously: polkit may
 * take its time (an authentication agent asking for a password), and the
 * daemon's loop must keep repairing drift meanwhile. The call is parked:
 * its method returns without a reply, and when polkit answers, the call is
 * queued again (sd_bus_enqueue_for_read) and its method runs from the start,
 * now finding the answer here. The answer is dropped once the loop is idle
 * again, that is after the second run. This is how systemd's
 * bus_verify_polkit_async() works (src/shared/bus-polkit.c). */
#include <systemd/sd-event.h>

#include "bus-def.h"
#include "bus-polkit.h"
#include "macro.h"
#include "strv.h"

#define POLKIT_TIMEOUT_USEC (25ULL * 1000 * 1000)
/* A person typing a password. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5ULL * 60 * 1000 * 1000)

typedef enum QueryState {
        QUERY_PENDING,
        QUERY_ALLOWED,
        QUERY_DENIED,
        QUERY_CHALLENGE,    /* polkit would ask for authentication; the caller allowed no interaction */
        QUERY_NO_POLKIT,    /* nobody answers on org.freedesktop.PolicyKit1 */
        QUERY_FAILED,       /* polkit answered with an error */
} QueryState;

typedef struct PolkitQuery PolkitQuery;
struct PolkitQuery {
        PolkitQuery *next;
        PolkitRegistry *reg;
        sd_bus_message *request;
        sd_bus_slot *slot;
        sd_event_source *defer;
        char *action;
        QueryState state;
        char *error;        /* QUERY_FAILED: polkit's message */
};

struct PolkitRegistry {
        PolkitQuery *queries;
};

static PolkitQuery *query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->reg)
                for (PolkitQuery **p = &q->reg->queries; *p; p = &(*p)->next)
                        if (*p == q) {
                                *p = q->next;
                                break;
                        }
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->defer);
        sd_bus_message_unref(q->request);
        free(q->action);
        free(q->error);
        return mfree(q);
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *reg) {
        if (!reg)
                return NULL;
        while (reg->queries)
                query_free(reg->queries);
        return mfree(reg);
}

static int on_idle(sd_event_source *s, void *userdata) {
        /* The call ran a second time with the answer: it is not needed
         * any more. */
        query_free(userdata);
        return 0;
}

static bool starts_with(const char *s, const char *prefix) {
        return s && strneq(s, prefix, strlen(prefix));
}

static void read_reply(PolkitQuery *q, sd_bus_message *reply) {
        int authorized = 0, challenge = 0, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                /* polkit's own errors are polkit's answer; anything else
                 * (no such service, activation failed, a masked unit, a
                 * timeout) means there is no polkit to ask. */
                if (starts_with(e->name, "org.freedesktop.PolicyKit1.Error.")) {
                        q->state = QUERY_FAILED;
                        q->error = strdup(e->message ? e->message : e->name);
                } else
                        q->state = QUERY_NO_POLKIT;
                return;
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                q->state = QUERY_FAILED;
                q->error = strdup("its answer could not be read");
                return;
        }
        q->state = authorized ? QUERY_ALLOWED : challenge ? QUERY_CHALLENGE : QUERY_DENIED;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        read_reply(q, reply);

        r = sd_event_add_defer(sd_bus_get_event(bus), &q->defer, on_idle, q);
        if (r >= 0)
                r = sd_event_source_set_priority(q->defer, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0) {
                (void) sd_bus_reply_method_errnof(q->request, r, "cannot process polkit's answer: %s", strerror(-r));
                query_free(q);
        }
        return 0;
}

static int sender_uid(sd_bus_message *call, uid_t *ret) {
        sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        /* Only what the bus itself vouches for: never what was read from
         * /proc afterwards, which another process may have become. */
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                r = -EPERM;
        else
                r = sd_bus_creds_get_euid(creds, ret);
        sd_bus_creds_unref(creds);
        return r;
}

static int answer(const PolkitQuery *q, uid_t uid, const char *what, sd_bus_error *error) {
        switch (q->state) {
        case QUERY_ALLOWED:
                return 1;
        case QUERY_NO_POLKIT:
                /* Reading is everyone's by default; without polkit to say
                 * otherwise, it stays so. */
                if (streq(q->action, NSMGR_POLKIT_READ))
                        return 1;
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "not allowed to %s: polkit is not running, and without it only root may change anything (uid %u asked)",
                                         what, (unsigned) uid);
        case QUERY_CHALLENGE:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "not allowed to %s without authenticating as an administrator (polkit action %s), and no polkit agent could ask; run it as root, or let your group do it with a polkit rule (see nsmgrd(8))",
                                         what, q->action);
        case QUERY_FAILED:
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "not allowed to %s: polkit could not decide (%s)", what,
                                         q->error ? q->error : "no reason given");
        case QUERY_DENIED:
        default:
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "not allowed to %s: polkit denies %s to uid %u; an administrator can allow it with a polkit rule (see nsmgrd(8))",
                                         what, q->action, (unsigned) uid);
        }
}

static int ask(sd_bus_message *call, const char *action, const char *const *details, PolkitQuery *q) {
        sd_bus_message *c = NULL;
        const char *sender = sd_bus_message_get_sender(call);
        bool interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0;
        int r;

        if (!sender)
                return -EBADMSG;
        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(call), &c, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(c, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r >= 0)
                r = sd_bus_message_open_container(c, 'a', "{ss}");
        for (const char *const *d = details; r >= 0 && d && d[0] && d[1]; d += 2)
                r = sd_bus_message_append(c, "{ss}", d[0], d[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(c);
        if (r >= 0)
                r = sd_bus_message_append(c, "us", (uint32_t) (interactive ? 1 : 0), "");
        if (r >= 0)
                r = sd_bus_call_async(sd_bus_message_get_bus(call), &q->slot, c, on_reply, q,
                                      interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC);
        sd_bus_message_unref(c);
        return r;
}

int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char *const *details, const char *what,
                            PolkitRegistry **registry, sd_bus_error *error) {
        PolkitQuery *q;
        uid_t uid = (uid_t) -1;
        int r;

        r = sender_uid(call, &uid);
        if (r >= 0 && uid == 0)
                return 1;

        if (*registry)
                for (q = (*registry)->queries; q; q = q->next)
                        if (q->request == call && streq(q->action, action) && q->state != QUERY_PENDING)
                                return answer(q, uid, what, error);

        if (!*registry) {
                *registry = calloc(1, sizeof(PolkitRegistry));
                if (!*registry)
                        return -ENOMEM;
        }
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->reg = *registry;
        q->request = sd_bus_message_ref(call);
        q->action = strdup(action);
        if (!q->action) {
                query_free(q);
                return -ENOMEM;
        }
        r = ask(call, action, details, q);
        if (r < 0) {
                query_free(q);
                return sd_bus_error_set_errnof(error, r, "cannot ask polkit whether %s is allowed: %s", what, strerror(-r));
        }
        q->next = (*registry)->queries;
        (*registry)->queries = q;
        return 0;
}
