/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Reads a whole file; the buffer is NUL-terminated. */
int read_full_file(const char *path, char **ret, size_t *ret_len);
int read_full_fd(int fd, char **ret, size_t *ret_len);

/* Replaces path with data so that readers see the old or the new file,
 * never a torn one, and so that the new one survives a crash: write to a
 * temporary file in the same directory, fsync, rename, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same, giving the new file an owner and group ((uid_t) -1 and
 * (gid_t) -1 leave them as the creator's): to replace someone's file
 * without taking it over. */
int write_file_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid);

/* Like write_file_atomic(), but leaves the file alone when its content is
 * already equal (so re-applying keeps files byte for byte and mtime). Returns
 * 1 when written, 0 when already equal. */
int write_file_if_changed(const char *path, const void *data, size_t len, mode_t mode);

int mkdir_p(const char *path, mode_t mode);

/* Writes a short string to an existing file (sysctls, /proc). */
int write_string_file(const char *path, const char *s);
int read_one_line(const char *path, char **ret);

/* Raises the soft limit of open files to the hard one: a run over
 * thousands of namespaces holds a socket in each of those it changes (and
 * nsmgrd a watch in each). select() is not used, so it is safe. */
int rlimit_nofile_raise(void);
