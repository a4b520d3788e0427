/*
 * delivery - signed POSTs through one libcurl multi handle (delivery.h):
 * headers, limits, the outcome of each attempt.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sender/delivery.h"
#include "sender/retry_after.h"
#include "util/clock.h"
#include "util/httpc.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/xalloc.h"

enum { SPARE_MAX = 256 };     /* easy handles kept for reuse, at most */

struct delivery_engine {
    CURLM *multi;
    struct xfer *xfers;         /* started, not yet reported */
    size_t running;
    struct xfer *spare;         /* finished transfers kept for reuse (next links them) */
    size_t n_spare;
    long timeout_ms;
    bool allow_private;
    char *ca_file;              /* tls_ca_file, or NULL for libcurl's default bundle */
    unsigned ca_generation;     /* bumped when ca_file changes */
    struct curl_slist *resolve; /* the resolve pins, or NULL; fixed at start */
};

/* One transfer in flight. */
struct xfer {
    struct xfer *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    void *ctx;
    unsigned ca_generation;     /* the engine's when the handle was set up */
    bool allow_private;
    size_t received;            /* response body bytes seen */
    char refused[DELIVERY_ERROR_MAX + 1];   /* why the open-socket callback said no */
    char errbuf[CURL_ERROR_SIZE];
};

static void xfer_free(struct xfer *x);

/* True if the strings are equal, NULL counting as a value of its own. */
static bool
same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* True if cfg's resolve pins are the ones in list. */
static bool
same_resolve(const struct curl_slist *list, const struct config *cfg)
{
    size_t i = 0;

    for (; list != NULL; list = list->next, i++)
        if (i >= cfg->resolve_count || strcmp(list->data, cfg->resolve[i]) != 0)
            return false;
    return i == cfg->resolve_count;
}

/*
 * Takes the resolve pins from cfg, once: libcurl keeps a pointer to the list
 * in every handle and the pins it loaded in the multi handle's DNS cache, so
 * they are not changed on a reload. Returns 0, or -1 if libcurl could not
 * copy a pin.
 */
static int
delivery_apply_resolve(struct delivery_engine *e, const struct config *cfg)
{
    if (httpc_resolve_list((const char *const *)cfg->resolve, cfg->resolve_count,
                           &e->resolve) != 0) {
        log_error("delivery_apply_resolve: resolve: out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->resolve_count; i++)
        log_info("delivery_apply_resolve: resolve: %s (pinned for tests or staging)",
                 cfg->resolve[i]);
    return 0;
}

/*
 * Takes tls_ca_file from cfg. Handles set up with another one (spares now,
 * transfers in flight when they finish) are dropped rather than reused; a
 * connection kept alive under another bundle is never reused by libcurl.
 */
static void
delivery_apply_ca(struct delivery_engine *e, const struct config *cfg)
{
    if (same_str(e->ca_file, cfg->tls_ca_file))
        return;
    free(e->ca_file);
    e->ca_file = cfg->tls_ca_file != NULL ? xstrdup(cfg->tls_ca_file) : NULL;
    e->ca_generation++;
    while (e->spare != NULL) {
        struct xfer *x = e->spare;
        e->spare = x->next;
        xfer_free(x);
    }
    e->n_spare = 0;
}

static void
delivery_apply(struct delivery_engine *e, const struct config *cfg)
{
    e->timeout_ms = cfg->delivery_timeout * 1000;
    e->allow_private = cfg->allow_private_targets;
    curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, cfg->max_connections);
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, cfg->max_connections_per_host);
    /* Keep as many idle connections as may be open, so keep-alive actually pays off. */
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, cfg->max_connections);
}

struct delivery_engine *
delivery_engine_new(const struct config *cfg)
{
    if (httpc_global_init() != 0)
        return NULL;
    struct delivery_engine *e = xcalloc(1, sizeof *e);
    e->multi = curl_multi_init();
    if (e->multi == NULL) {
        log_error("delivery_engine_new: curl_multi_init failed");
        free(e);
        return NULL;
    }
    delivery_apply(e, cfg);
    delivery_apply_ca(e, cfg);
    if (delivery_apply_resolve(e, cfg) != 0) {
        delivery_engine_free(e);
        return NULL;
    }
    return e;
}

void
delivery_engine_configure(struct delivery_engine *e, const struct config *cfg)
{
    delivery_apply(e, cfg);
    delivery_apply_ca(e, cfg);
    if (!same_resolve(e->resolve, cfg))
        log_warn("delivery_engine_configure: resolve changed: the new pins apply after a restart");
}

static void
xfer_free(struct xfer *x)
{
    if (x == NULL)
        return;
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x);
}

static size_t xfer_write(char *data, size_t size, size_t nmemb, void *userp);
static curl_socket_t xfer_open_socket(void *clientp, curlsocktype purpose,
                                      struct curl_sockaddr *addr);

/* Sets the options every transfer of a handle shares; returns CURLE_OK or the first error. */
static CURLcode
xfer_setup(const struct delivery_engine *e, struct xfer *x)
{
    CURL *h = x->easy;
    /* What every outgoing request gets (util/httpc.h), then what a delivery adds. */
    CURLcode rc = httpc_harden(h, e->ca_file, e->resolve, x->errbuf);

#define SET(opt, val) \
    if (rc == CURLE_OK) \
    rc = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_WRITEFUNCTION, xfer_write);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_OPENSOCKETFUNCTION, xfer_open_socket);
    SET(CURLOPT_OPENSOCKETDATA, x);
    SET(CURLOPT_PRIVATE, x);
#undef SET
    return rc;
}

/*
 * A transfer with an easy handle: a spare one, or a new one; NULL on
 * failure. A spare keeps its shared options (xfer_setup) and its xfer, to
 * which they point: setting them again for every delivery was a measurable
 * share of the event loop's time.
 */
static struct xfer *
xfer_get(struct delivery_engine *e)
{
    struct xfer *x = e->spare;

    if (x != NULL) {
        e->spare = x->next;
        e->n_spare--;
        CURL *easy = x->easy;
        unsigned generation = x->ca_generation;
        memset(x, 0, sizeof *x);
        x->easy = easy;
        x->ca_generation = generation;
        return x;
    }
    x = xcalloc(1, sizeof *x);
    x->ca_generation = e->ca_generation;
    x->easy = curl_easy_init();
    if (x->easy == NULL || xfer_setup(e, x) != CURLE_OK) {
        if (x->easy != NULL)
            curl_easy_cleanup(x->easy);
        free(x);
        return NULL;
    }
    return x;
}

/* Keeps a finished transfer's easy handle for the next one (saves setting one up). */
static void
xfer_put(struct delivery_engine *e, struct xfer *x)
{
    if (e->n_spare >= SPARE_MAX || x->ca_generation != e->ca_generation) {
        xfer_free(x);
        return;
    }
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    x->prev = NULL;
    x->next = e->spare;
    e->spare = x;
    e->n_spare++;
}

static void
xfer_unlink(struct delivery_engine *e, struct xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        e->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    e->running--;
}

void
delivery_engine_free(struct delivery_engine *e)
{
    if (e == NULL)
        return;
    while (e->xfers != NULL) {
        struct xfer *x = e->xfers;
        xfer_unlink(e, x);
        curl_multi_remove_handle(e->multi, x->easy);
        xfer_free(x);
    }
    while (e->spare != NULL) {
        struct xfer *x = e->spare;
        e->spare = x->next;
        xfer_free(x);
    }
    curl_multi_cleanup(e->multi);
    curl_slist_free_all(e->resolve);
    free(e->ca_file);
    free(e);
    /* libcurl stays initialised for the process (httpc_global_init runs once). */
}

void
delivery_cancel_all(struct delivery_engine *e, void (*cancel)(void *ctx, void *arg), void *arg)
{
    while (e->xfers != NULL) {
        struct xfer *x = e->xfers;
        void *ctx = x->ctx;
        xfer_unlink(e, x);
        curl_multi_remove_handle(e->multi, x->easy);
        xfer_free(x);
        cancel(ctx, arg);
    }
}

size_t
delivery_running(const struct delivery_engine *e)
{
    return e->running;
}

/* Reads and discards the response body, up to DELIVERY_RESPONSE_CAP bytes. */
static size_t
xfer_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nmemb;

    if (x->received + n > DELIVERY_RESPONSE_CAP)
        return 0;               /* stop reading: libcurl ends the transfer */
    x->received += n;
    return n;
}

/* Opens the socket libcurl asks for, unless the resolved address is off limits. */
static curl_socket_t
xfer_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct xfer *x = clientp;

    if (!x->allow_private) {
        const char *range = netaddr_restricted(&addr->addr);
        if (range != NULL) {
            char text[INET6_ADDRSTRLEN] = "?";
            if (addr->family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)&addr->addr)->sin_addr, text,
                          sizeof text);
            else if (addr->family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr->addr)->sin6_addr, text,
                          sizeof text);
            snprintf(x->refused, sizeof x->refused,
                     "refused to connect to %s (%s address; allow_private_targets = no)", text,
                     range);
            return CURL_SOCKET_BAD;
        }
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/*
 * Adds "name: value" to the list; returns -1 if libcurl could not, or if
 * value holds a control character (CR and LF would end the header and start
 * another) or would not fit whole: a header is only ever what it says.
 */
static int
header_add(struct curl_slist **list, const char *name, const char *value)
{
    char line[512];

    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return -1;
    int n = snprintf(line, sizeof line, "%s: %s", name, value);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    struct curl_slist *l = curl_slist_append(*list, line);
    if (l == NULL)
        return -1;
    *list = l;
    return 0;
}

/* The headers of a rotation's overlap and of Standard Webhooks, when the request has them. */
static int
signing_headers(struct curl_slist **list, const struct delivery_request *req)
{
    if (req->signature_previous != NULL &&
        header_add(list, "X-NEOSTORE-SIGNATURE-PREVIOUS", req->signature_previous) != 0)
        return -1;
    if (req->webhook_signature == NULL || req->webhook_timestamp == NULL)
        return 0;
    return header_add(list, "webhook-id", req->delivery_id) ||
           header_add(list, "webhook-timestamp", req->webhook_timestamp) ||
           header_add(list, "webhook-signature", req->webhook_signature);
}

int
delivery_start(struct delivery_engine *e, const struct delivery_request *req, char *err,
               size_t errlen)
{
    struct xfer *x = xfer_get(e);
    char attempt[16];
    CURLcode rc = CURLE_OK;

    if (x == NULL) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    x->ctx = req->ctx;
    x->allow_private = e->allow_private;
    snprintf(attempt, sizeof attempt, "%d", req->attempt);
    /* "Name:" with no value removes a header libcurl would add on its own. */
    x->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (x->headers == NULL || header_add(&x->headers, "X-NEOSTORE-SIGNATURE", req->signature) ||
        header_add(&x->headers, "X-NEOSTORE-EVENT", req->event_type) ||
        header_add(&x->headers, "X-NEOSTORE-WEBHOOK", req->webhook_id) ||
        header_add(&x->headers, "X-NEOSTORE-DELIVERY", req->delivery_id) ||
        header_add(&x->headers, "X-NEOSTORE-ATTEMPT", attempt) ||
        curl_slist_append(x->headers, "Accept:") == NULL ||
        curl_slist_append(x->headers, "Expect:") == NULL || signing_headers(&x->headers, req)) {
        snprintf(err, errlen, "cannot build the request headers");
        xfer_free(x);
        return -1;
    }
    CURL *h = x->easy;
#define SET(opt, val) \
    if (rc == CURLE_OK) \
    rc = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_POSTFIELDS, req->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SET(CURLOPT_HTTPHEADER, x->headers);
    SET(CURLOPT_TIMEOUT_MS, e->timeout_ms);
#undef SET
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "cannot set up the transfer: %s", curl_easy_strerror(rc));
        xfer_free(x);
        return -1;
    }
    CURLMcode mc = curl_multi_add_handle(e->multi, h);
    if (mc != CURLM_OK) {
        snprintf(err, errlen, "cannot start the transfer: %s", curl_multi_strerror(mc));
        xfer_free(x);
        return -1;
    }
    x->next = e->xfers;
    if (x->next != NULL)
        x->next->prev = x;
    e->xfers = x;
    e->running++;
    return 0;
}

/*
 * The address an https transfer was connecting to when it ended with no
 * TLS session established, or NULL (plain http, no address tried yet, or a
 * session was set up). libcurl 7.88 reports no TCP connect time for such a
 * transfer, so whether TCP connected cannot be told here.
 */
static const char *
xfer_no_tls_session(struct xfer *x)
{
    curl_off_t handshaken = 0;
    char *scheme = NULL, *ip = NULL;

    if (curl_easy_getinfo(x->easy, CURLINFO_SCHEME, &scheme) == CURLE_OK && scheme != NULL &&
        strcasecmp(scheme, "https") == 0 &&
        curl_easy_getinfo(x->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL &&
        ip[0] != '\0' &&
        curl_easy_getinfo(x->easy, CURLINFO_APPCONNECT_TIME_T, &handshaken) == CURLE_OK &&
        handshaken == 0)
        return ip;
    return NULL;
}

/* The time a 429 or 503 answer's Retry-After names, or 0 (none, or not valid). */
static long long
xfer_retry_after(struct xfer *x, long status)
{
    struct curl_header *h = NULL;
    long long at = 0;

    if ((status == 429 || status == 503) &&
        curl_easy_header(x->easy, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
        retry_after_parse(h->value, clock_ms(CLOCK_REALTIME), &at) != 0) {
        log_info("xfer_retry_after: HTTP %ld: Retry-After \"%.64s\" is neither seconds nor an HTTP "
                 "date: ignored", status, h->value);
        at = 0;
    }
    return at;
}

/* Fills r from a finished transfer. */
static void
xfer_result(struct xfer *x, CURLcode code, const char *ca_file, struct delivery_result *r)
{
    long status = 0, connects = 0;
    curl_off_t total_us = 0;
    const char *ip;

    memset(r, 0, sizeof *r);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    r->status = (int)status;
    r->duration_ms = (long)(total_us / 1000);
    r->reused = connects == 0 && status != 0;
    bool done = code == CURLE_OK || (code == CURLE_WRITE_ERROR && status != 0);
    if (done && status >= 200 && status < 300) {
        r->ok = true;
    } else if (done) {
        snprintf(r->error, sizeof r->error, "HTTP %ld%s", status,
                 status >= 300 && status < 400 ? " (redirects are not followed)" : "");
        r->retry_at_ms = xfer_retry_after(x, status);
    } else if (x->refused[0] != '\0') {
        snprintf(r->error, sizeof r->error, "%s", x->refused);
    } else if (code == CURLE_PEER_FAILED_VERIFICATION) {
        /* libcurl says what was wrong (expired, issuer, name); add which CAs were trusted. */
        snprintf(r->error, sizeof r->error, "%.140s (trusting %s)",
                 x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(code),
                 ca_file != NULL ? ca_file : "the system's CA bundle");
    } else if (code == CURLE_OPERATION_TIMEDOUT && (ip = xfer_no_tls_session(x)) != NULL) {
        snprintf(r->error, sizeof r->error, "%.110s (no TLS session with %.46s established)",
                 x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(code), ip);
    } else {
        snprintf(r->error, sizeof r->error, "%.*s", (int)sizeof r->error - 1,
                 x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(code));
    }
}

int
delivery_run(struct delivery_engine *e, const int *fds, bool *ready, size_t n_fds,
             int timeout_ms, delivery_done_fn done, void *arg)
{
    struct curl_waitfd extra[8];
    int numfds = 0, still = 0;

    if (n_fds > sizeof extra / sizeof extra[0])
        n_fds = sizeof extra / sizeof extra[0];
    for (size_t i = 0; i < n_fds; i++) {
        extra[i].fd = fds[i];
        extra[i].events = CURL_WAIT_POLLIN;
        extra[i].revents = 0;
    }
    CURLMcode mc = curl_multi_poll(e->multi, extra, (unsigned)n_fds, timeout_ms, &numfds);
    if (mc != CURLM_OK) {
        log_error("delivery_run: curl_multi_poll: %s", curl_multi_strerror(mc));
        return -1;
    }
    for (size_t i = 0; i < n_fds; i++)
        ready[i] = (extra[i].revents & CURL_WAIT_POLLIN) != 0;
    mc = curl_multi_perform(e->multi, &still);
    if (mc != CURLM_OK) {
        log_error("delivery_run: curl_multi_perform: %s", curl_multi_strerror(mc));
        return -1;
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct xfer *x = NULL;
        struct delivery_result r;
        CURLcode code = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        xfer_result(x, code, e->ca_file, &r);
        curl_multi_remove_handle(e->multi, x->easy);
        xfer_unlink(e, x);
        void *ctx = x->ctx;
        xfer_put(e, x);
        done(ctx, &r, arg);
    }
    return 0;
}

int
delivery_host_key(const char *url, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
        int n = snprintf(out, cap, "%s://%s:%s", scheme, host, port);
        rc = n > 0 && (size_t)n < cap ? 0 : -1;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}
