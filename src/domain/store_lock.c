/*
 * store_lock - db_home/store.lock, the file through which the processes
 * sharing one environment agree on who may recover it (docs/recovery.md).
 *
 * Open-file-description byte-range locks (F_OFD_SETLK), so that a lock
 * belongs to the descriptor, is released by the kernel when its process
 * dies however it dies, and can be queried from a signal handler (fcntl is
 * async-signal-safe):
 *
 *   byte 0  ATTACHED    read lock: this process is attached to the
 *                       environment; write lock: recovery is running
 *   byte 1  RECOVERING  write lock: this process recovers (or is about to)
 *
 * The file's first byte of content is 'R' from the moment recovery starts
 * rebuilding the environment until it has finished: a recovery killed half
 * way leaves it set, and the next process to open recovers again.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/store_internal.h"
#include "util/clock.h"
#include "util/xalloc.h"

int
store_lock_open(const char *db_home)
{
    char *path = xasprintf("%s/store.lock", db_home);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);

    free(path);
    return fd;
}

static int
lock_op(int fd, int cmd, short type, enum store_lock_byte byte)
{
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = 1;
    return fcntl(fd, cmd, &fl);
}

int
store_lock_take(int fd, enum store_lock_byte byte, short type, int wait_ms)
{
    long long deadline = clock_ms(CLOCK_MONOTONIC) + wait_ms;

    for (;;) {
        if (lock_op(fd, F_OFD_SETLK, type, byte) == 0)
            return 0;
        if (errno != EAGAIN && errno != EACCES && errno != EINTR)
            return -1;
        if (clock_ms(CLOCK_MONOTONIC) >= deadline) {
            errno = EWOULDBLOCK;
            return -1;
        }
        usleep(STORE_LOCK_POLL_MS * 1000);
    }
}

void
store_lock_drop(int fd, enum store_lock_byte byte)
{
    lock_op(fd, F_OFD_SETLK, F_UNLCK, byte);
}

bool
store_lock_held_elsewhere(int fd, enum store_lock_byte byte)
{
    struct flock fl;

    if (fd < 0)
        return false;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_RDLCK;        /* conflicts only with a write lock */
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = 1;
    return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

bool
store_lock_interrupted(int fd)
{
    char mark;

    return pread(fd, &mark, 1, 0) == 1 && mark == 'R';
}

int
store_lock_mark(int fd, bool recovering)
{
    return pwrite(fd, recovering ? "R" : "-", 1, 0) == 1 && fdatasync(fd) == 0 ? 0 : -1;
}
