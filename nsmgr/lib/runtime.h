/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <time.h>

#include "error.h"

/* nsmgr-runtime: an OCI runtime that stands in front of the real one (runc)
 * and hands it every verb and flag unchanged, except that before `create`
 * and `run` it makes a container that asks for it join a pinned namespace,
 * by rewriting the bundle's config.json. This is how docker, which cannot
 * join a namespace by path, gets containers into /run/netns/NAME: register
 * nsmgr-runtime as a runtime in daemon.json and run the container with
 * `--network none -e NSMGR_NETNS=NAME`. See nsmgr-runtime(8). */

#define RUNTIME_ENV_NETNS   "NSMGR_NETNS"        /* in the container's process.env */
#define RUNTIME_ENV_NETWORK "NSMGR_NETWORK"
#define RUNTIME_ENV_PATH    "NSMGR_RUNTIME_PATH" /* in nsmgr-runtime's own environment */
#define RUNTIME_DEFAULT     "runc"

/* --- The command line, read the way runc 1.1 reads it ---------------------
 *
 * runc parses its global options, then the command's, with urfave/cli 1.22
 * on top of Go's flag package: options start with one or two dashes, take
 * their value as `--opt=V` or as the next word (booleans only with `=`),
 * "--" ends them; a command's options may also follow its arguments
 * (urfave/cli moves them first). Only create and run are looked into; a
 * command line runc would refuse is passed on untouched, and runc says
 * why. */

typedef struct RuntimeArgs {
        char **argv;                 /* for the real runtime: argv[0] and every word but ours; NULL-terminated */
        int argc;

        /* nsmgr-runtime's own options, among runc's global ones, taken out of argv */
        const char *runtime_path;    /* --runtime-path PATH: the real runtime */
        const char *nsmgr_config;    /* --nsmgr-config FILE: for NSMGR_NETWORK (default /etc/nsmgr) */

        /* What runc would do */
        bool parsed;                 /* runc accepts the global options (else nothing below is set) */
        const char *log;             /* --log FILE; NULL: runc logs to stderr */
        bool log_json;               /* --log-format json */
        bool help, version;          /* --help, --version: runc prints and runs no command */
        const char *verb;            /* the command; NULL when none */
        bool create;                 /* create or run, whose options and arguments runc accepts */
        const char *bundle;          /* --bundle/-b, "." when not given (runc's working directory) */
        const char *id;              /* the container's id */
} RuntimeArgs;

/* Fails only on nsmgr-runtime's own options (one without its value). */
int runtime_args_parse(int argc, char **argv, RuntimeArgs *ret, NmError *err);
void runtime_args_done(RuntimeArgs *a);

/* --- What a container asks for -------------------------------------------- */

typedef struct RuntimeRequest {
        char *netns;                 /* NAME to join; NULL: the container asks for nothing */
        char *network;               /* the nsmgr network to attach NAME to (making NAME if missing) */
        const char *netns_from;      /* "NSMGR_NETNS" or "org.nsmgr.netns", for messages */
} RuntimeRequest;

/* Reads the request from a container's config.json: NSMGR_NETNS and
 * NSMGR_NETWORK in process.env (the first of each, as getenv() finds it:
 * docker 20.10 hands labels to nobody, but its -e reaches here), or the
 * annotations org.nsmgr.netns and org.nsmgr.network (docker >= 24
 * --annotation, podman, containerd). Both ways at once must agree. An
 * empty or invalid name, NSMGR_NETWORK without NSMGR_NETNS, or an unknown
 * org.nsmgr.* annotation (but the OCI hook's org.nsmgr.pin) is an error.
 * No I/O. */
int runtime_request_parse(json_object *config, const char *id, RuntimeRequest *ret, NmError *err);
void runtime_request_done(RuntimeRequest *r);

/* --- Whether it may join --------------------------------------------------- */

/* Docker's own record of the container, when it is a docker container:
 * docker binds /etc/hostname, /etc/hosts and /etc/resolv.conf from
 * DATA-ROOT/containers/ID/, and hostconfig.json lies next to them. Returns
 * that folder (a mount of the config whose source is DIR/FILE, with DIR
 * ending in /containers/ID and ID the container's), or NULL. No I/O. */
char *runtime_docker_container_dir(json_object *config, const char *id);

/* True if config.json carries docker's libnetwork-setkey hook (docker made
 * it, for a container with a network namespace of its own). */
bool runtime_has_docker_hook(json_object *config);

/* Refuses a container that must not join the pinned namespace NAME:
 *   - a docker container whose network mode (HostConfig.NetworkMode in
 *     hostconfig.json, given parsed in `hostconfig`) is not "none": docker
 *     would keep an endpoint of its own in the shared namespace, set
 *     disable_ipv6 there and fight the others over eth0;
 *   - a docker container whose hostconfig.json was not found (`docker`
 *     true, `hostconfig` NULL): its network mode cannot be told;
 *   - a container without a network namespace of its own (no "network"
 *     entry: the machine's, docker --network host), or one that already
 *     joins another path than /run/netns/NAME (docker --network
 *     container:X).
 * No I/O. */
int runtime_check_container(json_object *config, const char *id, bool docker, json_object *hostconfig,
                            const char *name, NmError *err);

/* Drops docker's libnetwork-setkey hook, whatever hook list holds it: with
 * it docker would take the pinned namespace for the container's own,
 * bind-mount it under /run/docker/netns and set disable_ipv6 in it.
 * Returns how many were dropped. */
int runtime_drop_docker_hook(json_object *config);

/* Whether config.json's text can hold a request at all. A request is the
 * string NSMGR_NETNS=... or NSMGR_NETWORK=... or a key org.nsmgr.*, which
 * JSON can spell otherwise only with \u escapes: without any of these, the
 * container asks for nothing, and its config.json need not be parsed. */
bool runtime_text_may_ask(const char *text, size_t len);

/* --- All of it, for one `create` ------------------------------------------- */

/* Attaches NAME to an nsmgr network (making NAME if it is missing), in
 * another process: nsmgr-runtime-network, which links what the network
 * code needs, so that nsmgr-runtime itself stays small and quick. */
typedef int (*runtime_attach_fn)(const char *id, const char *netns, const char *network, const char *config,
                                 void *userdata, NmError *err);

/* Before runc creates the container a->id from a->bundle: reads
 * config.json; when the container asks for a namespace, checks that it may
 * join, has the namespace made and attached if it asks for a network
 * (through `attach`) or checks that it exists, then rewrites config.json
 * (oci.h: network entry, resolv.conf and hosts) without docker's hook.
 * Returns 1 when config.json joins a namespace now, 0 when the container
 * asks for nothing (or config.json cannot be read or parsed: runc will
 * say so), or a negative errno with the sentence for the user; then
 * nothing was made, and config.json is as it was. */
int runtime_prepare(const RuntimeArgs *a, runtime_attach_fn attach, void *userdata, NmError *err);

/* --- Errors where runc writes its own -------------------------------------- */

/* One error entry as runc (logrus) writes it, with a final newline:
 *   json: {"level":"error","msg":"MSG","time":"2024-05-01T12:00:00+02:00"}
 *   text: time="2024-05-01T12:00:00+02:00" level=error msg="MSG"
 * containerd reads the last "error" entry of the json log and docker shows
 * its msg to the user. NULL on no memory. */
char *runtime_log_entry(bool json, const char *msg, time_t when);
