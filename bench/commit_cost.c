/*
 * commit_cost - the CPU the sender's committer spends per delivery, as the
 * store grows: batches of new deliveries, each with its first attempt (a
 * success), written with store_delivery_commit as the committer writes
 * them (record, order entry, payload, attempt log), on an empty store that
 * fills as it runs (docs/sender.md, "The delivery records' cost grows with
 * the store").
 *
 *     commit_cost DIR BATCHES BATCH_SIZE BODY_BYTES
 *
 * Creates the store in DIR (made if missing; start from an empty one: a
 * DB_CONFIG put there beforehand applies, e.g. "set_cachesize 0 268435456
 * 1"), durability = nosync (the CPU, not the disk's sync rate), and prints
 * the CPU microseconds per delivery for each eighth of the run and for all
 * of it:
 * "after N deliveries: U us/delivery" ... "total: U us/delivery".
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain/config.h"
#include "domain/delivery.h"
#include "domain/store.h"
#include "util/xalloc.h"

static double
cpu_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Delivery i of the run, created at ms, and its first attempt, a success. */
static void
make_delivery(long i, long long ms, const char *body, size_t len, struct delivery_new *nw,
              struct delivery_outcome *out)
{
    memset(nw, 0, sizeof *nw);
    snprintf(nw->ref.tenant, sizeof nw->ref.tenant, "bench");
    snprintf(nw->ref.webhook_id, sizeof nw->ref.webhook_id, "AAAAA");
    snprintf(nw->ref.event_id, sizeof nw->ref.event_id, "bench-%09ld", i);
    snprintf(nw->ref.event_type, sizeof nw->ref.event_type, "Bench:Created");
    delivery_id_make(nw->ref.tenant, nw->ref.event_id, nw->ref.webhook_id, nw->ref.delivery_id);
    nw->created_ms = ms;
    nw->payload = body;
    nw->payload_len = len;
    memset(out, 0, sizeof *out);
    out->attempt.ref = nw->ref;
    out->attempt.time_ms = ms;
    out->attempt.attempt = 1;
    out->attempt.status = 204;
    out->attempt.duration_ms = 1;
    out->status = DELIVERY_SUCCEEDED;
    out->payload = body;
    out->payload_len = len;
}

int
main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: commit_cost DIR BATCHES BATCH_SIZE BODY_BYTES\n");
        return 2;
    }
    long batches = atol(argv[2]), size = atol(argv[3]), body_len = atol(argv[4]);
    if (batches < 8 || size < 1 || body_len < 1) {
        fprintf(stderr, "commit_cost: BATCHES >= 8, BATCH_SIZE >= 1, BODY_BYTES >= 1\n");
        return 2;
    }
    if (mkdir(argv[1], 0700) != 0 && access(argv[1], F_OK) != 0) {
        perror(argv[1]);            /* an existing DIR is kept: it may hold a DB_CONFIG */
        return 1;
    }
    struct config cfg;
    char err[512];
    config_defaults(&cfg);
    free(cfg.db_home);
    cfg.db_home = xstrdup(argv[1]);
    cfg.durability = DURABILITY_NOSYNC;
    struct store *s = store_open(&cfg, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "commit_cost: %s\n", err);
        return 1;
    }
    char *body = xmalloc((size_t)body_len);
    memset(body, 'x', (size_t)body_len);
    struct delivery_new *nw = xreallocarray(NULL, (size_t)size, sizeof *nw);
    struct delivery_outcome *out = xreallocarray(NULL, (size_t)size, sizeof *out);
    long long ms = 1700000000000LL;
    long eighth = batches / 8, done = 0;
    double start = cpu_us(), mark = start;
    for (long b = 0; b < batches; b++) {
        for (long i = 0; i < size; i++, done++)
            make_delivery(done, ms++, body, (size_t)body_len, &nw[i], &out[i]);
        if (store_delivery_commit(s, nw, (size_t)size, out, (size_t)size) != STORE_OK) {
            fprintf(stderr, "commit_cost: batch %ld refused\n", b);
            return 1;
        }
        if ((b + 1) % eighth == 0) {
            double now = cpu_us();
            printf("after %ld deliveries: %.1f us/delivery\n", done,
                   (now - mark) / (double)(eighth * size));
            mark = now;
        }
    }
    printf("total: %.1f us/delivery\n", (cpu_us() - start) / (double)done);
    free(nw);
    free(out);
    free(body);
    store_close(s);
    config_release(&cfg);
    return 0;
}
