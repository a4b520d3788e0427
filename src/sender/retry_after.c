/* retry_after - Retry-After values and their bound (see retry_after.h). */
#include "autoconfig.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "sender/retry_after.h"

/* True if s is whitespace to its end. */
static bool
rest_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

/* An HTTP-date in any of its three forms, as Unix seconds; -1 if it is none. */
static long long
http_date(const char *s)
{
    static const char *const forms[] = {
        "%a, %d %b %Y %H:%M:%S GMT",    /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        "%A, %d-%b-%y %H:%M:%S GMT",    /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        "%a %b %e %H:%M:%S %Y",         /* asctime: Sun Nov  6 08:49:37 1994 */
    };

    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s, forms[i], &tm);
        if (end != NULL && rest_blank(end))
            return (long long)timegm(&tm);
    }
    return -1;
}

int
retry_after_parse(const char *value, long long now_ms, long long *at_ms)
{
    const char *s = value;

    while (*s == ' ' || *s == '\t')
        s++;
    if (isdigit((unsigned char)*s)) {
        long long secs = 0;
        for (; isdigit((unsigned char)*s); s++)
            if (secs < 100LL * 365 * 86400)     /* larger is "a long time": the bound applies */
                secs = secs * 10 + (*s - '0');
        if (!rest_blank(s))
            return -1;
        *at_ms = now_ms + secs * 1000;
        return 0;
    }
    long long t = http_date(s);
    if (t < 0)
        return -1;
    *at_ms = t * 1000;
    return 0;
}

time_t
retry_after_apply(time_t due, long long at_ms)
{
    long long wanted = (at_ms + 999) / 1000;    /* never early: rounded up */

    if (at_ms <= 0 || wanted <= (long long)due)
        return due;
    if (wanted > (long long)due + RETRY_AFTER_MAX_S)
        wanted = (long long)due + RETRY_AFTER_MAX_S;
    return (time_t)wanted;
}
