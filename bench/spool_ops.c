/*
 * spool_ops - the file work any sender must do per event with the spool
 * protocol of SPEC section 3, and nothing else: claim the file by rename
 * from new/ into active/, read it, remove it. It is the floor under the
 * sender's cost per event on a given file system, as curl_multi is the
 * floor under its HTTP work. bench/sender runs it on the file system of its
 * spool, beside the sender (docs/sender.md, "Benchmark").
 *
 *     spool_ops DIR EVENTS BODY_BYTES
 *
 * Creates DIR (which must not exist) with new/ and active/, writes EVENTS
 * files of BODY_BYTES into new/ (not timed; synced so that the timed part
 * does not wait for writeback), then times each step over all files, and
 * removes DIR. Prints one line of CPU microseconds per event:
 * "events N rename R read D unlink U total T".
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double
cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
path_of(char *out, size_t cap, const char *dir, const char *sub, long n)
{
    snprintf(out, cap, "%s/%s/b%07ld.json", dir, sub, n);
}

static int
fail(const char *what, const char *path)
{
    fprintf(stderr, "spool_ops: %s %s: %s\n", what, path, strerror(errno));
    return EXIT_FAILURE;
}

static int
write_file(const char *path, const char *body, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    if (fd < 0)
        return -1;
    ssize_t w = write(fd, body, len);
    if (close(fd) != 0 || w != (ssize_t)len)
        return -1;
    return 0;
}

/* Reads the whole file as the sender's claimer does (open, fstat, read, close). */
static int
read_file(const char *path, char *buf, size_t cap)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size > cap ||
        read(fd, buf, (size_t)st.st_size) != (ssize_t)st.st_size) {
        close(fd);
        return -1;
    }
    return close(fd);
}

int
main(int argc, char **argv)
{
    char from[4096], to[4096];

    if (argc != 4) {
        fprintf(stderr, "usage: spool_ops DIR EVENTS BODY_BYTES\n");
        return EXIT_FAILURE;
    }
    const char *dir = argv[1];
    long events = strtol(argv[2], NULL, 10);
    size_t len = (size_t)strtoul(argv[3], NULL, 10);
    if (events <= 0 || len == 0 || len > (1u << 20)) {
        fprintf(stderr, "spool_ops: EVENTS must be positive and BODY_BYTES 1 to 1048576\n");
        return EXIT_FAILURE;
    }
    char *body = malloc(len), *buf = malloc(len);
    if (body == NULL || buf == NULL) {
        fprintf(stderr, "spool_ops: out of memory\n");
        return EXIT_FAILURE;
    }
    memset(body, 'p', len);
    if (mkdir(dir, 0755) != 0)
        return fail("mkdir", dir);
    snprintf(from, sizeof from, "%s/new", dir);
    snprintf(to, sizeof to, "%s/active", dir);
    if (mkdir(from, 0755) != 0 || mkdir(to, 0755) != 0)
        return fail("mkdir", from);
    for (long n = 0; n < events; n++) {
        path_of(from, sizeof from, dir, "new", n);
        if (write_file(from, body, len) != 0)
            return fail("write", from);
    }
    sync();

    double t0 = cpu_s();
    for (long n = 0; n < events; n++) {
        path_of(from, sizeof from, dir, "new", n);
        path_of(to, sizeof to, dir, "active", n);
        if (rename(from, to) != 0)
            return fail("rename", from);
    }
    double t1 = cpu_s();
    for (long n = 0; n < events; n++) {
        path_of(to, sizeof to, dir, "active", n);
        if (read_file(to, buf, len) != 0)
            return fail("read", to);
    }
    double t2 = cpu_s();
    for (long n = 0; n < events; n++) {
        path_of(to, sizeof to, dir, "active", n);
        if (unlink(to) != 0)
            return fail("unlink", to);
    }
    double t3 = cpu_s();

    snprintf(from, sizeof from, "%s/new", dir);
    snprintf(to, sizeof to, "%s/active", dir);
    if (rmdir(from) != 0 || rmdir(to) != 0 || rmdir(dir) != 0)
        return fail("rmdir", dir);
    double us = 1e6 / (double)events;
    printf("events %ld rename %.1f read %.1f unlink %.1f total %.1f\n", events, (t1 - t0) * us,
           (t2 - t1) * us, (t3 - t2) * us, (t3 - t0) * us);
    free(body);
    free(buf);
    return EXIT_SUCCESS;
}
