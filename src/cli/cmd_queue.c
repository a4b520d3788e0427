/*
 * hookspool queue - what the spool holds, after Postfix's qshape: files by
 * state with the age of the oldest, the deliveries waiting in deferred/
 * and failed/ by destination, and whether the store refuses writes for
 * lack of space.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "domain/spool_scan.h"
#include "sender/delivery.h"
#include "sender/record.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/xalloc.h"

static const char queue_usage[] =
    "usage: hookspool queue [--json]\n"
    "Shows what the spool holds: files by state (new, active, deferred, parked,\n"
    "failed) with the age of the oldest, the deliveries waiting for a retry, parked\n"
    "for a dead destination or dead-lettered, by destination (scheme://host:port of\n"
    "their webhook's endpoint), and whether the store refuses writes for lack of\n"
    "space. --json prints one JSON object.\n"
    "options: --config FILE\n";

/* The deliveries of one destination. */
struct dest_row {
    char *name;
    size_t deferred, parked, failed;
    long long oldest_ms;
};

/* A webhook already looked up, and its destination. */
struct hook_memo {
    char tenant[WEBHOOK_TENANT_MAX + 1];
    char id[WEBHOOK_ID_LEN + 1];
    char *dest;
};

struct queue_ctx {
    const struct config *cfg;
    struct store *store;        /* opened at the first record; NULL if it cannot be */
    bool store_tried;
    struct dest_row *rows;
    size_t n_rows;
    struct hook_memo *hooks;
    size_t n_hooks;
};

/* The destination of a webhook, looked up once: "scheme://host:port", or why it has none. */
static const char *
hook_dest(struct queue_ctx *q, const char *tenant, const char *id)
{
    for (size_t i = 0; i < q->n_hooks; i++)
        if (strcmp(q->hooks[i].tenant, tenant) == 0 && strcmp(q->hooks[i].id, id) == 0)
            return q->hooks[i].dest;
    if (!q->store_tried) {
        q->store_tried = true;
        q->store = cli_store(q->cfg);
    }
    char key[300];
    struct webhook w;
    const char *dest = "(the store cannot be read)";
    if (q->store != NULL) {
        enum store_status st = store_webhook_get(q->store, tenant, id, &w);
        if (st == STORE_OK) {
            dest = delivery_host_key(w.endpoint, key, sizeof key) == 0 ? key
                                                                         : "(not an http(s) URL)";
            webhook_release(&w);
        } else if (st == STORE_NOTFOUND) {
            dest = "(webhook deleted)";
        }
    }
    q->hooks = xreallocarray(q->hooks, q->n_hooks + 1, sizeof *q->hooks);
    struct hook_memo *m = &q->hooks[q->n_hooks++];
    snprintf(m->tenant, sizeof m->tenant, "%s", tenant);
    snprintf(m->id, sizeof m->id, "%s", id);
    m->dest = xstrdup(dest);
    return m->dest;
}

static struct dest_row *
row_get(struct queue_ctx *q, const char *name)
{
    for (size_t i = 0; i < q->n_rows; i++)
        if (strcmp(q->rows[i].name, name) == 0)
            return &q->rows[i];
    q->rows = xreallocarray(q->rows, q->n_rows + 1, sizeof *q->rows);
    struct dest_row *r = &q->rows[q->n_rows++];
    memset(r, 0, sizeof *r);
    r->name = xstrdup(name);
    return r;
}

/* spool_scan's callback: a record in deferred/ or failed/ counts for its destination. */
static void
on_file(void *ctx, int dir_fd, const char *name, enum spool_scan_state state, long long since_ms)
{
    struct queue_ctx *q = ctx;

    if ((state != SCAN_DEFERRED && state != SCAN_FAILED) || !spool_record_name(name))
        return;
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;                 /* taken by the sender meanwhile */
    struct buf data;
    struct record r;
    char err[256];
    buf_init(&data);
    /* The body is inside as a JSON string: escaping may make it several times larger. */
    int rc = fileio_read_fd(fd, (size_t)q->cfg->max_event_bytes * 6 + 65536, &data);
    close(fd);
    if (rc == 0 && record_parse(&r, data.data, data.len, err, sizeof err) == 0) {
        struct dest_row *row = row_get(q, hook_dest(q, r.ref.tenant, r.ref.webhook_id));
        if (state == SCAN_FAILED)
            row->failed++;
        else if (strncmp(r.last_error, "postponed:", 10) == 0)
            row->parked++;      /* put aside for a destination in trouble, not attempted */
        else
            row->deferred++;
        if (row->oldest_ms == 0 || since_ms < row->oldest_ms)
            row->oldest_ms = since_ms;
        record_release(&r);
    }
    buf_release(&data);
}

/* An age as qshape-like text: 42s, 17m, 5h, 3d; "-" for none. */
enum { AGE_MAX = 32 };
static void
age_text(long long since_ms, long long now_ms, char out[AGE_MAX])
{
    long long s = since_ms > 0 && now_ms > since_ms ? (now_ms - since_ms) / 1000 : 0;

    if (since_ms == 0)
        snprintf(out, AGE_MAX, "-");
    else if (s < 120)
        snprintf(out, AGE_MAX, "%llds", s);
    else if (s < 7200)
        snprintf(out, AGE_MAX, "%lldm", s / 60);
    else if (s < 172800)
        snprintf(out, AGE_MAX, "%lldh", s / 3600);
    else
        snprintf(out, AGE_MAX, "%lldd", s / 86400);
}

static double
age_seconds(long long since_ms, long long now_ms)
{
    return since_ms > 0 && now_ms > since_ms ? (now_ms - since_ms) / 1000.0 : 0.0;
}

static void
print_text(const struct spool_scan *sc, const struct queue_ctx *q, long long now,
           const struct statvfs *vfs, bool have_vfs)
{
    char age[AGE_MAX];

    printf("%-10s %8s  %s\n", "STATE", "FILES", "OLDEST");
    for (int s = 0; s < SCAN_STATES; s++) {
        age_text(sc->oldest_ms[s], now, age);
        printf("%-10s %8zu  %s\n", spool_scan_state_name(s), sc->files[s], age);
    }
    if (q->n_rows > 0) {
        printf("\n%-40s %8s %8s %8s  %s\n", "DESTINATION", "DEFERRED", "PARKED", "FAILED",
               "OLDEST");
        for (size_t i = 0; i < q->n_rows; i++) {
            const struct dest_row *r = &q->rows[i];
            age_text(r->oldest_ms, now, age);
            printf("%-40s %8zu %8zu %8zu  %s\n", r->name, r->deferred, r->parked, r->failed,
                   age);
        }
    }
    if (have_vfs) {
        unsigned long long avail = (unsigned long long)vfs->f_bavail * vfs->f_frsize;
        if (avail < STORE_RESERVE_BYTES)
            printf("\nstore: REFUSING WRITES: %s has %llu KiB free, writes need %ld KiB\n",
                   q->cfg->db_home, avail / 1024, STORE_RESERVE_BYTES / 1024);
        else
            printf("\nstore: accepting writes (%llu MiB free in %s)\n", avail >> 20,
                   q->cfg->db_home);
    }
}

static void
print_json(const struct spool_scan *sc, const struct queue_ctx *q, long long now,
           const struct statvfs *vfs, bool have_vfs)
{
    json_object *o = json_object_new_object(), *states = json_object_new_object();
    json_object *dests = json_object_new_array();

    for (int s = 0; s < SCAN_STATES; s++) {
        json_object *st = json_object_new_object();
        json_object_object_add(st, "files", json_object_new_int64((int64_t)sc->files[s]));
        json_object_object_add(st, "oldestSeconds",
                               json_object_new_double(age_seconds(sc->oldest_ms[s], now)));
        json_object_object_add(states, spool_scan_state_name(s), st);
    }
    for (size_t i = 0; i < q->n_rows; i++) {
        const struct dest_row *r = &q->rows[i];
        json_object *d = json_object_new_object();
        json_object_object_add(d, "destination", json_object_new_string(r->name));
        json_object_object_add(d, "deferred", json_object_new_int64((int64_t)r->deferred));
        json_object_object_add(d, "parked", json_object_new_int64((int64_t)r->parked));
        json_object_object_add(d, "failed", json_object_new_int64((int64_t)r->failed));
        json_object_object_add(d, "oldestSeconds",
                               json_object_new_double(age_seconds(r->oldest_ms, now)));
        json_object_array_add(dests, d);
    }
    json_object_object_add(o, "states", states);
    json_object_object_add(o, "destinations", dests);
    if (have_vfs) {
        unsigned long long avail = (unsigned long long)vfs->f_bavail * vfs->f_frsize;
        json_object *st = json_object_new_object();
        json_object_object_add(st, "freeBytes", json_object_new_int64((int64_t)avail));
        json_object_object_add(st, "writesRefused",
                               json_object_new_boolean(avail < STORE_RESERVE_BYTES));
        json_object_object_add(o, "store", st);
    }
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void
queue_ctx_release(struct queue_ctx *q)
{
    for (size_t i = 0; i < q->n_rows; i++)
        free(q->rows[i].name);
    for (size_t i = 0; i < q->n_hooks; i++)
        free(q->hooks[i].dest);
    free(q->rows);
    free(q->hooks);
    store_close(q->store);
}

int
cmd_queue(int argc, char **argv)
{
    const char *config = NULL, *json = NULL;
    const struct cli_option opts[] = {
        { "--config", true, &config }, { "--json", false, &json }, { NULL, false, NULL },
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(argc, argv, queue_usage, opts, pos, 0, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    struct config cfg;
    if (cli_config(&cfg, config) != 0)
        return EXIT_FAILURE;
    struct queue_ctx q = { .cfg = &cfg };
    struct spool_scan sc;
    rc = EXIT_SUCCESS;
    if (spool_scan(cfg.spool_dir, &sc, on_file, &q) != 0) {
        fprintf(stderr, "hookspool queue: %s: cannot read the spool: %s\n", cfg.spool_dir,
                strerror(errno));
        rc = EXIT_FAILURE;
    }
    if (rc == EXIT_SUCCESS) {
        struct statvfs vfs;
        bool have_vfs = statvfs(cfg.db_home, &vfs) == 0;
        long long now = clock_ms(CLOCK_REALTIME);
        if (json != NULL)
            print_json(&sc, &q, now, &vfs, have_vfs);
        else
            print_text(&sc, &q, now, &vfs, have_vfs);
        if (fflush(stdout) != 0)
            rc = EXIT_FAILURE;
    }
    queue_ctx_release(&q);
    config_release(&cfg);
    return rc;
}
