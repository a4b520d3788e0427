/*
 * curl_multi - the ceiling for any libcurl-based sender: POSTs the same body
 * to one URL through one multi handle, CONCURRENCY transfers at a time, with
 * keep-alive reuse, and nothing else (no spool, no signing, no database).
 * bench/sender runs it beside hookspool-sender and wrk (docs/sender.md).
 *
 *     curl_multi URL REQUESTS CONCURRENCY BODY_BYTES [CA_FILE [HOST:PORT:ADDRESS]]
 *
 * For an https:// URL, CA_FILE is the PEM bundle trusted (as the sender's
 * tls_ca_file) and HOST:PORT:ADDRESS a resolve pin (as its resolve key).
 * Prints one line: "requests N seconds S rate R reused P" (P in percent).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static size_t
discard(char *data, size_t size, size_t nmemb, void *userp)
{
    return size * nmemb;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sets up one reusable easy handle with the headers the sender sends. */
static CURL *
transfer_new(const char *url, const char *body, size_t len, struct curl_slist *headers,
             const char *ca_file, struct curl_slist *resolve)
{
    CURL *h = curl_easy_init();

    if (h == NULL)
        return NULL;
    if (ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    if (resolve != NULL)
        curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "curl_multi-bench");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    return h;
}

int
main(int argc, char **argv)
{
    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: curl_multi URL REQUESTS CONCURRENCY BODY_BYTES "
                        "[CA_FILE [HOST:PORT:ADDRESS]]\n");
        return 2;
    }
    const char *ca_file = argc > 5 ? argv[5] : NULL;
    struct curl_slist *resolve = NULL;
    if (argc > 6 && (resolve = curl_slist_append(NULL, argv[6])) == NULL)
        return 1;
    const char *url = argv[1];
    long total = atol(argv[2]), conc = atol(argv[3]);
    size_t len = (size_t)atol(argv[4]);
    if (total < 1 || conc < 1 || conc > 10000 || len > (64u << 20)) {
        fprintf(stderr, "curl_multi: bad arguments\n");
        return 2;
    }
    char *body = malloc(len + 1);
    if (body == NULL)
        return 1;
    memset(body, 'x', len);
    if (len >= 2) {
        body[0] = '"';
        body[len - 1] = '"';
    }
    body[len] = '\0';
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    struct curl_slist *headers = NULL;
    const char *lines[] = {
        "Content-Type: application/json",
        "X-NEOSTORE-SIGNATURE: 0000000000000000000000000000000000000000000000000000000000000000",
        "X-NEOSTORE-EVENT: Bench:Created", "X-NEOSTORE-WEBHOOK: bench",
        "X-NEOSTORE-DELIVERY: 00000000000000000000000000000000", "X-NEOSTORE-ATTEMPT: 1",
        "Accept:", "Expect:",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct curl_slist *l = curl_slist_append(headers, lines[i]);
        if (l == NULL)
            return 1;
        headers = l;
    }
    CURLM *multi = curl_multi_init();
    if (multi == NULL)
        return 1;
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, conc);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, conc);

    long started = 0, done = 0, reused = 0, failed = 0;
    double t0 = now_s();
    for (long i = 0; i < conc && started < total; i++, started++) {
        CURL *h = transfer_new(url, body, len, headers, ca_file, resolve);
        if (h == NULL || curl_multi_add_handle(multi, h) != CURLM_OK)
            return 1;
    }
    while (done < total) {
        int running = 0, numfds = 0, left = 0;
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            return 1;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            long status = 0, connects = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
            if (msg->data.result != CURLE_OK || status < 200 || status > 299)
                failed++;
            if (connects == 0)
                reused++;
            done++;
            curl_multi_remove_handle(multi, h);
            if (started < total) {
                started++;
                if (curl_multi_add_handle(multi, h) != CURLM_OK)
                    return 1;
            } else {
                curl_easy_cleanup(h);
            }
        }
        if (done < total && curl_multi_poll(multi, NULL, 0, 1000, &numfds) != CURLM_OK)
            return 1;
    }
    double secs = now_s() - t0;
    printf("requests %ld seconds %.3f rate %.1f reused %.1f failed %ld\n", total, secs,
           (double)total / secs, 100.0 * (double)reused / (double)total, failed);
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    curl_slist_free_all(resolve);
    curl_global_cleanup();
    free(body);
    return failed == 0 ? 0 : 1;
}
