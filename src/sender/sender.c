/*
 * hookspool-sender - the delivery daemon (SPEC sections 3 and 4).
 *
 * It owns one transition of the spool: a file in new/ is claimed into
 * active/ by rename, then either every delivery it stands for succeeded
 * (recorded in the delivery log first, then the file is removed) or the
 * failed ones were written as retry records (src/sender/record.h) into
 * deferred/ (mtime = next attempt) or failed/ (dead letters). Due records
 * are claimed from deferred/ into active/ in turn. It holds a lock on each
 * file it claimed until the file leaves active/ (spool_claim), so a killed
 * sender's files are recognised and given back (events to new/, records to
 * deferred/): by the next sender to start, or within seconds by a peer.
 *
 * Trust boundary (SPEC section 3): a file claimed from new/ is an event,
 * whatever its bytes say; only a file claimed from deferred/, which
 * producers cannot write, is a record, and even then every value in it is
 * checked before it reaches a path or a header (record_parse).
 *
 * One event loop: a libcurl multi handle (src/sender/delivery.h) with
 * inotify on new/, a signalfd and the helper threads' eventfds as extra
 * descriptors. Helpers: the claimer (claims and reads files ahead of the
 * loop), the committer (records attempts, group commit), the unlinker
 * (removes finished files), the parker (writes parked deliveries) and the
 * requests thread (the API's redeliver and ping requests into due records).
 * Transfers are scheduled per destination (scheme://host:port) and each
 * destination's health decides what it may hold (src/sender/dest.h), so a
 * slow or dead receiver only ever holds max_connections_per_host
 * connections and a bounded queue.
 *
 * This file is the loop, signals, configuration and housekeeping; the
 * rest of the program is split as sender/state.h lists (jobs.c, intake.c,
 * commit.c), the rules it applies are in dest.c, schedule.c and fanout.c.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sender/state.h"
#include "util/digest.h"

/* Wall-clock milliseconds: also the time recorded for an attempt. */
long long
now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

/*
 * How many deliveries may be in memory. Each claimed file holds a
 * descriptor (its lock) until it is removed, so the descriptor limit, less
 * the connections and a reserve, bounds them too.
 */
size_t
max_jobs(const struct sender *sd)
{
    size_t n = (size_t)sd->cfg.max_connections * 8;
    size_t other = (size_t)sd->cfg.max_connections + FD_RESERVE;
    size_t fds = sd->max_fds > other + MIN_JOBS ? sd->max_fds - other : MIN_JOBS;

    if (n < MIN_JOBS)
        n = MIN_JOBS;
    return n < fds ? n : fds;
}

/* Raises the soft descriptor limit to the hard one; returns the limit in force. */
static size_t
fd_limit_raise(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY ? 65536 : rl.rlim_max;
        struct rlimit raised = { want, rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? 65536 : (size_t)rl.rlim_cur;
}

static int
signals_open(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
reload(struct sender *sd)
{
    struct config cfg;
    char err[1024];

    if (config_load(&cfg, sd->config_path, err, sizeof err) != 0) {
        log_error("reload: %s; keeping the old settings", err);
        config_release(&cfg);
        return;
    }
    /* The environment, the spool and the inotify watch stay: those need a restart. */
    if (strcmp(cfg.db_home, sd->cfg.db_home) != 0 || strcmp(cfg.spool_dir, sd->cfg.spool_dir) != 0)
        log_warn("reload: db_home and spool_dir changes take effect after a restart");
    char *db_home = sd->cfg.db_home, *spool_dir = sd->cfg.spool_dir;
    sd->cfg.db_home = sd->cfg.spool_dir = NULL;
    free(cfg.db_home);
    free(cfg.spool_dir);
    cfg.db_home = db_home;
    cfg.spool_dir = spool_dir;
    config_release(&sd->cfg);
    sd->cfg = cfg;
    log_set_level(sd->cfg.log_level);
    delivery_engine_configure(sd->engine, &sd->cfg);
    if (sd->claimer != NULL)
        claimer_set_max_bytes(sd->claimer, (size_t)sd->cfg.max_event_bytes);
    /* The program, not a function: operators and tests wait for "sender: reloaded". */
    log_info("sender: reloaded %s", sd->config_path);
}

static void
signals_read(struct sender *sd)
{
    struct signalfd_siginfo si;

    while (read(sd->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            reload(sd);
        } else if (!sd->stopping) {
            log_info("signals_read: signal %u: finishing %zu deliveries in flight, then exiting",
                     si.ssi_signo, sd->running);
            sd->stopping = true;
        } else {
            sd->stop_now = true;
        }
    }
}

static void
inotify_drain(struct sender *sd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (read(sd->inotify_fd, buf, sizeof buf) > 0)
        ;
    if (sd->claimer != NULL)
        claimer_hint(sd->claimer);
}

/*
 * True if the delivery log was not pruned in the last day. A daemon keeps
 * time itself; --once runs (from cron, every minute) share the mtime of
 * spool_dir/.pruned, touched here when a prune is due.
 */
static bool
prune_due(struct sender *sd)
{
    if (!sd->once)
        return true;
    char *stamp = xasprintf("%s/.pruned", sd->cfg.spool_dir);
    struct stat st;
    bool due = true;
    /* Never through a symbolic link (O_NOFOLLOW), nor blocking on a FIFO put there. */
    int fd = open(stamp, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        fd = open(stamp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660);
    else if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        due = time(NULL) - st.st_mtime >= PRUNE_MS / 1000;
    if (fd < 0)
        log_warn("prune_due: %s: cannot open: %s", stamp, strerror(errno));
    else if (due && futimens(fd, NULL) != 0)
        log_warn("prune_due: %s: cannot touch: %s", stamp, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(stamp);
    return due;
}

/* What a killed sender (this one before a restart, or a peer) had claimed goes back to new/. */
static void
recover_active(struct sender *sd, bool at_start)
{
    size_t recovered = 0;

    if (spool_recover_active(sd->cfg.spool_dir, at_start, &recovered) != 0)
        log_error("recover_active: cannot put active/ back into new/: %s", strerror(errno));
    if (recovered > 0) {
        log_info("recover_active: put %zu interrupted files back into new/", recovered);
        if (sd->claimer != NULL)
            claimer_hint(sd->claimer);
    }
}

static void
housekeeping(struct sender *sd, long long now)
{
    /* A peer sharing the spool may have died holding files: they would wait for its restart. */
    if (!sd->once && !sd->stopping && now - sd->last_recover >= RECOVER_MS) {
        sd->last_recover = now;
        recover_active(sd, false);
    }
    if (now - sd->last_maintain >= MAINTAIN_MS) {
        sd->last_maintain = now;
        store_maintain(sd->store);
        if (store_recovery_pending(sd->store) && !sd->stop_now) {
            /*
             * Another process waits to recover the environment and needs every
             * process detached within seconds: drop what is in memory (the
             * files stay in active/ for the next start) and start again.
             */
            log_error("housekeeping: the database environment is being recovered: starting again");
            sd->stopping = sd->stop_now = sd->rejoin = true;
            sd->exit_code = EXIT_FAILURE;
        } else if (store_needs_restart(sd->store) && !sd->stopping) {
            log_error("housekeeping: the database environment needs recovery: starting again");
            sd->stopping = sd->rejoin = true;
            sd->exit_code = EXIT_FAILURE;
        }
    }
    if (now - sd->last_metrics >= METRICS_MS) {
        sd->last_metrics = now;
        metrics_tick(sd);
    }
    if (now - sd->last_prune >= PRUNE_MS && prune_due(sd)) {
        sd->last_prune = now;
        size_t removed = 0;
        long long before = now - (long long)sd->cfg.delivery_log_days * 86400 * 1000;
        if (store_delivery_prune(sd->store, before, &removed) == STORE_OK && removed > 0)
            log_info("housekeeping: delivery log: pruned %zu attempts older than %ld days", removed,
                     sd->cfg.delivery_log_days);
        /* Rotated secrets whose overlap ended sign nothing (jobs.c); they need not be kept. */
        if (store_secret_prune(sd->store, now / 1000, &removed) == STORE_OK && removed > 0)
            log_info("housekeeping: previous secrets: forgot %zu whose overlap ended", removed);
    }
}

/* True while parked records are being written. */
static bool
parker_busy(struct sender *sd)
{
    return sd->parker != NULL && parker_pending(sd->parker) > 0;
}

/* True when a --once run has nothing left to do. */
static bool
once_finished(struct sender *sd)
{
    return sd->jobs_live == 0 && (sd->claimer == NULL || claimer_drained(sd->claimer));
}

static int
run(struct sender *sd)
{

    for (;;) {
        long long now = now_ms();
        housekeeping(sd, now);
        commit_collect(sd);
        if (sd->parker != NULL)
            parker_collect(sd->parker, on_parked, sd);
        claim_some(sd, now);
        for (size_t i = 0; i < sd->n_hosts; i++)
            host_spill(sd, sd->hosts[i], now);
        start_some(sd);
        if (sd->stopping && !sd->stop_now)
            put_back_queued(sd);
        commit_submit(sd, now);
        if (sd->stop_now) {
            /* Still waits for the batch being written: its jobs are settled or kept. */
            while (committer_busy(sd->committer) || parker_busy(sd)) {
                usleep(10000);
                commit_collect(sd);
                if (sd->parker != NULL)
                    parker_collect(sd->parker, on_parked, sd);
            }
            abandon_all(sd);
            break;
        }
        bool idle = sd->running == 0 && sd->finished.n == 0 && sd->creates.n == 0 &&
                    sd->n_changes == 0 &&
                    !committer_busy(sd->committer) && !parker_busy(sd);
        if (sd->stopping && idle)
            break;
        if (sd->once && !sd->stopping && idle && once_finished(sd))
            break;
        /*
         * Sleep until the network, a signal, the committer, inotify or the
         * claimer (while there is room for more jobs) has something.
         */
        int fds[5] = { sd->signal_fd, committer_fd(sd->committer), -1, -1, -1 };
        size_t n_fds = 2, inotify_at = 0, claimer_at = 0;
        if (sd->parker != NULL)
            fds[n_fds++] = parker_fd(sd->parker);     /* collected at the top of the loop */
        if (sd->inotify_fd >= 0) {
            inotify_at = n_fds;
            fds[n_fds++] = sd->inotify_fd;
        }
        if (sd->claimer != NULL && sd->jobs_live < max_jobs(sd) &&
            now_ms() >= sd->claim_pause_until) {
            claimer_at = n_fds;
            fds[n_fds++] = claimer_fd(sd->claimer);
        }
        int timeout = 1000;
        /* A destination that stalls with more queued than it may then keep is trimmed on time. */
        struct dest_limits lim = dest_limits_of(sd);
        for (size_t i = 0; i < sd->n_hosts; i++) {
            struct host *h = sd->hosts[i];
            if (h->queue.n <= dest_queue_cap(&lim))
                continue;
            long long wait = dest_stall_at(&h->dest) - now_ms();
            if (wait < timeout)
                timeout = wait < 0 ? 0 : (int)wait;
        }
        if ((sd->finished.n > 0 || sd->creates.n > 0 || sd->n_changes > 0) &&
            !committer_busy(sd->committer)) {
            long long wait = sd->commit_retry_ms - now_ms();
            if (wait < timeout)
                timeout = wait < 0 ? 0 : (int)wait;
        }
        bool ready[5] = { false, false, false, false, false };
        if (delivery_run(sd->engine, fds, ready, n_fds, timeout, on_done, sd) != 0)
            usleep(100000);
        if (ready[0])
            signals_read(sd);
        if (inotify_at > 0 && ready[inotify_at])
            inotify_drain(sd);
        (void)claimer_at;       /* its files are taken at the top of the loop */
    }
    log_info("run: exiting: %llu delivered, %llu failed attempts, %llu on reused connections",
             sd->delivered, sd->failed_attempts, sd->reused);
    return sd->exit_code;
}

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: hookspool-sender [--config FILE] [--once] [--foreground]\n"
                "  --config FILE   settings (default: $HOOKSPOOL_CONF, else %s/hookspool.conf)\n"
                "  --once          deliver what is due now, then exit (for cron)\n"
                "  --foreground    log to stderr instead of syslog\n",
            SYSCONFDIR);
}

/*
 * The event loop leaves on its own when another process waits to recover
 * the database (housekeeping), but a thread blocked for good on a mutex a
 * killed process held never gets there, and its handle keeps the recovery
 * waiting. This thread ends the process if the request stands for
 * RECOVERY_GRACE_S; the files it held are in active/ for the next start.
 */
static void *
recovery_watchdog(void *arg)
{
    static const char msg[] = "hookspool-sender: the database is being recovered and a thread "
                              "is stuck in it: exiting\n";
    int fd = (int)(intptr_t)arg;
    int seconds = 0;

    for (;;) {
        sleep(1);
        seconds = store_recovery_watch_pending(fd) ? seconds + 1 : 0;
        if (seconds >= RECOVERY_GRACE_S) {
            ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
            (void)ignored;
            _exit(EXIT_FAILURE);
        }
    }
    return NULL;
}

/*
 * After leaving for a recovery, with every store handle closed (detached):
 * the same program again, which waits for the recovery and resumes, so a
 * sender does not depend on an outside supervisor to come back (cron's
 * --once runs simply end). Its claimed files are unlocked (their
 * descriptors close on exec) and put back by the new start. Never from a
 * process still attached: the new image keeps the pid, which would make
 * the old image's locks look alive to failchk.
 */
static void
restart_self(char **argv)
{
    log_info("restart_self: starting again to rejoin the database once it is recovered");
    execv("/proc/self/exe", argv);
    log_error("restart_self: cannot start again: %s", strerror(errno));
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "once", no_argument, NULL, 'o' },
        { "foreground", no_argument, NULL, 'f' },   { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 },
    };
    struct sender sd = { .inotify_fd = -1, .signal_fd = -1 };
    const char *config = NULL;
    bool foreground = false;
    int c;

    while ((c = getopt_long(argc, argv, "c:ofh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'o': sd.once = true; break;
        case 'f': foreground = true; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        case 'V': printf("hookspool-sender %s\n", PACKAGE_VERSION); return EXIT_SUCCESS;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    log_open("hookspool-sender", foreground);
    sd.config_path = config_choose_path(config);
    char err[1024] = "";
    if (config_load(&sd.cfg, sd.config_path, err, sizeof err) != 0) {
        log_error("main: %s", err);
        config_release(&sd.cfg);
        return EXIT_FAILURE;
    }
    log_set_level(sd.cfg.log_level);
    srandom((unsigned)(time(NULL) ^ getpid()));
    int rc = EXIT_FAILURE;
    if (spool_create_dirs(sd.cfg.spool_dir) != 0)
        goto out;
    /* Producers write tmp/ and new/ only; what cannot be fixed is logged, and the sender runs. */
    if (spool_secure(sd.cfg.spool_dir) != 0)
        log_error("main: %s: the sender's directories are open to others (see "
                  "docs/sender.md, \"Directory modes\")", sd.cfg.spool_dir);
    /*
     * Before any thread starts (store_open may start one): every thread
     * blocks the signals, only the signalfd sees them.
     */
    sd.max_fds = fd_limit_raise();
    sd.signal_fd = signals_open();
    if (sd.signal_fd < 0) {
        log_error("main: signalfd: %s", strerror(errno));
        goto out;
    }
    sd.store = store_open(&sd.cfg, err, sizeof err);
    if (sd.store == NULL) {
        log_error("main: %s", err);
        goto out;
    }
    int watch_fd = store_recovery_watch_open(&sd.cfg);
    pthread_t watchdog;
    if (watch_fd < 0 || pthread_create(&watchdog, NULL, recovery_watchdog,
                                       (void *)(intptr_t)watch_fd) != 0)
        log_warn("main: cannot start the recovery watchdog");
    else {
        (void)pthread_setname_np(watchdog, "hs-watchdog");     /* for ps and top only */
        pthread_detach(watchdog);
    }
    sd.committer = committer_start(&sd.cfg, err, sizeof err);
    if (sd.committer == NULL) {
        log_error("main: delivery log: %s", err);
        goto out;
    }
    /* The API's redeliver and ping requests: a --once run takes those waiting now. */
    if (sd.once) {
        if (requests_poll(sd.store, sd.cfg.spool_dir) < 0)
            log_error("main: cannot read the API's requests; they wait for the next run");
    } else {
        sd.requests = requests_start(&sd.cfg, err, sizeof err);
        if (sd.requests == NULL) {
            log_error("main: requests: %s", err);
            goto out;
        }
    }
    sd.unlinker = unlinker_start();
    sd.parker = parker_start(sd.cfg.spool_dir);
    sd.metrics = metrics_start(&sd.cfg);
    sd.engine = delivery_engine_new(&sd.cfg);
    if (sd.engine == NULL)
        goto out;
    sd.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    char *new_dir = spool_path(sd.cfg.spool_dir, SPOOL_NEW, NULL);
    if (sd.inotify_fd < 0 ||
        inotify_add_watch(sd.inotify_fd, new_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
        log_warn("main: %s: inotify unavailable (%s); rescanning every %d ms", new_dir,
                 strerror(errno), RESCAN_MS);
    free(new_dir);
    recover_active(&sd, true);
    /* --once takes the records due when it starts, and no more: a retry is for the next run. */
    sd.claimer = claimer_start(sd.cfg.spool_dir, (size_t)sd.cfg.max_event_bytes, RESCAN_MS,
                               sd.once ? 0 : RELEASE_MS);
    if (sd.claimer == NULL)
        goto out;
    long long now = now_ms();
    sd.last_maintain = sd.last_recover = now;
    sd.last_prune = now - PRUNE_MS;
    sd.last_metrics = now - METRICS_MS;         /* a first file at once */
    /* The program, not a function: operators and tests wait for "sender: started". */
    log_info("sender: started (spool %s, %ld connections, %ld per host)", sd.cfg.spool_dir,
             sd.cfg.max_connections, sd.cfg.max_connections_per_host);
    rc = run(&sd);
    metrics_tick(&sd);          /* the counters as they end */
out:
    metrics_stop(sd.metrics);
    claimer_stop(sd.claimer);
    delivery_engine_free(sd.engine);
    committer_stop(sd.committer);
    requests_stop(sd.requests);
    commit_drop_creates(&sd);
    parker_stop(sd.parker);
    unlinker_stop(sd.unlinker);
    for (size_t i = 0; i < sd.n_hosts; i++)
        free(sd.hosts[i]);
    for (size_t i = 0; i < ENDPOINT_MEMO; i++)
        free(sd.endpoints[i].endpoint);
    wipe(sd.secrets, sizeof sd.secrets);
    free(sd.hosts);
    if (sd.inotify_fd >= 0)
        close(sd.inotify_fd);
    if (sd.signal_fd >= 0)
        close(sd.signal_fd);
    store_close(sd.store);
    config_release(&sd.cfg);
    if (sd.rejoin && !sd.once)
        restart_self(argv);
    return rc;
}
