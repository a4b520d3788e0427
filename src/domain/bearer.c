/*
 * bearer - bearer tokens checked with keys kept between requests
 * (bearer.h): JWKS file or URL, HS256 secret file, reloads.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "domain/bearer.h"
#include "domain/jwks.h"
#include "domain/jwks_fetch.h"
#include "domain/jwt.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Local key files larger than this are refused. */
#define KEY_FILE_MAX (1024 * 1024)
#define CACHE_NAME "jwks.json"

/* A file's identity, to notice when it has been replaced or changed. */
struct file_id {
    bool seen;                  /* stat succeeded at least once */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* A local key file and the keys last loaded from it. */
struct key_file {
    const char *path;           /* from the config; NULL if not configured */
    bool secret;                /* an HS256 secret rather than a JWK Set */
    struct file_id id;
    bool missing;               /* the last stat failed (and was logged) */
    struct jwks *keys;          /* last good load, or NULL */
};

struct bearer {
    const struct config *cfg;
    bool enabled;
    struct key_file jwks_file;
    struct key_file secret_file;
    char *cache_path;           /* db_home/jwks.json, when jwt_jwks_url is set */
    struct file_id cache_id;    /* the cache file as last read */
    struct jwks *url_keys;      /* last good set from jwt_jwks_url, or NULL */
    time_t url_fetched;         /* when url_keys was fetched (by any process) */
    time_t url_attempt;         /* this process's last fetch attempt */
    struct jwks *active;        /* every key above, rebuilt when one source changes */
    bool dirty;
};

bool
bearer_enabled(const struct config *cfg)
{
    return cfg->jwt_issuer != NULL && cfg->jwt_audience != NULL &&
           (cfg->jwt_jwks_file != NULL || cfg->jwt_jwks_url != NULL ||
            cfg->jwt_hs256_secret_file != NULL);
}

struct bearer *
bearer_new(const struct config *cfg)
{
    struct bearer *b = xcalloc(1, sizeof *b);

    b->cfg = cfg;
    b->enabled = bearer_enabled(cfg);
    b->jwks_file.path = cfg->jwt_jwks_file;
    b->secret_file.path = cfg->jwt_hs256_secret_file;
    b->secret_file.secret = true;
    if (cfg->jwt_jwks_url != NULL) {
        if (!jwks_fetch_url_ok(cfg->jwt_jwks_url))
            log_error("bearer_new: %s: jwt_jwks_url must be https:// (or http:// to a loopback "
                      "host): it will not be fetched", cfg->jwt_jwks_url);
        if (cfg->db_home != NULL)
            b->cache_path = xasprintf("%s/%s", cfg->db_home, CACHE_NAME);
    }
    if (!b->enabled && (cfg->jwt_jwks_file != NULL || cfg->jwt_jwks_url != NULL ||
                        cfg->jwt_hs256_secret_file != NULL))
        log_error("bearer_new: %s: keys are configured but jwt_issuer or jwt_audience is not: "
                  "bearer tokens are refused", cfg->path != NULL ? cfg->path : "config");
    b->active = jwks_new();
    return b;
}

void
bearer_free(struct bearer *b)
{
    if (b == NULL)
        return;
    jwks_free(b->jwks_file.keys);
    jwks_free(b->secret_file.keys);
    jwks_free(b->url_keys);
    jwks_free(b->active);
    free(b->cache_path);
    free(b);
}

/* Stats path into *id; returns 1 if it differs from *seen, 0 if not, -1 if stat failed. */
static int
file_changed(const char *path, const struct file_id *seen, struct file_id *id)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return -1;
    *id = (struct file_id){ true, st.st_dev, st.st_ino, st.st_size, st.st_mtim };
    return !seen->seen || seen->dev != id->dev || seen->ino != id->ino ||
           seen->size != id->size || seen->mtime.tv_sec != id->mtime.tv_sec ||
           seen->mtime.tv_nsec != id->mtime.tv_nsec;
}

/* Turns the text of a key file into a key set; NULL with a reason in err. */
static struct jwks *
key_file_parse(const struct key_file *f, struct buf *text, char *err, size_t errlen)
{
    struct jwks *set = jwks_new();

    if (f->secret) {
        /* The secret is the file's bytes, less the line ending an editor adds. */
        while (text->len > 0 && (text->data[text->len - 1] == '\n' ||
                                 text->data[text->len - 1] == '\r'))
            text->len--;
        if (jwks_add_secret(set, text->data, text->len, NULL, err, errlen) != 0) {
            jwks_free(set);
            return NULL;
        }
        return set;
    }
    int n = jwks_parse(set, text->data, text->len, JWKS_ALLOW_SECRETS, err, errlen);
    if (n <= 0) {
        if (n == 0)
            snprintf(err, errlen, "no usable key (RSA 2048+, EC P-256, oct 32+ bytes)");
        jwks_free(set);
        return NULL;
    }
    return set;
}

/* Reloads a local key file if it changed; a broken new version keeps the old keys. */
static void
key_file_sync(struct bearer *b, struct key_file *f)
{
    struct file_id id;
    char err[256];

    if (f->path == NULL)
        return;
    int changed = file_changed(f->path, &f->id, &id);
    if (changed < 0) {
        if (!f->missing)        /* once per disappearance, not once per request */
            log_error("key_file_sync: %s: cannot read key file: %s%s", f->path, strerror(errno),
                      f->keys != NULL ? "; keeping the keys loaded before" : "");
        f->missing = true;
        f->id.seen = false;
        return;
    }
    f->missing = false;
    if (!changed)
        return;
    f->id = id;
    struct buf text;
    buf_init(&text);
    int rc = fileio_read(f->path, KEY_FILE_MAX, &text);
    struct jwks *set = NULL;
    if (rc == 0)
        set = key_file_parse(f, &text, err, sizeof err);
    else
        snprintf(err, sizeof err, "%s", rc == -2 ? "larger than 1 MiB" : strerror(errno));
    wipe(text.data, text.len);
    buf_release(&text);
    if (set == NULL) {
        log_error("key_file_sync: %s: cannot load keys: %s%s", f->path, err,
                  f->keys != NULL && f->keys->n > 0 ? "; keeping the keys loaded before" : "");
        return;
    }
    struct stat st;
    if (f->secret && stat(f->path, &st) == 0 && (st.st_mode & S_IROTH))
        log_warn("key_file_sync: %s: the HS256 secret is readable by every user", f->path);
    if (f->keys != NULL)        /* a change while running is news; the first load is not */
        log_info("key_file_sync: %s: reloaded: %zu key(s)", f->path, set->n);
    else
        log_debug("key_file_sync: %s: loaded %zu key(s)", f->path, set->n);
    jwks_free(f->keys);
    f->keys = set;
    b->dirty = true;
}

/* Adopts db_home/jwks.json if another process (or an earlier run) fetched newer keys. */
static void
cache_adopt(struct bearer *b)
{
    struct file_id id;
    struct buf text;
    char err[256];

    if (b->cache_path == NULL || file_changed(b->cache_path, &b->cache_id, &id) != 1)
        return;
    b->cache_id = id;
    buf_init(&text);
    json_object *doc = NULL, *v;
    if (fileio_read(b->cache_path, JWKS_FETCH_MAX_BYTES * 2, &text) == 0)
        doc = json_tokener_parse(text.data);
    buf_release(&text);
    if (doc == NULL || !json_object_is_type(doc, json_type_object) ||
        !json_object_object_get_ex(doc, "url", &v) || !json_object_is_type(v, json_type_string) ||
        strcmp(json_object_get_string(v), b->cfg->jwt_jwks_url) != 0 ||
        !json_object_object_get_ex(doc, "fetched", &v) || !json_object_is_type(v, json_type_int)) {
        json_object_put(doc);
        return;                 /* another URL's cache, or not ours: ignore it */
    }
    time_t fetched = (time_t)json_object_get_int64(v);
    if (b->url_keys != NULL && fetched <= b->url_fetched) {
        json_object_put(doc);
        return;
    }
    struct jwks *set = jwks_new();
    const char *jwks = json_object_object_get_ex(doc, "jwks", &v) ?
                       json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "";
    if (jwks_parse(set, jwks, strlen(jwks), 0, err, sizeof err) > 0) {
        jwks_free(b->url_keys);
        b->url_keys = set;
        b->url_fetched = fetched;
        b->dirty = true;
        log_debug("cache_adopt: %s: using %zu key(s) fetched at %" PRId64, b->cache_path, set->n,
                  (int64_t)fetched);
    } else {
        jwks_free(set);
    }
    json_object_put(doc);
}

/* Writes the fetched set with its fetch time to db_home/jwks.json for the other processes. */
static void
cache_write(struct bearer *b, const struct buf *body, time_t now)
{
    json_object *jwks = json_tokener_parse(body->data);
    json_object *doc = json_object_new_object();

    if (jwks == NULL || doc == NULL) {
        json_object_put(jwks);
        json_object_put(doc);
        return;
    }
    json_object_object_add(doc, "url", json_object_new_string(b->cfg->jwt_jwks_url));
    json_object_object_add(doc, "fetched", json_object_new_int64((int64_t)now));
    json_object_object_add(doc, "jwks", jwks);
    const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    char *tmp = xasprintf("%s.tmp.%ld", b->cache_path, (long)getpid());
    if (fileio_publish(tmp, b->cache_path, text, strlen(text), 0640) != 0)
        log_warn("cache_write: %s: cannot write the key cache: %s", b->cache_path, strerror(errno));
    else
        file_changed(b->cache_path, &b->cache_id, &b->cache_id);  /* our own write: seen */
    free(tmp);
    json_object_put(doc);
}

/*
 * Brings the URL's keys up to date: adopts a newer cache, then fetches if
 * the set is missing or stale, or if unknown_kid, within the rate limits.
 */
static void
url_sync(struct bearer *b, time_t now, bool unknown_kid)
{
    const struct config *cfg = b->cfg;
    char err[512];

    if (cfg->jwt_jwks_url == NULL || !jwks_fetch_url_ok(cfg->jwt_jwks_url))
        return;
    cache_adopt(b);
    /* A clock set back counts as time passed: no fetch is put off by it. */
    bool stale = b->url_keys == NULL || now < b->url_fetched ||
                 now - b->url_fetched >= cfg->jwt_jwks_refresh;
    if (!stale && !unknown_kid)
        return;
    if (b->url_attempt != 0 && now >= b->url_attempt &&
        now - b->url_attempt < cfg->jwt_jwks_min_refetch)
        return;
    if (!stale && now - b->url_fetched < cfg->jwt_jwks_min_refetch)
        return;                 /* fetched (by some process) moments ago: same answer */
    b->url_attempt = now;

    struct buf body;
    buf_init(&body);
    struct jwks *set = jwks_new();
    int n = -1;
    if (jwks_fetch(cfg->jwt_jwks_url, cfg, &body, err, sizeof err) == 0) {
        n = jwks_parse(set, body.data, body.len, 0, err, sizeof err);
        if (n == 0)
            snprintf(err, sizeof err, "no usable key (RSA 2048+ or EC P-256)");
    }
    if (n > 0) {
        log_info("url_sync: %s: fetched %d key(s)", cfg->jwt_jwks_url, n);
        jwks_free(b->url_keys);
        b->url_keys = set;
        b->url_fetched = now;
        b->dirty = true;
        if (b->cache_path != NULL)
            cache_write(b, &body, now);
    } else {
        log_warn("url_sync: %s: JWKS fetch failed: %s%s", cfg->jwt_jwks_url, err,
                 b->url_keys != NULL ? "; keeping the last good key set" : "");
        jwks_free(set);
    }
    buf_release(&body);
}

/* Rebuilds the set tokens are checked against, if a source changed. */
static void
rebuild(struct bearer *b)
{
    if (!b->dirty)
        return;
    struct jwks *set = jwks_new();
    if (b->jwks_file.keys != NULL)
        jwks_append(set, b->jwks_file.keys);
    if (b->secret_file.keys != NULL)
        jwks_append(set, b->secret_file.keys);
    if (b->url_keys != NULL)
        jwks_append(set, b->url_keys);
    jwks_free(b->active);
    b->active = set;
    b->dirty = false;
}

enum auth_status
bearer_authenticate(struct bearer *b, const char *token, size_t len, time_t now,
                    struct principal *who, const char **why)
{
    memset(who, 0, sizeof *who);
    if (!b->enabled) {
        *why = "Bearer tokens are not accepted by this server.";
        return AUTH_INVALID;
    }
    struct jwt *t = jwt_decode(token, len, why);
    if (t == NULL) {
        log_debug("bearer_authenticate: token refused: %s", *why);
        return AUTH_INVALID;
    }

    key_file_sync(b, &b->jwks_file);
    key_file_sync(b, &b->secret_file);
    url_sync(b, now, false);
    rebuild(b);
    bool kid_known;
    const struct jwk *key = jwks_find(b->active, t->kid, t->kid_len, t->alg, &kid_known);
    if (key == NULL && !kid_known && b->cfg->jwt_jwks_url != NULL) {
        url_sync(b, now, true);
        rebuild(b);
        key = jwks_find(b->active, t->kid, t->kid_len, t->alg, &kid_known);
    }

    enum auth_status st = AUTH_INVALID;
    if (key == NULL) {
        if (b->active->n == 0) {
            *why = "No keys are available to check the token; try again later.";
            st = AUTH_UNAVAILABLE;
        } else if (kid_known) {
            *why = "The token algorithm does not match its key.";
        } else {
            *why = t->kid != NULL ? "The token key id (kid) is unknown." :
                                    "The token names no key id (kid).";
        }
    } else if (jwt_verify_signature(t, key, why) == 0) {
        struct jwt_policy policy = { b->cfg->jwt_issuer, b->cfg->jwt_audience,
                                     b->cfg->jwt_tenant_claim, b->cfg->jwt_leeway };
        if (jwt_check_claims(t, &policy, now, who, why) == 0)
            st = AUTH_OK;
    }
    if (st != AUTH_OK)
        log_debug("bearer_authenticate: token refused: %s", *why);
    jwt_free(t);
    return st;
}
