/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Makes the calling process's heap hold at least `bytes` of memory that is
 * already backed: the pages are populated in one call (MADV_POPULATE_WRITE,
 * Linux 5.14) instead of faulting in one at a time as malloc() reaches
 * them. For a one-shot command that is about to build a large tree (a
 * config of thousands of namespaces, megabytes of small allocations): one
 * page fault costs many times what a page populated in bulk does, above
 * all in a virtual machine. The heap is then not trimmed and allocations
 * up to 32 MiB come from it, so that what was populated is what is used.
 * Not for a long-running process whose resident memory matters.
 * Best effort: does nothing where it cannot. */
void heap_prefault(size_t bytes);

/* What heap_prefault() is worth for loading config files of `file_bytes`
 * (the config's text): libconfig's tree and nsmgr's model of it take about
 * this many times the text. */
#define HEAP_PER_CONFIG_BYTE 24
