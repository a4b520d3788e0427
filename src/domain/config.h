/*
 * config - hookspool.conf: every setting, its default and its validator.
 *
 * The file is "key = value" lines (util/conffile). Unknown keys and bad
 * values are errors naming the file and line. Path: --config, else
 * $HOOKSPOOL_CONF, else SYSCONFDIR/hookspool.conf.
 */
#ifndef HOOKSPOOL_CONFIG_H
#define HOOKSPOOL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/log.h"

enum durability { DURABILITY_SYNC, DURABILITY_NOSYNC };
enum signature_encoding { SIGNATURE_HEX, SIGNATURE_BASE64 };

#define CONFIG_MAX_RETRIES 32
#define CONFIG_MAX_RESOLVE 16

struct config {
    char *path;                 /* the file read, or NULL for built-in defaults */
    char *base_path;            /* "/api" */
    char *db_home;
    char *spool_dir;
    enum durability durability;
    long max_body_bytes;
    long max_event_bytes;
    long max_webhooks_per_tenant;
    bool allow_http_endpoints;
    bool allow_private_targets;
    char *jwt_issuer;
    char *jwt_audience;
    char *jwt_jwks_file;
    char *jwt_jwks_url;
    char *jwt_hs256_secret_file;
    char *jwt_tenant_claim;
    long jwt_leeway;
    long jwt_jwks_refresh;      /* seconds between scheduled jwt_jwks_url fetches */
    long jwt_jwks_min_refetch;  /* least seconds between fetches for an unknown kid */
    long delivery_timeout;      /* seconds */
    long retry_schedule[CONFIG_MAX_RETRIES]; /* seconds before attempt 2, 3, ... */
    size_t retry_count;
    enum signature_encoding signature_encoding;
    long max_connections;
    long max_connections_per_host;
    long delivery_log_days;
    enum log_level log_level;
    char *tls_ca_file;          /* PEM bundle trusted for https://; NULL: the system's */
    /* "host:port:address" pins handed to libcurl (CURLOPT_RESOLVE); for tests and staging */
    char *resolve[CONFIG_MAX_RESOLVE];
    size_t resolve_count;
    bool standard_webhooks;     /* webhook-id, webhook-timestamp, webhook-signature headers */
    /* Endpoint health (docs/sender.md): auto-disable after this many days of failures (0 never) */
    double disable_after_days;
    char *metrics_file;         /* NULL: spool_dir/metrics.prom */
};

/* Fills cfg with the built-in defaults. */
void config_defaults(struct config *cfg);

/*
 * Loads the defaults, then the file at path. Returns 0, or -1 with
 * "FILE:LINE: reason" in err; cfg must be freed with config_release either way.
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* The file to read: explicit if not NULL, else $HOOKSPOOL_CONF, else the installed default. */
const char *config_choose_path(const char *explicit_path);

/* Releases what cfg owns; the struct itself is the caller's (config_defaults/config_load fill it). */
void config_release(struct config *cfg);

#endif
