/*
 * jwks_fetch - downloads a JWK Set over HTTPS with the hardened client
 * (jwks_fetch.h, util/httpc.h).
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "domain/jwks_fetch.h"
#include "util/httpc.h"
#include "util/log.h"

/* Appends what libcurl received, refusing (and so aborting) past the cap. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct buf *out = userp;
    size_t n = size * nmemb;

    if (out->len + n > JWKS_FETCH_MAX_BYTES)
        return 0;
    buf_append(out, data, n);
    return n;
}

bool
jwks_fetch_url_ok(const char *url)
{
    static const char *const loopback[] = {
        "http://localhost/", "http://localhost:", "http://127.0.0.1/", "http://127.0.0.1:",
        "http://[::1]/", "http://[::1]:",
    };

    if (strncasecmp(url, "https://", 8) == 0)
        return true;
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
        if (strncasecmp(url, loopback[i], strlen(loopback[i])) == 0)
            return true;
    return false;
}

int
jwks_fetch(const char *url, const struct config *cfg, struct buf *out, char *err,
           size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *resolve = NULL;
    long status = 0;
    int rc = -1;

    buf_reset(out);
    if (!jwks_fetch_url_ok(url)) {
        snprintf(err, errlen, "only https:// (or http:// to a loopback host) is fetched");
        return -1;
    }
    if (httpc_global_init() != 0) {
        snprintf(err, errlen, "libcurl could not be initialised");
        return -1;
    }
    if (httpc_resolve_list((const char *const *)cfg->resolve, cfg->resolve_count,
                           &resolve) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    CURL *h = curl_easy_init();
    if (h == NULL) {
        curl_slist_free_all(resolve);
        snprintf(err, errlen, "libcurl could not create a handle");
        return -1;
    }
    /* The same hardening as the sender's deliveries (util/httpc.h), then the fetch's own. */
    if (httpc_harden(h, cfg->tls_ca_file, resolve, curl_err) != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused tls_ca_file, resolve or a hardening option");
        goto out;
    }
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 3L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)JWKS_FETCH_TIMEOUT) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE, (long)JWKS_FETCH_MAX_BYTES) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, out) != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option");
        goto out;
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_err[0] != '\0' ? curl_err : curl_easy_strerror(cc));
        goto out;
    }
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
        snprintf(err, errlen, "HTTP status %ld", status);
        goto out;
    }
    rc = 0;
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(resolve);
    if (rc != 0)
        buf_reset(out);
    return rc;
}
