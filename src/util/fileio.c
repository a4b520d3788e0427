/*
 * fileio - whole writes, durable renames and capped reads (fileio.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/xalloc.h"

int
fileio_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;

    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
fileio_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/*
 * fileio_publish and its variants: locked_fd NULL closes the file before
 * the rename; mtime 0 leaves the file's times.
 */
static int
fileio_publish_fd(const char *tmp_path, const char *final_path, const void *data, size_t n,
                  mode_t mode, time_t mtime, int *locked_fd)
{
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -1;
    int rc = fileio_write_all(fd, data, n) == 0 && fsync(fd) == 0 ? 0 : -1;
    if (rc == 0 && mtime != 0) {
        struct timespec times[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
        rc = futimens(fd, times);
    }
    if (rc == 0 && locked_fd != NULL) {
        /*
         * Locked before it shows under its final name. A new file: nobody
         * else can hold it, so this fails only where the file system has no
         * locks, and then the file goes unlocked.
         */
        (void)flock(fd, LOCK_EX | LOCK_NB);
    } else if (rc == 0) {
        /* close(2) can report a deferred write error (NFS, quota): check it. */
        rc = close(fd);
        fd = -1;
    }
    if (rc == 0)
        rc = rename(tmp_path, final_path);
    if (rc == 0) {
        char *dir_copy = xstrdup(final_path);
        rc = fileio_fsync_dir(dirname(dir_copy));
        free(dir_copy);
    } else {
        int saved = errno;
        unlink(tmp_path);
        errno = saved;
    }
    if (rc == 0 && locked_fd != NULL) {
        *locked_fd = fd;
        return 0;
    }
    if (fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return rc;
}

int
fileio_publish(const char *tmp_path, const char *final_path, const void *data, size_t n,
               mode_t mode)
{
    return fileio_publish_fd(tmp_path, final_path, data, n, mode, 0, NULL);
}

int
fileio_publish_dated(const char *tmp_path, const char *final_path, const void *data, size_t n,
                     mode_t mode, time_t mtime)
{
    return fileio_publish_fd(tmp_path, final_path, data, n, mode, mtime, NULL);
}

int
fileio_publish_locked(const char *tmp_path, const char *final_path, const void *data, size_t n,
                      mode_t mode, int *fd)
{
    return fileio_publish_fd(tmp_path, final_path, data, n, mode, 0, fd);
}

int
fileio_read_fd(int fd, size_t max, struct buf *out)
{
    size_t total = 0;
    char chunk[16384];

    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            return 0;
        if (total + (size_t)r > max) {
            buf_append(out, chunk, max - total);
            return -2;
        }
        buf_append(out, chunk, (size_t)r);
        total += (size_t)r;
    }
}

int
fileio_read(const char *path, size_t max, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fileio_read_fd(fd, max, out);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}
