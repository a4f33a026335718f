/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "paths.h"

/* The name-resolution files of a namespace: what a container that joins
 * namespace NAME sees at /etc/resolv.conf and /etc/hosts.
 *
 * NAME's own file, /etc/netns/NAME/FILE, when one is declared there (the
 * place `ip netns exec` binds from). Otherwise a copy of the machine's,
 * generated under /run/nsmgr/oci/NAME/ and refreshed (replaced atomically,
 * only when its content changed) each time it is asked for. A container
 * keeps the file it started with until it restarts: a bind mount holds the
 * inode, not the name.
 *
 * /etc/hostname is not one of them: a hostname belongs to a UTS namespace,
 * that is to each container, not to the network namespace they share. */

typedef struct EtcFiles {
        char *resolv_conf;      /* source to bind at /etc/resolv.conf */
        char *hosts;            /* source to bind at /etc/hosts */
        bool resolv_conf_generated;
        bool hosts_generated;
} EtcFiles;

#define ETC_FILES_GENERATED_DIR NSMGR_RUN_DIR "/oci"

/* Where NAME's files are: declared or generated paths. Writes nothing. */
int etc_files_locate(const char *name, EtcFiles *ret, NmError *err);
/* (Re)generates the copies that etc_files_locate() said are generated. */
int etc_files_refresh(const char *name, const EtcFiles *f, NmError *err);
void etc_files_done(EtcFiles *f);

/* Removes NAME's generated copies (when NAME is deleted). Containers that
 * still bind them keep their inode. */
int etc_files_remove(const char *name);

/* A resolv.conf for another network namespace, made from the machine's
 * text: each nameserver with a loopback address (127.0.0.0/8, ::1) is
 * turned into a comment, since in NAME's namespace it would be NAME's own
 * loopback, where nothing answers. Everything else is kept as it is.
 * ret_kept counts the nameservers left. */
int resolv_conf_for_netns(const char *text, const char *source, const char *name, char **ret, size_t *ret_kept);
