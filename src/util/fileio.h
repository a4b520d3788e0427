/*
 * fileio - careful file I/O: whole writes, durable renames, capped reads.
 */
#ifndef HOOKSPOOL_FILEIO_H
#define HOOKSPOOL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util/buf.h"

/* write(2) until all n bytes are out or an error; returns 0 or -1 (errno). */
int fileio_write_all(int fd, const void *data, size_t n);
/* fsync(2) the directory at path; returns 0 or -1 (errno). */
int fileio_fsync_dir(const char *path);

/*
 * Writes data to dir/tmp_name, fsyncs and closes it, renames it to
 * final_path and fsyncs final_path's directory: after 0 the file is whole
 * and durable under its final name. On -1 (errno set) nothing is left
 * under either name.
 */
int fileio_publish(const char *tmp_path, const char *final_path, const void *data, size_t n,
                   mode_t mode);

/*
 * As fileio_publish, with the file's access and modification times set to
 * mtime (seconds; 0 leaves them) before it appears under final_path.
 */
int fileio_publish_dated(const char *tmp_path, const char *final_path, const void *data,
                         size_t n, mode_t mode, time_t mtime);

/*
 * As fileio_publish, but the file is locked (flock LOCK_EX; not if the file
 * system has no locks) before it appears under final_path, and stays open:
 * on 0, *fd holds the lock until the caller closes it.
 */
int fileio_publish_locked(const char *tmp_path, const char *final_path, const void *data,
                          size_t n, mode_t mode, int *fd);

/*
 * Reads the file at path into out (appending). Returns 0; -1 with errno on
 * an I/O error; -2 if the file is larger than max bytes (out then holds
 * the first max bytes at most).
 */
int fileio_read(const char *path, size_t max, struct buf *out);

/* As fileio_read, from an open descriptor (read to its end, not closed). */
int fileio_read_fd(int fd, size_t max, struct buf *out);

#endif
