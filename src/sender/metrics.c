/*
 * metrics - the metrics file (see metrics.h): the loop's snapshot
 * (metrics_tick) and the writer thread.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "domain/spool_scan.h"
#include "sender/metrics.h"
#include "sender/state.h"
#include "sender/worker.h"
#include "util/fileio.h"

/* ---- the text format ---- */

static void
help(struct buf *b, const char *name, const char *type, const char *text)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A label value, escaped as the text format wants (backslash, quote, newline). */
static void
label_value(struct buf *b, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            buf_puts(b, "\\n");
        else
            buf_append(b, v, 1);
    }
}

static void
dest_sample(struct buf *b, const char *name, const char *dest, unsigned long long v)
{
    buf_printf(b, "%s{destination=\"", name);
    label_value(b, dest);
    buf_printf(b, "\"} %llu\n", v);
}

/* ---- the loop's snapshot ---- */

static void
tick_counters(struct sender *sd, struct buf *b)
{
    help(b, "hookspool_deliveries_total", "counter",
         "Deliveries that reached an end since the sender started, by outcome.");
    buf_printf(b, "hookspool_deliveries_total{outcome=\"succeeded\"} %llu\n", sd->delivered);
    buf_printf(b, "hookspool_deliveries_total{outcome=\"failed\"} %llu\n",
               sd->hstats.dead_lettered);
    buf_printf(b, "hookspool_deliveries_total{outcome=\"dropped\"} %llu\n", sd->hstats.dropped);
    help(b, "hookspool_attempts_total", "counter",
         "Delivery attempts recorded since the sender started, by result.");
    buf_printf(b, "hookspool_attempts_total{result=\"success\"} %llu\n", sd->delivered);
    buf_printf(b, "hookspool_attempts_total{result=\"failure\"} %llu\n", sd->failed_attempts);
    help(b, "hookspool_throttle_answers_total", "counter",
         "429 and 503 answers, each of which halved its destination's concurrency.");
    buf_printf(b, "hookspool_throttle_answers_total %llu\n", sd->hstats.throttled);
    help(b, "hookspool_deliveries_in_memory", "gauge",
         "Deliveries the sender holds in memory (queued, in flight, being recorded).");
    buf_printf(b, "hookspool_deliveries_in_memory %zu\n", sd->jobs_live);
}

static void
tick_destinations(struct sender *sd, struct buf *b)
{
    struct dest_limits lim = dest_limits_of(sd);
    static const struct {
        const char *name, *text;
    } gauges[] = {
        { "hookspool_destination_in_flight", "Attempts in flight to the destination." },
        { "hookspool_destination_queued", "Deliveries queued in memory for the destination." },
        { "hookspool_destination_concurrency",
          "Attempts the destination may have in flight now (reduced after 429/503)." },
        { "hookspool_destination_up",
          "1 while the destination answers, 0 while it is dead or being probed." },
    };

    for (size_t g = 0; g < sizeof gauges / sizeof gauges[0]; g++) {
        help(b, gauges[g].name, "gauge", gauges[g].text);
        for (size_t i = 0; i < sd->n_hosts; i++) {
            const struct host *h = sd->hosts[i];
            unsigned long long v = g == 0   ? h->dest.running
                                   : g == 1 ? h->queue.n
                                   : g == 2 ? dest_concurrency(&h->dest, &lim)
                                            : h->dest.state == DEST_ALIVE;
            dest_sample(b, gauges[g].name, h->key, v);
        }
    }
}

static void
tick_webhooks(struct sender *sd, struct buf *b)
{
    size_t total = 0, disabled = 0;

    help(b, "hookspool_webhooks_disabled_total", "counter",
         "Webhooks the sender disabled since it started, by reason (gone: 410; failing: "
         "auto-disable).");
    buf_printf(b, "hookspool_webhooks_disabled_total{reason=\"gone\"} %llu\n",
               sd->hstats.disabled_gone);
    buf_printf(b, "hookspool_webhooks_disabled_total{reason=\"failing\"} %llu\n",
               committer_auto_disabled(sd->committer));
    /* Not while the environment waits for a recovery: the sender is letting go of it. */
    if (sd->rejoin || store_needs_restart(sd->store) || store_recovery_pending(sd->store) ||
        store_webhook_count(sd->store, &total, &disabled) != STORE_OK)
        return;         /* no sample is better than a wrong one */
    help(b, "hookspool_webhooks", "gauge", "Webhooks in the store, all tenants, by state.");
    buf_printf(b, "hookspool_webhooks{state=\"enabled\"} %zu\n", total - disabled);
    buf_printf(b, "hookspool_webhooks{state=\"disabled\"} %zu\n", disabled);
}

void
metrics_tick(struct sender *sd)
{
    struct buf b;

    if (sd->metrics == NULL)
        return;
    buf_init(&b);
    tick_counters(sd, &b);
    tick_destinations(sd, &b);
    tick_webhooks(sd, &b);
    metrics_submit(sd->metrics, buf_detach(&b));
    buf_release(&b);
}

/* ---- the writer thread ---- */

struct metrics {
    struct worker w;            /* thread, lock, wake, stopping */
    char *path, *tmp, *spool_dir, *db_home;
    char *text;                 /* under lock: the newest snapshot not written yet */
    bool write_failed;          /* the last write failed (logged once) */
};

char *
metrics_path(const struct config *cfg)
{
    return cfg->metrics_file != NULL ? xstrdup(cfg->metrics_file)
                                     : xasprintf("%s/metrics.prom", cfg->spool_dir);
}

/* What the spool holds, and how old the oldest file of each state is. */
static void
add_spool(struct metrics *m, struct buf *b, long long now)
{
    struct spool_scan sc;
    long long oldest = 0;

    if (spool_scan(m->spool_dir, &sc, NULL, NULL) != 0)
        log_warn("add_spool: %s: cannot list the spool: %s", m->spool_dir, strerror(errno));
    help(b, "hookspool_queue_files", "gauge", "Files in the spool, by state.");
    for (int s = 0; s < SCAN_STATES; s++)
        buf_printf(b, "hookspool_queue_files{state=\"%s\"} %zu\n", spool_scan_state_name(s),
                   sc.files[s]);
    help(b, "hookspool_queue_oldest_age_seconds", "gauge",
         "How long the oldest file of each state has been in it (0 when none).");
    for (int s = 0; s < SCAN_STATES; s++) {
        long long age = sc.oldest_ms[s] > 0 && now > sc.oldest_ms[s] ? now - sc.oldest_ms[s] : 0;
        buf_printf(b, "hookspool_queue_oldest_age_seconds{state=\"%s\"} %.3f\n",
                   spool_scan_state_name(s), age / 1000.0);
        if (s != SCAN_FAILED && age > oldest)
            oldest = age;
    }
    help(b, "hookspool_oldest_pending_age_seconds", "gauge",
         "Age of the oldest file still to be delivered (new, active, deferred, parked).");
    buf_printf(b, "hookspool_oldest_pending_age_seconds %.3f\n", oldest / 1000.0);
}

/* Whether the store refuses writes for lack of space, by the store's own rule. */
static void
add_store(struct metrics *m, struct buf *b)
{
    struct statvfs st;

    if (statvfs(m->db_home, &st) != 0)
        return;
    unsigned long long avail = (unsigned long long)st.f_bavail * st.f_frsize;
    help(b, "hookspool_store_free_bytes", "gauge", "Space available on db_home's file system.");
    buf_printf(b, "hookspool_store_free_bytes %llu\n", avail);
    help(b, "hookspool_store_writes_refused", "gauge",
         "1 while the store refuses writes because db_home's file system is (nearly) full.");
    buf_printf(b, "hookspool_store_writes_refused %d\n", avail < STORE_RESERVE_BYTES);
}

/* Replaces the file with text plus the spool and store samples: NAME.tmp, then rename. */
static void
metrics_write(struct metrics *m, const char *text)
{
    struct buf b;
    long long now = clock_ms(CLOCK_REALTIME);

    buf_init(&b);
    buf_puts(&b, text);
    add_spool(m, &b, now);
    add_store(m, &b);
    help(&b, "hookspool_metrics_timestamp_seconds", "gauge", "When this file was written.");
    buf_printf(&b, "hookspool_metrics_timestamp_seconds %.3f\n", now / 1000.0);
    int fd = open(m->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && fileio_write_all(fd, b.data, b.len) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(m->tmp, m->path) != 0)
        ok = false;
    if (!ok) {
        if (!m->write_failed)
            log_error("metrics_write: %s: cannot write: %s", m->path, strerror(errno));
        if (fd >= 0)
            unlink(m->tmp);
    } else if (m->write_failed) {
        log_info("metrics_write: %s: written again", m->path);
    }
    m->write_failed = !ok;
    buf_release(&b);
}

static void *
metrics_main(void *arg)
{
    struct metrics *m = arg;

    pthread_mutex_lock(&m->w.lock);
    for (;;) {
        while (m->text == NULL && !m->w.stopping)
            pthread_cond_wait(&m->w.wake, &m->w.lock);
        char *text = m->text;
        m->text = NULL;
        bool stopping = m->w.stopping;
        pthread_mutex_unlock(&m->w.lock);
        if (text != NULL)
            metrics_write(m, text);
        free(text);
        pthread_mutex_lock(&m->w.lock);
        if (stopping && m->text == NULL)
            break;
    }
    pthread_mutex_unlock(&m->w.lock);
    return NULL;
}

struct metrics *
metrics_start(const struct config *cfg)
{
    struct metrics *m = xcalloc(1, sizeof *m);

    m->path = metrics_path(cfg);
    m->tmp = xasprintf("%s.tmp", m->path);
    m->spool_dir = xstrdup(cfg->spool_dir);
    m->db_home = xstrdup(cfg->db_home);
    int rc = worker_start(&m->w, "hs-metrics", metrics_main, m);
    if (rc != 0) {
        log_error("metrics_start: pthread_create: %s: no metrics file", strerror(rc));
        free(m->path);
        free(m->tmp);
        free(m->spool_dir);
        free(m->db_home);
        free(m);
        return NULL;
    }
    return m;
}

void
metrics_submit(struct metrics *m, char *text)
{
    pthread_mutex_lock(&m->w.lock);
    free(m->text);
    m->text = text;
    pthread_cond_signal(&m->w.wake);
    pthread_mutex_unlock(&m->w.lock);
}

void
metrics_stop(struct metrics *m)
{
    if (m == NULL)
        return;
    worker_stop(&m->w);
    free(m->text);
    free(m->path);
    free(m->tmp);
    free(m->spool_dir);
    free(m->db_home);
    free(m);
}
