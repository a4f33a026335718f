/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed hash whose output does not reveal its key, for names
 * derived from a secret such as the machine ID. */
uint64_t siphash24(const void *data, size_t len, const uint8_t key[16]);
