/*
 * config - hookspool.conf (config.h): every setting, its default and its
 * validator; errors name the file and line.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/config.h"
#include "util/buf.h"
#include "util/conffile.h"
#include "util/fileio.h"
#include "util/netaddr.h"
#include "util/xalloc.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef DEFAULT_DB_HOME
#define DEFAULT_DB_HOME "/var/lib/hookspool"
#endif
#ifndef DEFAULT_SPOOL_DIR
#define DEFAULT_SPOOL_DIR "/var/spool/hookspool"
#endif

enum setting_kind { KIND_STRING, KIND_LONG, KIND_BOOL, KIND_DURABILITY,
                    KIND_ENCODING, KIND_SCHEDULE, KIND_LOG_LEVEL, KIND_BASE_PATH,
                    KIND_CA_FILE, KIND_RESOLVE, KIND_DAYS };

struct setting {
    const char *key;
    enum setting_kind kind;
    size_t offset;
    long min, max;              /* KIND_LONG bounds */
};

#define AT(member) offsetof(struct config, member)

static const struct setting settings[] = {
    { "base_path", KIND_BASE_PATH, AT(base_path), 0, 0 },
    { "db_home", KIND_STRING, AT(db_home), 0, 0 },
    { "spool_dir", KIND_STRING, AT(spool_dir), 0, 0 },
    { "durability", KIND_DURABILITY, AT(durability), 0, 0 },
    { "max_body_bytes", KIND_LONG, AT(max_body_bytes), 1024, 16L << 20 },
    { "max_event_bytes", KIND_LONG, AT(max_event_bytes), 1024, 64L << 20 },
    { "max_webhooks_per_tenant", KIND_LONG, AT(max_webhooks_per_tenant), 1, 100000 },
    { "allow_http_endpoints", KIND_BOOL, AT(allow_http_endpoints), 0, 0 },
    { "allow_private_targets", KIND_BOOL, AT(allow_private_targets), 0, 0 },
    { "jwt_issuer", KIND_STRING, AT(jwt_issuer), 0, 0 },
    { "jwt_audience", KIND_STRING, AT(jwt_audience), 0, 0 },
    { "jwt_jwks_file", KIND_STRING, AT(jwt_jwks_file), 0, 0 },
    { "jwt_jwks_url", KIND_STRING, AT(jwt_jwks_url), 0, 0 },
    { "jwt_hs256_secret_file", KIND_STRING, AT(jwt_hs256_secret_file), 0, 0 },
    { "jwt_tenant_claim", KIND_STRING, AT(jwt_tenant_claim), 0, 0 },
    { "jwt_leeway", KIND_LONG, AT(jwt_leeway), 0, 3600 },
    { "jwt_jwks_refresh", KIND_LONG, AT(jwt_jwks_refresh), 1, 86400 },
    { "jwt_jwks_min_refetch", KIND_LONG, AT(jwt_jwks_min_refetch), 1, 3600 },
    { "delivery_timeout", KIND_LONG, AT(delivery_timeout), 1, 600 },
    { "retry_schedule", KIND_SCHEDULE, AT(retry_schedule), 0, 0 },
    { "signature_encoding", KIND_ENCODING, AT(signature_encoding), 0, 0 },
    { "max_connections", KIND_LONG, AT(max_connections), 1, 10000 },
    { "max_connections_per_host", KIND_LONG, AT(max_connections_per_host), 1, 1000 },
    { "delivery_log_days", KIND_LONG, AT(delivery_log_days), 1, 3650 },
    { "log_level", KIND_LOG_LEVEL, AT(log_level), 0, 0 },
    { "tls_ca_file", KIND_CA_FILE, AT(tls_ca_file), 0, 0 },
    { "resolve", KIND_RESOLVE, AT(resolve), 0, 0 },
    { "standard_webhooks", KIND_BOOL, AT(standard_webhooks), 0, 0 },
    { "disable_after_days", KIND_DAYS, AT(disable_after_days), 0, 3650 },
    { "metrics_file", KIND_STRING, AT(metrics_file), 0, 0 },
};

void
config_defaults(struct config *cfg)
{
    static const long default_schedule[] = { 5, 300, 1800, 7200, 18000, 36000, 36000 };

    memset(cfg, 0, sizeof *cfg);
    cfg->base_path = xstrdup("/api");
    cfg->db_home = xstrdup(DEFAULT_DB_HOME);
    cfg->spool_dir = xstrdup(DEFAULT_SPOOL_DIR);
    cfg->durability = DURABILITY_SYNC;
    cfg->max_body_bytes = 65536;
    cfg->max_event_bytes = 1L << 20;
    cfg->max_webhooks_per_tenant = 100;
    cfg->jwt_tenant_claim = xstrdup("tenants");
    cfg->jwt_leeway = 60;
    cfg->jwt_jwks_refresh = 600;
    cfg->jwt_jwks_min_refetch = 60;
    cfg->delivery_timeout = 30;
    cfg->retry_count = sizeof default_schedule / sizeof default_schedule[0];
    memcpy(cfg->retry_schedule, default_schedule, sizeof default_schedule);
    cfg->signature_encoding = SIGNATURE_HEX;
    cfg->standard_webhooks = true;
    cfg->max_connections = 64;
    cfg->max_connections_per_host = 8;
    cfg->delivery_log_days = 30;
    cfg->log_level = LOG_LVL_INFO;
    cfg->disable_after_days = 5;
}

/* Parses a duration: digits with an optional unit s, m, h or d. */
static int
parse_duration(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno != 0 || v < 0)
        return -1;
    long unit = 1;
    if (*end != '\0') {
        switch (*end) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return -1;
        }
        if (end[1] != '\0')
            return -1;
    }
    if (v > LONG_MAX / unit)
        return -1;
    *out = v * unit;
    return 0;
}

static int
parse_schedule(struct config *cfg, const char *value, char *err, size_t errlen)
{
    char *copy = xstrdup(value), *save = NULL;
    size_t n = 0;
    int rc = 0;

    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = '\0';
        if (n == CONFIG_MAX_RETRIES) {
            snprintf(err, errlen, "retry_schedule: at most %d entries", CONFIG_MAX_RETRIES);
            rc = -1;
            break;
        }
        if (parse_duration(tok, &cfg->retry_schedule[n]) != 0) {
            snprintf(err, errlen, "retry_schedule: \"%s\" is not a duration like 5s, 5m, 2h", tok);
            rc = -1;
            break;
        }
        n++;
    }
    free(copy);
    if (rc == 0)
        cfg->retry_count = n;
    return rc;
}

/* Largest tls_ca_file read (Debian's whole bundle is about 200 KiB). */
#define CA_FILE_MAX (8L << 20)

/*
 * Checks that path is an absolute path to a readable file holding at least
 * one PEM certificate, so a typo is an error now rather than a failed TLS
 * handshake on every delivery later.
 */
static int
check_ca_file(const char *path, char *err, size_t errlen)
{
    struct buf data;
    int rc = 0;

    if (path[0] != '/') {
        snprintf(err, errlen, "tls_ca_file: \"%s\" is not an absolute path", path);
        return -1;
    }
    buf_init(&data);
    int r = fileio_read(path, CA_FILE_MAX, &data);
    if (r == -1) {
        snprintf(err, errlen, "tls_ca_file: %s: cannot read: %s", path, strerror(errno));
        rc = -1;
    } else if (r == -2) {
        snprintf(err, errlen, "tls_ca_file: %s: larger than %ld bytes", path, CA_FILE_MAX);
        rc = -1;
    } else if (data.len == 0 ||
               memmem(data.data, data.len, "-----BEGIN CERTIFICATE-----", 27) == NULL) {
        snprintf(err, errlen, "tls_ca_file: %s: no PEM certificate in it", path);
        rc = -1;
    }
    buf_release(&data);
    return rc;
}

/* Checks one resolve entry: HOST:PORT:ADDRESS, ADDRESS an IP literal ([...] for IPv6). */
static int
check_resolve_entry(const char *entry, char *err, size_t errlen)
{
    const char *c1 = strchr(entry, ':');
    const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    struct sockaddr_storage addr;
    long port = 0;

    if (c1 != NULL && c2 != NULL && c1 > entry && c2 > c1 + 1 && c2 - c1 <= 6) {
        for (const char *p = c1 + 1; p < c2; p++)
            port = *p >= '0' && *p <= '9' ? port * 10 + (*p - '0') : -1000000;
    }
    if (port < 1 || port > 65535 || c2[1] == '\0' ||
        netaddr_parse_literal(c2 + 1, &addr) != 0 || strpbrk(entry, "/@ \t") != NULL ||
        (c2[1] != '[' && strchr(c2 + 1, ':') != NULL)) {
        snprintf(err, errlen, "resolve: \"%s\" is not host:port:address (an IP address, "
                 "IPv6 in brackets)", entry);
        return -1;
    }
    return 0;
}

static void
resolve_clear(struct config *cfg)
{
    for (size_t i = 0; i < cfg->resolve_count; i++) {
        free(cfg->resolve[i]);
        cfg->resolve[i] = NULL;
    }
    cfg->resolve_count = 0;
}

/* Parses "host:port:address, ..." into cfg->resolve, replacing an earlier line's list. */
static int
parse_resolve(struct config *cfg, const char *value, char *err, size_t errlen)
{
    char *copy = xstrdup(value), *save = NULL;
    int rc = 0;

    resolve_clear(cfg);
    for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL;
         tok = strtok_r(NULL, ", \t", &save)) {
        if (cfg->resolve_count == CONFIG_MAX_RESOLVE) {
            snprintf(err, errlen, "resolve: at most %d entries", CONFIG_MAX_RESOLVE);
            rc = -1;
            break;
        }
        if (check_resolve_entry(tok, err, errlen) != 0) {
            rc = -1;
            break;
        }
        cfg->resolve[cfg->resolve_count++] = xstrdup(tok);
    }
    free(copy);
    if (rc != 0)
        resolve_clear(cfg);
    return rc;
}

static int
parse_bool(const char *value, bool *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* A number of days, fractions allowed (0.001 days is 86.4 s), from s->min to s->max. */
static int
parse_days(const char *value, const struct setting *s, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno != 0 || !(v >= (double)s->min) ||
        !(v <= (double)s->max)) {
        snprintf(err, errlen, "%s: \"%s\" is not a number of days from %ld to %ld", s->key,
                 value, s->min, s->max);
        return -1;
    }
    *out = v;
    return 0;
}

static int
config_set(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    struct config *cfg = ctx;
    const struct setting *s = NULL;

    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (strcmp(settings[i].key, key) == 0)
            s = &settings[i];
    if (s == NULL) {
        snprintf(err, errlen, "unknown key \"%s\"", key);
        return -1;
    }

    void *field = (char *)cfg + s->offset;
    switch (s->kind) {
    case KIND_CA_FILE: {
        char **str = field;
        if (value[0] != '\0' && check_ca_file(value, err, errlen) != 0)
            return -1;
        free(*str);
        *str = value[0] != '\0' ? xstrdup(value) : NULL;
        return 0;
    }
    case KIND_BASE_PATH:
        if (value[0] != '/' || strstr(value, "//") != NULL || strchr(value, '?') != NULL) {
            snprintf(err, errlen, "base_path: must start with \"/\", like /api");
            return -1;
        }
        /* fall through */
    case KIND_STRING: {
        char **str = field;
        free(*str);
        *str = value[0] != '\0' ? xstrdup(value) : NULL;
        if (s->kind == KIND_BASE_PATH) {
            size_t len = strlen(*str);
            while (len > 1 && (*str)[len - 1] == '/')
                (*str)[--len] = '\0';
        }
        return 0;
    }
    case KIND_LONG: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0 || v < s->min || v > s->max) {
            snprintf(err, errlen, "%s: \"%s\" is not a number from %ld to %ld", key, value,
                     s->min, s->max);
            return -1;
        }
        *(long *)field = v;
        return 0;
    }
    case KIND_BOOL:
        if (parse_bool(value, field) != 0) {
            snprintf(err, errlen, "%s: \"%s\" is not yes or no", key, value);
            return -1;
        }
        return 0;
    case KIND_DURABILITY:
        if (strcmp(value, "sync") == 0)
            cfg->durability = DURABILITY_SYNC;
        else if (strcmp(value, "nosync") == 0)
            cfg->durability = DURABILITY_NOSYNC;
        else {
            snprintf(err, errlen, "durability: \"%s\" is not sync or nosync", value);
            return -1;
        }
        return 0;
    case KIND_ENCODING:
        if (strcmp(value, "hex") == 0)
            cfg->signature_encoding = SIGNATURE_HEX;
        else if (strcmp(value, "base64") == 0)
            cfg->signature_encoding = SIGNATURE_BASE64;
        else {
            snprintf(err, errlen, "signature_encoding: \"%s\" is not hex or base64", value);
            return -1;
        }
        return 0;
    case KIND_SCHEDULE:
        return parse_schedule(cfg, value, err, errlen);
    case KIND_RESOLVE:
        return parse_resolve(cfg, value, err, errlen);
    case KIND_DAYS:
        return parse_days(value, s, field, err, errlen);
    case KIND_LOG_LEVEL:
        if (log_level_parse(value, &cfg->log_level) != 0) {
            snprintf(err, errlen, "log_level: \"%s\" is not error, warn, info or debug", value);
            return -1;
        }
        return 0;
    }
    return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
    config_defaults(cfg);
    cfg->path = xstrdup(path);
    return conffile_parse(path, config_set, cfg, err, errlen);
}

const char *
config_choose_path(const char *explicit_path)
{
    if (explicit_path != NULL)
        return explicit_path;
    const char *env = getenv("HOOKSPOOL_CONF");
    if (env != NULL && env[0] != '\0')
        return env;
    return SYSCONFDIR "/hookspool.conf";
}

void
config_release(struct config *cfg)
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        enum setting_kind k = settings[i].kind;
        if (k == KIND_STRING || k == KIND_BASE_PATH || k == KIND_CA_FILE) {
            char **str = (char **)((char *)cfg + settings[i].offset);
            free(*str);
            *str = NULL;
        }
    }
    resolve_clear(cfg);
    free(cfg->path);
    cfg->path = NULL;
}
