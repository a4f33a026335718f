/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsmgrctl loads libsystemd only when it needs it: to talk to a running
 * nsmgrd over the bus, or to monitor. Linked, libsystemd and what it pulls
 * in (libgcrypt, liblzma, libzstd, liblz4, libcap) cost every invocation
 * about 2 ms of start-up, 40 % of `nsmgrctl --version`, and most
 * invocations (create, list, path, oci-hook, without a daemon) use none of
 * it. systemd does the same for its optional libraries (dlopen_many_sym_or_warn).
 *
 * The functions nsmgrctl calls are defined here, each resolving its
 * namesake in libsystemd.so.0 on first use; the linker then finds no use
 * for -lsystemd and leaves it out (--as-needed). Without the library every
 * call fails with -EOPNOTSUPP, which makes a client without a bus: the
 * direct path. nsmgrd links libsystemd as usual. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

static void *lookup(const char *name) {
        static void *lib = NULL;
        static bool tried = false;

        if (!tried) {
                tried = true;
                lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        }
        return lib ? dlsym(lib, name) : NULL;
}

#define RESOLVE(name)                                                   \
        static __typeof__(name) *fn_ = NULL;                            \
        if (!fn_)                                                       \
                fn_ = (__typeof__(name) *) lookup(#name)

/* int-returning functions: -EOPNOTSUPP without the library. */
#define FORWARD_INT(name, params, args)                                 \
        int name params {                                               \
                RESOLVE(name);                                          \
                return fn_ ? fn_ args : -EOPNOTSUPP;                    \
        }

/* Pointer-returning ones (unref and getters): NULL without it. */
#define FORWARD_PTR(type, name, params, args)                           \
        type name params {                                              \
                RESOLVE(name);                                          \
                return fn_ ? fn_ args : NULL;                           \
        }

FORWARD_INT(sd_bus_open_system, (sd_bus **ret), (ret))
FORWARD_INT(sd_bus_attach_event, (sd_bus *bus, sd_event *e, int priority), (bus, e, priority))
FORWARD_INT(sd_bus_add_match, (sd_bus *bus, sd_bus_slot **slot, const char *match, sd_bus_message_handler_t callback,
                               void *userdata),
            (bus, slot, match, callback, userdata))
FORWARD_INT(sd_bus_match_signal, (sd_bus *bus, sd_bus_slot **ret, const char *sender, const char *path,
                                  const char *interface, const char *member, sd_bus_message_handler_t callback,
                                  void *userdata),
            (bus, ret, sender, path, interface, member, callback, userdata))
FORWARD_INT(sd_bus_match_signal_async, (sd_bus *bus, sd_bus_slot **ret, const char *sender, const char *path,
                                        const char *interface, const char *member,
                                        sd_bus_message_handler_t match_callback,
                                        sd_bus_message_handler_t add_callback, void *userdata),
            (bus, ret, sender, path, interface, member, match_callback, add_callback, userdata))
FORWARD_INT(sd_bus_call, (sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error,
                          sd_bus_message **reply),
            (bus, m, usec, ret_error, reply))
FORWARD_INT(sd_bus_call_methodv, (sd_bus *bus, const char *destination, const char *path, const char *interface,
                                  const char *member, sd_bus_error *ret_error, sd_bus_message **reply,
                                  const char *types, va_list ap),
            (bus, destination, path, interface, member, ret_error, reply, types, ap))
FORWARD_INT(sd_bus_message_new_method_call, (sd_bus *bus, sd_bus_message **m, const char *destination,
                                             const char *path, const char *interface, const char *member),
            (bus, m, destination, path, interface, member))
FORWARD_INT(sd_bus_message_appendv, (sd_bus_message *m, const char *types, va_list ap), (m, types, ap))
FORWARD_INT(sd_bus_message_readv, (sd_bus_message *m, const char *types, va_list ap), (m, types, ap))
FORWARD_INT(sd_bus_message_read_strv, (sd_bus_message *m, char ***l), (m, l))
FORWARD_INT(sd_bus_message_enter_container, (sd_bus_message *m, char type, const char *contents), (m, type, contents))
FORWARD_INT(sd_bus_message_exit_container, (sd_bus_message *m), (m))
FORWARD_INT(sd_bus_message_set_allow_interactive_authorization, (sd_bus_message *m, int b), (m, b))
FORWARD_INT(sd_bus_error_add_map, (const sd_bus_error_map *map), (map))
FORWARD_INT(sd_bus_error_has_name, (const sd_bus_error *e, const char *name), (e, name))
FORWARD_PTR(sd_bus *, sd_bus_flush_close_unref, (sd_bus *bus), (bus))
FORWARD_PTR(sd_bus_message *, sd_bus_message_unref, (sd_bus_message *m), (m))
FORWARD_PTR(const char *, sd_bus_message_get_member, (sd_bus_message *m), (m))

FORWARD_INT(sd_event_default, (sd_event **e), (e))
FORWARD_INT(sd_event_add_io, (sd_event *e, sd_event_source **s, int fd, uint32_t events,
                              sd_event_io_handler_t callback, void *userdata),
            (e, s, fd, events, callback, userdata))
FORWARD_INT(sd_event_add_signal, (sd_event *e, sd_event_source **s, int sig, sd_event_signal_handler_t callback,
                                  void *userdata),
            (e, s, sig, callback, userdata))
FORWARD_INT(sd_event_loop, (sd_event *e), (e))
FORWARD_INT(sd_event_exit, (sd_event *e, int code), (e, code))
FORWARD_PTR(sd_event *, sd_event_unref, (sd_event *e), (e))
FORWARD_PTR(sd_event *, sd_event_source_get_event, (sd_event_source *s), (s))
FORWARD_PTR(sd_event_source *, sd_event_source_disable_unref, (sd_event_source *s), (s))

/* Freeing an error needs no library when none was ever loaded: nothing
 * could have set it. */
void sd_bus_error_free(sd_bus_error *e) {
        RESOLVE(sd_bus_error_free);
        if (fn_)
                fn_(e);
}

int sd_bus_error_get_errno(const sd_bus_error *e) {
        RESOLVE(sd_bus_error_get_errno);
        return fn_ ? fn_(e) : EIO;
}

/* The variadic ones, through their va_list forms. */
int sd_bus_call_method(sd_bus *bus, const char *destination, const char *path, const char *interface,
                       const char *member, sd_bus_error *ret_error, sd_bus_message **reply, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(bus, destination, path, interface, member, ret_error, reply, types, ap);
        va_end(ap);
        return r;
}

int sd_bus_message_read(sd_bus_message *m, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_message_readv(m, types, ap);
        va_end(ap);
        return r;
}
