/*
 * webhooks.fcgi - the webhook API as a FastCGI program, or as a CGI
 * program when started without a FastCGI listening socket.
 *
 * The only file that includes the libfcgi headers. Configuration comes
 * from --config FILE, else $HOOKSPOOL_CONF, else SYSCONFDIR/hookspool.conf.
 */
#include "autoconfig.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api/api.h"
#include "api/supervisor.h"
#include "domain/bearer.h"
#include "util/buf.h"
#include "util/log.h"

enum {
    TICK_MS = 250,
    /*
     * Far beyond any healthy request (lock waits time out after 2 s and are
     * retried). Ending a process inside Berkeley DB costs everyone a
     * recovery, but a process blocked on a mutex that a killed process held
     * wakes never, and until it goes its clients wait.
     */
    REQUEST_DEADLINE_TICKS = 10000 / TICK_MS,
    /*
     * While a recovery waits, a busy process gets this long to finish its
     * request (or to find the store panicked and detach) before it is taken
     * for one blocked on a dead process's mutex and ends. Well inside the
     * recovery's wait for the attached to leave (docs/recovery.md).
     */
    RECOVERY_GRACE_TICKS = 1000 / TICK_MS,
    MAX_WORKERS = 256,
};

/* Where the request's environment and body come from. */
struct transport {
    FCGX_Stream *in;            /* NULL in CGI mode: read stdin */
    char **envp;                /* NULL in CGI mode: getenv */
    struct buf *seen;           /* the body read so far, to replay on a retry */
    size_t replayed;            /* how much of seen a retry has read again */
};

static const char *
param(const struct transport *t, const char *name)
{
    return t->envp != NULL ? FCGX_GetParam(name, t->envp) : getenv(name);
}

static ssize_t
read_fresh(struct transport *t, char *buf, size_t n)
{
    if (t->in != NULL) {
        int got = FCGX_GetStr(buf, (int)n, t->in);
        return got < 0 ? -1 : got;
    }
    size_t got = fread(buf, 1, n, stdin);
    return got == 0 && ferror(stdin) ? -1 : (ssize_t)got;
}

/* Reads the body: what an earlier try read first, then the rest from the server. */
static ssize_t
read_body(void *io, char *buf, size_t n)
{
    struct transport *t = io;

    if (t->replayed < t->seen->len) {
        size_t k = t->seen->len - t->replayed;
        k = k < n ? k : n;
        memcpy(buf, t->seen->data + t->replayed, k);
        t->replayed += k;
        return (ssize_t)k;
    }
    ssize_t got = read_fresh(t, buf, n);
    if (got > 0) {
        buf_append(t->seen, buf, (size_t)got);
        t->replayed = t->seen->len;
    }
    return got;
}

static long long
content_length(const char *s)
{
    char *end;

    if (s == NULL || *s == '\0')
        return -1;
    long long v = strtoll(s, &end, 10);
    return *end == '\0' && v >= 0 ? v : -1;
}

/* Renders the response as CGI output (Status line, headers, blank line, body). */
static void
render(const struct http_response *res, bool head, struct buf *out)
{
    buf_printf(out, "Status: %d %s\r\n", res->status, http_reason(res->status));
    buf_puts(out, "Cache-Control: no-store\r\n");
    for (size_t i = 0; i < res->n_headers; i++)
        buf_printf(out, "%s: %s\r\n", res->headers[i].name, res->headers[i].value);
    if (res->content_type != NULL)
        buf_printf(out, "Content-Type: %s\r\n", res->content_type);
    buf_printf(out, "Content-Length: %zu\r\n\r\n", res->body_len);
    if (!head && res->body != NULL)
        buf_append(out, res->body, res->body_len);
}

/* "https" when the server says the request came over TLS, else "http". */
static const char *
request_scheme(const struct transport *t)
{
    const char *https = param(t, "HTTPS");
    const char *scheme = param(t, "REQUEST_SCHEME");

    if ((https != NULL && strcasecmp(https, "on") == 0) ||
        (scheme != NULL && strcmp(scheme, "https") == 0))
        return "https";
    return "http";
}

static void
serve(struct api_context *ctx, struct transport *t, struct buf *out)
{
    const char *authorization = param(t, "HTTP_AUTHORIZATION");
    if (authorization == NULL)  /* Apache after a RewriteRule [E=...] */
        authorization = param(t, "REDIRECT_HTTP_AUTHORIZATION");
    struct http_request req = {
        .method = param(t, "REQUEST_METHOD"),
        .path_info = param(t, "PATH_INFO"),
        .request_uri = param(t, "REQUEST_URI"),
        .content_type = param(t, "CONTENT_TYPE"),
        .content_length = content_length(param(t, "CONTENT_LENGTH")),
        .api_key = param(t, "HTTP_X_API_KEY"),
        .authorization = authorization,
        .query_string = param(t, "QUERY_STRING"),
        .host = param(t, "HTTP_HOST"),
        .scheme = request_scheme(t),
        .read_body = read_body,
        .io = t,
    };
    struct http_response res;

    http_response_init(&res);
    if (req.method == NULL)
        req.method = "GET";
    api_handle(ctx, &req, &res);
    buf_reset(out);
    render(&res, strcmp(req.method, "HEAD") == 0, out);
    http_response_release(&res);
}

/* Answers 503: for a bad configuration until fixed, for the store until it reopens. */
static void
render_broken(struct buf *out, bool configured)
{
    struct http_response res;

    http_response_init(&res);
    http_response_problem(&res, 503, configured
                              ? "The webhook store is unavailable; try again shortly."
                              : "The webhook service is not configured correctly; "
                                "see the server's error log.", NULL);
    http_response_header(&res, "Retry-After", configured ? "1" : "60");
    buf_reset(out);
    render(&res, false, out);
    http_response_release(&res);
}

static volatile sig_atomic_t busy, stop_requested, busy_ticks, pending_ticks;
/*
 * The open store, for on_tick; NULL while it is being closed or opened, so
 * a process waiting to recover the store is not ended by its own flag.
 */
static struct store *volatile watched_store;

/*
 * SIGTERM (also when the supervisor dies): leave at once when idle, or after
 * the request in progress. Either way let go of the listening socket now: a
 * web server that finds it still answering takes it for someone else's and
 * never starts a fresh supervisor on it (lighttpd 1.4).
 */
static void
on_sigterm(int sig)
{
    if (!busy)
        _exit(0);
    close(STDIN_FILENO);        /* the listening socket; in CGI mode the body nobody sends now */
    stop_requested = 1;
}

/*
 * Every TICK_MS. If another process waits to recover the store, leave so it
 * can: at once when idle (the supervisor or web server starts a fresh
 * process, which joins after the recovery). A busy process gets
 * RECOVERY_GRACE_TICKS to get out of the store by itself (its request is
 * then retried on the recovered store); one still inside is blocked on a
 * mutex the killed process held, and would never wake. A request over
 * REQUEST_DEADLINE_TICKS is stuck for good in any case.
 */
static void
on_tick(int sig)
{
    static const char stuck[] = "webhooks.fcgi: a request ran over its deadline: exiting\n";
    static const char leaving[] = "webhooks.fcgi: blocked in the store while it waits to be "
                                  "recovered: exiting\n";
    ssize_t ignored = 0;

    static const char idle[] = "webhooks.fcgi: idle while the store waits to be recovered: "
                               "leaving\n";
    bool joining = store_join_blocks_recovery();
    if (joining || store_recovery_pending(watched_store)) {
        if (!busy && !joining) {
            ignored = write(STDERR_FILENO, idle, sizeof idle - 1);
            _exit(0);
        }
        if (++pending_ticks >= RECOVERY_GRACE_TICKS) {
            ignored = write(STDERR_FILENO, leaving, sizeof leaving - 1);
            _exit(1);
        }
    } else {
        pending_ticks = 0;
    }
    if (busy && ++busy_ticks >= REQUEST_DEADLINE_TICKS) {
        ignored = write(STDERR_FILENO, stuck, sizeof stuck - 1);
        _exit(1);
    }
    (void)ignored;
}

/*
 * libfcgi's own SIGTERM handler only sets a flag that its accept loop reads
 * when accept() is interrupted, so a SIGTERM that arrives while a request is
 * being answered is forgotten and the process outlives its web server.
 */
static void
install_handlers(void)
{
    struct sigaction sa;
    struct itimerval every_tick = { { 0, TICK_MS * 1000 }, { 0, TICK_MS * 1000 } };

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_tick;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &every_tick, NULL);
}

/* Marks the process busy (a request, or store work) or idle again. */
static void
set_busy(bool on)
{
    if (on)
        busy_ticks = pending_ticks = 0;
    busy = on;
}

/* Opens the store, logging why not; NULL means "answer 503 and try again later". */
static struct store *
open_store(const struct config *cfg)
{
    char err[1024] = "";
    struct store *s = store_open(cfg, err, sizeof err);

    if (s == NULL)
        log_error("open_store: %s", err);
    return s;
}

/* Detaches from a store that needs recovery and joins it again (after the recovery). */
static void
reopen_store(struct api_context *ctx)
{
    log_warn("reopen_store: the environment needs recovery: reopening it");
    watched_store = NULL;
    store_close(ctx->store);
    watched_store = ctx->store = open_store(ctx->cfg);
}

/*
 * Answers one request: from the API if the store is (or can be) open, else
 * 503. A request that met a store needing recovery, and changed nothing, is
 * answered again on the recovered store rather than failed: the process
 * that died is the only one whose requests should fail.
 */
static void
answer(struct api_context *ctx, bool configured, struct transport *t, struct buf *out)
{
    if (configured && ctx->store == NULL)
        watched_store = ctx->store = open_store(ctx->cfg);
    if (ctx->store == NULL) {
        render_broken(out, configured);
        return;
    }
    serve(ctx, t, out);
    if (store_may_retry(ctx->store)) {
        reopen_store(ctx);
        t->replayed = 0;
        if (ctx->store != NULL)
            serve(ctx, t, out);
    }
}

/*
 * A fresh process's check of the store: opening it recovers it if it needs
 * that. Watched by the same timer as a request, so that a join blocked on a
 * dead process's mutex cannot hold a recovery up (or the next check).
 */
static int
check_store(void *arg)
{
    const struct config *cfg = arg;

    install_handlers();
    set_busy(true);
    struct store *s = open_store(cfg);

    store_close(s);
    return s != NULL ? 0 : 1;
}

/* The number of workers to supervise: --workers N, else $HOOKSPOOL_WORKERS, else 0 (none). */
static int
parse_workers(const char *s, unsigned *out)
{
    char *end;

    if (s == NULL || *s == '\0')
        return 0;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > MAX_WORKERS)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int
main(int argc, char **argv)
{
    const char *config_arg = NULL;
    const char *workers_arg = getenv("HOOKSPOOL_WORKERS");
    unsigned workers = 0;
    struct config cfg;
    char err[1024] = "";
    struct buf out, seen;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_arg = argv[++i];
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            workers_arg = argv[++i];
        } else {
            fprintf(stderr, "usage: webhooks.fcgi [--config FILE] [--workers N]\n");
            return 2;
        }
    }
    if (parse_workers(workers_arg, &workers) != 0) {
        fprintf(stderr, "webhooks.fcgi: workers: not a number from 0 to %d: %s\n", MAX_WORKERS,
                workers_arg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Database files it creates stay writable by the group it shares with
     * the sender, whatever the web server's umask (docs/deploy.md). */
    umask(S_IRWXO);
    /* Web servers put a FastCGI or CGI program's stderr into their error log. */
    log_open("webhooks.fcgi", true);
    bool configured = config_load(&cfg, config_choose_path(config_arg), err, sizeof err) == 0;
    if (!configured)
        log_error("main: %s", err);
    else
        log_set_level(cfg.log_level);
    /* Bearer-token keys stay loaded between requests (domain/bearer.h). */
    struct api_context ctx = { &cfg, NULL, configured ? bearer_new(&cfg) : NULL };
    buf_init(&out);

    buf_init(&seen);
    if (FCGX_IsCGI()) {
        struct transport t = { NULL, NULL, &seen, 0 };
        /*
         * A web server ends a CGI program whose client went away with
         * SIGTERM (lighttpd at once). Dying inside the store would cost
         * every process using it a recovery; the request is short, so the
         * program finishes it instead. The timer still ends one blocked
         * for good, or in the way of a recovery, as in a FastCGI worker.
         */
        install_handlers();
        set_busy(true);
        answer(&ctx, configured, &t, &out);
        fwrite(out.data, 1, out.len, stdout);
        fflush(stdout);
    } else {
        FCGX_Request request;
        /* Returns in each worker; the supervisor never returns (src/api/supervisor.h). */
        if (workers > 0)
            supervisor_run(workers, check_store, &cfg);
        if (FCGX_Init() != 0 || FCGX_InitRequest(&request, 0, 0) != 0) {
            log_error("main: cannot initialise");
            return 1;
        }
        install_handlers();
        set_busy(true);
        if (configured)
            watched_store = ctx.store = open_store(&cfg);
        set_busy(false);
        while (!stop_requested && FCGX_Accept_r(&request) >= 0) {
            set_busy(true);
            buf_reset(&seen);
            struct transport t = { request.in, request.envp, &seen, 0 };
            answer(&ctx, configured, &t, &out);
            if (FCGX_PutStr(out.data, (int)out.len, request.out) < 0)
                log_warn("main: client went away before the response was written");
            FCGX_Finish_r(&request);
            if (ctx.store != NULL) {
                store_maintain(ctx.store);
                /* Detach so recovery can run, and rejoin before the next request. */
                if (store_needs_restart(ctx.store))
                    reopen_store(&ctx);
            }
            set_busy(false);
        }
    }
    /* A second SIGTERM must not _exit() in the middle of store_close, holding a mutex. */
    set_busy(true);
    buf_release(&out);
    buf_release(&seen);
    bearer_free(ctx.bearer);
    watched_store = NULL;
    store_close(ctx.store);
    config_release(&cfg);
    return 0;
}
