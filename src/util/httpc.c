/* httpc - shared hardening of outgoing HTTP requests (see httpc.h). */
#include "autoconfig.h"

#include <pthread.h>

#include "util/httpc.h"
#include "util/log.h"

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;
static CURLcode httpc_init_rc = CURLE_FAILED_INIT;

static void
httpc_init_once(void)
{
    httpc_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
httpc_global_init(void)
{
    if (pthread_once(&httpc_once, httpc_init_once) != 0 || httpc_init_rc != CURLE_OK) {
        log_error("httpc_global_init: curl_global_init: %s", curl_easy_strerror(httpc_init_rc));
        return -1;
    }
    return 0;
}

CURLcode
httpc_harden(CURL *h, const char *ca_file, struct curl_slist *resolve, char *errbuf)
{
    /* One table of what every request gets; NULL values are the optional ones. */
    const struct {
        CURLoption opt;
        enum { STR, LONG, LIST, BUF } kind;
        const void *ptr;
        long num;
    } opts[] = {
        { CURLOPT_PROTOCOLS_STR, STR, "http,https", 0 },
        { CURLOPT_REDIR_PROTOCOLS_STR, STR, "http,https", 0 },
        { CURLOPT_FOLLOWLOCATION, LONG, NULL, 0L },
        { CURLOPT_PROXY, STR, "", 0 },          /* "" also ignores the environment */
        { CURLOPT_SSL_VERIFYPEER, LONG, NULL, 1L },
        { CURLOPT_SSL_VERIFYHOST, LONG, NULL, 2L },
        { CURLOPT_NOSIGNAL, LONG, NULL, 1L },
        { CURLOPT_USERAGENT, STR, "hookspool/" PACKAGE_VERSION, 0 },
        { CURLOPT_ERRORBUFFER, BUF, errbuf, 0 },
        { CURLOPT_CAINFO, STR, ca_file, 0 },
        { CURLOPT_RESOLVE, LIST, resolve, 0 },
    };
    CURLcode rc = CURLE_OK;

    for (size_t i = 0; i < sizeof opts / sizeof opts[0] && rc == CURLE_OK; i++) {
        if (opts[i].kind != LONG && opts[i].ptr == NULL)
            continue;           /* not given: libcurl's default (bundle, DNS) */
        if (opts[i].kind == LONG)
            rc = curl_easy_setopt(h, opts[i].opt, opts[i].num);
        else
            rc = curl_easy_setopt(h, opts[i].opt, opts[i].ptr);
    }
    return rc;
}

int
httpc_resolve_list(const char *const *pins, size_t n, struct curl_slist **out)
{
    struct curl_slist *list = NULL;

    for (size_t i = 0; i < n; i++) {
        struct curl_slist *l = curl_slist_append(list, pins[i]);
        if (l == NULL) {
            curl_slist_free_all(list);
            *out = NULL;
            return -1;
        }
        list = l;
    }
    *out = list;
    return 0;
}
