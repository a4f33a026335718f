/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* The OCI runtime hook (`nsmgrctl oci-hook`, run by runc or crun as a
 * createRuntime hook with the container's state on stdin). What it does is
 * asked for with annotations in the container's config.json. */

#define OCI_ANNOTATION_PREFIX "org.nsmgr."
#define OCI_ANNOTATION_PIN     OCI_ANNOTATION_PREFIX "pin"
#define OCI_ANNOTATION_NETWORK OCI_ANNOTATION_PREFIX "network"
/* nsmgr-runtime's: join the pinned namespace NAME (see runtime.h). With it,
 * org.nsmgr.network is the runtime's too, and the hook leaves both alone. */
#define OCI_ANNOTATION_NETNS   OCI_ANNOTATION_PREFIX "netns"

/* One request: the container, and one field per org.nsmgr.* annotation
 * this build knows. */
typedef struct OciHookRequest {
        char *id;               /* the container's id, for messages (shown safely, cut when long) */
        pid_t pid;              /* its process, in its namespaces */
        char *bundle;
        char *pin;              /* org.nsmgr.pin=NAME: pin its network namespace as NAME */
        char *network;          /* org.nsmgr.network=NET: attach NAME to the declared network NET */
} OciHookRequest;

/* The largest container state a hook reads: a state is a few hundred
 * bytes plus the annotations, and the hook must not be made to hold
 * whatever is piped into it. */
#define OCI_HOOK_STATE_MAX (1 << 20)

/* Reads the state from fd (stdin): at most OCI_HOOK_STATE_MAX bytes. */
int oci_hook_read_state(int fd, char **ret, size_t *ret_len, NmError *err);

/* Parses the state a runtime hands to a hook ({"ociVersion", "id",
 * "status", "pid", "bundle", "annotations"}). A state without a pid, an
 * annotation under org.nsmgr. that this build does not know, or a bad NAME
 * is an error: the hook must not let a container start half-wired because
 * of a typo or an nsmgr too old for its config. */
int oci_hook_parse(const char *text, size_t len, OciHookRequest *ret, NmError *err);
void oci_hook_request_done(OciHookRequest *req);

/* org.nsmgr.pin: pins the network namespace of req->pid as req->pin, through
 * a pidfd. Returns 1 when pinned now, 0 when NAME already was this very
 * namespace (the hook ran twice, or a container that joined NAME carries
 * the same annotation). NAME held by another namespace, and a container
 * that has no network namespace of its own, are errors. */
int oci_hook_pin(const OciHookRequest *req, NmError *err);

/* org.nsmgr.network (and nsmgr-runtime's NSMGR_NETWORK): attaches the pinned
 * namespace `netns` to the declared network `network` (network.h), unless
 * it is attached already (a restarted container, a hook run twice), and
 * wires it (reconcile_netns), under the reconcile lock. When the wiring
 * fails, the attachment is taken back: nothing half-made stays. `config` is
 * as for config_load() (NULL: /etc/nsmgr); `id` names the container in
 * messages. */
int oci_attach_network(const char *config, const char *id, const char *netns, const char *network, NmError *err);
