/*
 * Unit tests for bearer tokens: strict base64url, token parsing, claim
 * checks, and signatures made here with OpenSSL checked through JWKs.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "domain/auth.h"
#include "domain/bearer.h"
#include "domain/config.h"
#include "domain/jwks.h"
#include "domain/jwt.h"
#include "domain/scope.h"
#include "unit.h"
#include "util/base64url.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define NOW 1800000000L

static void
test_base64url(void)
{
    static const struct {
        const char *in;
        const char *out;        /* NULL: must be refused */
        size_t out_len;
    } cases[] = {
        { "", "", 0 },
        { "Zg", "f", 1 },
        { "Zm8", "fo", 2 },
        { "Zm9v", "foo", 3 },
        { "Zm9vYmFy", "foobar", 6 },
        { "-_8", "\xfb\xff", 2 },
        { "_---", "\xff\xef\xbe", 3 },
        { "AA", "\0", 1 },
        { "Zg==", NULL, 0 },        /* padding */
        { "Zm8=", NULL, 0 },
        { "Z", NULL, 0 },           /* a lone sextet is no byte */
        { "Zm9vY", NULL, 0 },
        { "Zh", NULL, 0 },          /* non-zero unused bits: not canonical */
        { "Zm9", NULL, 0 },
        { "-_9", NULL, 0 },
        { "Zm9+", NULL, 0 },        /* the standard alphabet's + and / */
        { "Zm9/", NULL, 0 },
        { "Zm 9v", NULL, 0 },
        { "Zm9v\n", NULL, 0 },
        { "Zm.v", NULL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf out;
        buf_init(&out);
        int rc = base64url_decode(cases[i].in, strlen(cases[i].in), &out);
        if (cases[i].out == NULL) {
            CHECK(rc == -1, "\"%s\" refused", cases[i].in);
        } else {
            CHECK(rc == 0 && out.len == cases[i].out_len &&
                  memcmp(out.data, cases[i].out, out.len) == 0, "\"%s\" decodes", cases[i].in);
            struct buf back;
            buf_init(&back);
            base64url_encode(cases[i].out, cases[i].out_len, &back);
            CHECK(strcmp(back.data, cases[i].in) == 0, "\"%s\" encodes back (got \"%s\")",
                  cases[i].in, back.data);
            buf_release(&back);
        }
        buf_release(&out);
    }
    /* Every length of every byte value round-trips. */
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)(255 - i);
    bool all = true;
    for (size_t n = 0; n <= sizeof bytes; n++) {
        struct buf enc, dec;
        buf_init(&enc);
        buf_init(&dec);
        base64url_encode(bytes, n, &enc);
        if (base64url_decode(enc.data, enc.len, &dec) != 0 || dec.len != n ||
            memcmp(dec.data, bytes, n) != 0 || strpbrk(enc.data, "+/=") != NULL)
            all = false;
        buf_release(&enc);
        buf_release(&dec);
    }
    CHECK(all, "0..256 bytes round-trip without + / =");
}

/* Builds "b64(header).b64(payload)." followed by the base64url of sig. */
static char *
make_token(const char *header, const char *payload, const void *sig, size_t sig_len)
{
    struct buf t;

    buf_init(&t);
    base64url_encode(header, strlen(header), &t);
    buf_puts(&t, ".");
    base64url_encode(payload, strlen(payload), &t);
    buf_puts(&t, ".");
    base64url_encode(sig, sig_len, &t);
    return buf_detach(&t);
}

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef-hs256";

/* An HS256 token over header and payload with the test secret. */
static char *
hs256_token(const char *header, const char *payload)
{
    struct buf input;
    unsigned char mac[32];
    unsigned int mac_len = 0;

    buf_init(&input);
    base64url_encode(header, strlen(header), &input);
    buf_puts(&input, ".");
    base64url_encode(payload, strlen(payload), &input);
    HMAC(EVP_sha256(), secret, (int)sizeof secret - 1, (unsigned char *)input.data, input.len,
         mac, &mac_len);
    buf_puts(&input, ".");
    base64url_encode(mac, mac_len, &input);
    return buf_detach(&input);
}

static void
test_decode(void)
{
    static const struct {
        const char *header;
        bool ok;
        const char *what;
    } headers[] = {
        { "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", true, "plain HS256" },
        { "{\"alg\":\"RS256\",\"kid\":\"k1\"}", true, "RS256 with kid" },
        { "{\"alg\":\"ES256\"}", true, "ES256" },
        { "{\"alg\":\"none\"}", false, "alg none" },
        { "{\"alg\":\"None\"}", false, "alg None" },
        { "{\"alg\":\"RS512\"}", false, "unsupported alg" },
        { "{\"alg\":\"hs256\"}", false, "alg names are case-sensitive" },
        { "{\"typ\":\"JWT\"}", false, "no alg" },
        { "{\"alg\":256}", false, "alg not a string" },
        { "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", false, "crit" },
        { "{\"alg\":\"HS256\",\"kid\":7}", false, "kid not a string" },
        { "{\"alg\":\"HS256\",\"kid\":\"\"}", false, "empty kid" },
        { "{\"alg\":\"HS256\",\"kid\":\"a\\u0000b\"}", false, "kid with NUL" },
        { "[\"alg\",\"HS256\"]", false, "header an array" },
        { "{\"alg\":\"HS256\"} x", false, "text after the header" },
        { "{\"alg\":\"HS256\",}", false, "trailing comma" },
        { "{'alg':'HS256'}", false, "single quotes" },
    };
    const char *why;
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        char *tok = make_token(headers[i].header, "{\"exp\":1}", "sig-bytes", 9);
        struct jwt *t = jwt_decode(tok, strlen(tok), &why);
        CHECK((t != NULL) == headers[i].ok, "%s: %s", headers[i].what, t ? "accepted" : why);
        jwt_free(t);
        free(tok);
    }

    static const struct {
        const char *token;
        const char *what;
    } bad[] = {
        { "", "empty" },
        { "abc", "one part" },
        { "eyJhbGciOiJIUzI1NiJ9.e30", "two parts" },
        { "eyJhbGciOiJIUzI1NiJ9.e30.", "empty signature" },
        { "eyJhbGciOiJIUzI1NiJ9.e30.c2ln.c2ln", "four parts" },
        { "eyJhbGciOiJIUzI1NiJ9.e30=.c2ln", "padded payload" },
        { "eyJhbGciOiJIUzI1NiJ9.e30.c2ln=", "padded signature" },
        { "eyJhbGciOiJIUzI1NiJ9.e30.c2l+", "standard alphabet" },
        { "eyJhbGciOiJIUzI1NiJ9 .e30.c2ln", "space" },
        { "eyJhbGciOiJIUzI1NiJ9.W10.c2ln", "payload an array" },
        { "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", "payload not JSON" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct jwt *t = jwt_decode(bad[i].token, strlen(bad[i].token), &why);
        CHECK(t == NULL, "%s refused", bad[i].what);
        jwt_free(t);
    }

    /* The 8 KiB limit: a token just under it parses, one over it does not. */
    struct buf big;
    buf_init(&big);
    buf_puts(&big, "{\"exp\":1,\"pad\":\"");
    while (big.len < 6000)
        buf_puts(&big, "x");
    buf_puts(&big, "\"}");
    char *tok = make_token("{\"alg\":\"HS256\"}", big.data, "s", 1);
    size_t len = strlen(tok);
    struct jwt *t = jwt_decode(tok, len, &why);
    CHECK(t != NULL && len <= JWT_MAX_LEN, "a %zu-character token parses", len);
    jwt_free(t);
    free(tok);
    while (big.len < 6200)
        buf_puts(&big, "y");
    buf_puts(&big, "\"}");
    big.data[big.len - 2 - 200] = 'z';
    tok = make_token("{\"alg\":\"HS256\"}", "{}", big.data, big.len);
    len = strlen(tok);
    t = jwt_decode(tok, len, &why);
    CHECK(t == NULL && len > JWT_MAX_LEN && strstr(why, "8192") != NULL,
          "a %zu-character token is refused for its size (%s)", len, t ? "accepted" : why);
    jwt_free(t);
    free(tok);
    buf_release(&big);
}

/* Runs the claim checks on payload; returns 0 or -1 and fills who. */
static int
claims(const char *payload, struct principal *who, const char **why)
{
    const struct jwt_policy policy = { "https://idp.example/", "hookspool", "tenants", 60 };
    char *tok = make_token("{\"alg\":\"HS256\"}", payload, "s", 1);
    struct jwt *t = jwt_decode(tok, strlen(tok), why);
    int rc = -1;

    if (t != NULL)
        rc = jwt_check_claims(t, &policy, NOW, who, why);
    else
        memset(who, 0, sizeof *who);
    jwt_free(t);
    free(tok);
    return rc;
}

static void
test_claims(void)
{
#define GOOD "\"iss\":\"https://idp.example/\",\"aud\":\"hookspool\""
    static const struct {
        const char *payload;
        bool ok;
        unsigned scopes;
        int tenants;            /* -1: all tenants */
        const char *what;
    } cases[] = {
        { "{" GOOD ",\"exp\":1800000300,\"scope\":\"Webhook.Read Webhook.Write\","
          "\"tenants\":\"acme\"}", true, SCOPE_READ | SCOPE_WRITE, 1, "valid" },
        { "{" GOOD ",\"exp\":1800000300.9}", true, 0, 0, "fractional exp" },
        { "{" GOOD "}", false, 0, 0, "no exp" },
        { "{" GOOD ",\"exp\":\"1800000300\"}", false, 0, 0, "exp a string" },
        { "{" GOOD ",\"exp\":null}", false, 0, 0, "exp null" },
        { "{" GOOD ",\"exp\":1799999939}", false, 0, 0, "expired beyond the leeway" },
        { "{" GOOD ",\"exp\":1799999940}", false, 0, 0, "expired exactly at the leeway" },
        { "{" GOOD ",\"exp\":1799999941}", true, 0, 0, "expired within the leeway" },
        { "{" GOOD ",\"exp\":1800000300,\"nbf\":1800000061}", false, 0, 0, "not yet valid" },
        { "{" GOOD ",\"exp\":1800000300,\"nbf\":1800000059}", true, 0, 0, "nbf within leeway" },
        { "{" GOOD ",\"exp\":1800000300,\"nbf\":\"soon\"}", false, 0, 0, "nbf a string" },
        { "{\"aud\":\"hookspool\",\"exp\":1800000300}", false, 0, 0, "no iss" },
        { "{\"iss\":\"https://evil.example/\",\"aud\":\"hookspool\",\"exp\":1800000300}",
          false, 0, 0, "other iss" },
        { "{\"iss\":\"https://idp.example\",\"aud\":\"hookspool\",\"exp\":1800000300}",
          false, 0, 0, "iss without its slash" },
        { "{\"iss\":\"https://idp.example/\\u0000x\",\"aud\":\"hookspool\",\"exp\":1800000300}",
          false, 0, 0, "iss with a NUL" },
        { "{\"iss\":[\"https://idp.example/\"],\"aud\":\"hookspool\",\"exp\":1800000300}",
          false, 0, 0, "iss an array" },
        { "{\"iss\":\"https://idp.example/\",\"exp\":1800000300}", false, 0, 0, "no aud" },
        { "{\"iss\":\"https://idp.example/\",\"aud\":\"other\",\"exp\":1800000300}",
          false, 0, 0, "other aud" },
        { "{\"iss\":\"https://idp.example/\",\"aud\":[\"other\",\"hookspool\"],"
          "\"exp\":1800000300}", true, 0, 0, "aud array containing ours" },
        { "{\"iss\":\"https://idp.example/\",\"aud\":[\"other\",\"hookspoolx\"],"
          "\"exp\":1800000300}", false, 0, 0, "aud array without ours" },
        { "{" GOOD ",\"exp\":1800000300,\"scp\":[\"Webhook.Read\"]}", true, SCOPE_READ, 0,
          "scp array" },
        { "{" GOOD ",\"exp\":1800000300,\"scp\":\"Webhook.Write\"}", true, SCOPE_WRITE, 0,
          "scp string" },
        { "{" GOOD ",\"exp\":1800000300,\"permissions\":[\"Webhook.Write\",\"x\"]}", true,
          SCOPE_WRITE, 0, "permissions array" },
        { "{" GOOD ",\"exp\":1800000300,\"scope\":\"openid webhook.read Webhook.Readx\"}",
          true, 0, 0, "scope names are exact" },
        { "{" GOOD ",\"exp\":1800000300,\"tenants\":[\"a\",\"b-2\",\"bad/one\",7]}", true, 0, 2,
          "tenant array, invalid entries ignored" },
        { "{" GOOD ",\"exp\":1800000300,\"tenants\":[\"a\",\"*\"]}", true, 0, -1, "all tenants" },
        { "{" GOOD ",\"exp\":1800000300,\"tenant\":\"a\"}", true, 0, 0, "another claim name" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct principal who;
        const char *why = "";
        int rc = claims(cases[i].payload, &who, &why);
        CHECK((rc == 0) == cases[i].ok, "%s: %s", cases[i].what, rc == 0 ? "accepted" : why);
        if (rc == 0 && cases[i].ok) {
            CHECK(who.scopes == cases[i].scopes, "%s: scopes %u", cases[i].what, who.scopes);
            if (cases[i].tenants < 0)
                CHECK(who.all_tenants, "%s: all tenants", cases[i].what);
            else
                CHECK(!who.all_tenants && who.n_tenants == (size_t)cases[i].tenants,
                      "%s: %zu tenants", cases[i].what, who.n_tenants);
        }
        principal_release(&who);
    }
#undef GOOD
}

static void
test_hs256(void)
{
    const char *header = "{\"alg\":\"HS256\"}";
    const char *payload = "{\"exp\":1800000300}";
    struct jwks *set = jwks_new();
    char err[128];
    const char *why;

    CHECK(jwks_add_secret(set, "short", 5, NULL, err, sizeof err) == -1, "a 5-byte secret refused");
    CHECK(jwks_add_secret(set, secret, sizeof secret - 1, NULL, err, sizeof err) == 0,
          "secret added");
    char *tok = hs256_token(header, payload);
    struct jwt *t = jwt_decode(tok, strlen(tok), &why);
    const struct jwk *key = t ? jwks_find(set, t->kid, t->kid_len, t->alg, NULL) : NULL;
    CHECK(key != NULL && jwt_verify_signature(t, key, &why) == 0, "HS256 signature verifies");
    jwt_free(t);

    /* Flip one signature bit, then one payload character. */
    size_t len = strlen(tok);
    tok[len - 2] = tok[len - 2] == 'A' ? 'B' : 'A';
    t = jwt_decode(tok, len, &why);
    CHECK(t == NULL || jwt_verify_signature(t, key, &why) == -1, "tampered signature refused");
    jwt_free(t);
    free(tok);
    tok = hs256_token(header, payload);
    char *dot = strchr(tok, '.');
    dot[2] = dot[2] == 'y' ? 'z' : 'y';
    t = jwt_decode(tok, strlen(tok), &why);
    CHECK(t == NULL || jwt_verify_signature(t, key, &why) == -1, "tampered payload refused");
    jwt_free(t);
    free(tok);
    jwks_free(set);
}

/* The public key as a JWK with the given kid. */
static char *
jwk_of(EVP_PKEY *pkey, const char *kid)
{
    struct buf j, a, b;
    unsigned char bin[512];
    BIGNUM *x = NULL, *y = NULL;

    buf_init(&j);
    buf_init(&a);
    buf_init(&b);
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &x);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &y);
        base64url_encode(bin, (size_t)BN_bn2bin(x, bin), &a);
        base64url_encode(bin, (size_t)BN_bn2bin(y, bin), &b);
        buf_printf(&j, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}", kid, a.data,
                   b.data);
    } else {
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
        BN_bn2binpad(x, bin, 32);
        base64url_encode(bin, 32, &a);
        BN_bn2binpad(y, bin, 32);
        base64url_encode(bin, 32, &b);
        buf_printf(&j, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
                   kid, a.data, b.data);
    }
    BN_free(x);
    BN_free(y);
    buf_release(&a);
    buf_release(&b);
    return buf_detach(&j);
}

/* Signs header.payload with pkey; ES256 signatures converted from DER to r || s. */
static char *
sign_token(EVP_PKEY *pkey, const char *header, const char *payload)
{
    struct buf t;
    unsigned char sig[1024];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    buf_init(&t);
    base64url_encode(header, strlen(header), &t);
    buf_puts(&t, ".");
    base64url_encode(payload, strlen(payload), &t);
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey);
    EVP_DigestSign(md, sig, &sig_len, (unsigned char *)t.data, t.len);
    EVP_MD_CTX_free(md);
    buf_puts(&t, ".");
    if (EVP_PKEY_is_a(pkey, "EC")) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
        unsigned char rs[64];
        BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
        ECDSA_SIG_free(es);
        base64url_encode(rs, 64, &t);
    } else {
        base64url_encode(sig, sig_len, &t);
    }
    return buf_detach(&t);
}

static void
test_public_keys(void)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    char *rsa_jwk = jwk_of(rsa, "r1"), *ec_jwk = jwk_of(ec, "e1"), *small_jwk = jwk_of(small, "s1");
    struct buf doc;
    struct jwks *set = jwks_new();
    char err[128];
    const char *why;

    buf_init(&doc);
    buf_printf(&doc, "{\"keys\":[%s,%s,%s,{\"kty\":\"oct\",\"kid\":\"o1\",\"k\":\"%s\"},"
               "{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"p384\",\"x\":\"AA\",\"y\":\"AA\"},"
               "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
               rsa_jwk, ec_jwk, small_jwk, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY");
    CHECK(jwks_parse(set, doc.data, doc.len, 0, err, sizeof err) == 2,
          "RSA-2048 and P-256 kept; 1024-bit RSA, oct (from a URL), P-384 and enc skipped");
    CHECK(jwks_parse(set, "{\"keys\":7}", 10, 0, err, sizeof err) == -1, "keys not an array");
    CHECK(jwks_parse(set, "[]", 2, 0, err, sizeof err) == -1, "not an object");

    /* A point that is not on the curve is refused. */
    char *off = xstrdup(ec_jwk);
    char *y = strstr(off, "\"y\":\"") + 5;
    y[3] = y[3] == 'A' ? 'B' : 'A';
    struct jwks *bad = jwks_new();
    CHECK(jwks_parse(bad, off, strlen(off), 0, err, sizeof err) == 0, "off-curve EC point skipped");
    jwks_free(bad);
    free(off);

    const char *payload = "{\"exp\":1800000300}";
    static const struct {
        const char *header;
        bool rsa_key;           /* sign with RSA, else EC */
        bool ok;
        const char *what;
    } cases[] = {
        { "{\"alg\":\"RS256\",\"kid\":\"r1\"}", true, true, "RS256" },
        { "{\"alg\":\"ES256\",\"kid\":\"e1\"}", false, true, "ES256" },
        { "{\"alg\":\"RS256\",\"kid\":\"e1\"}", true, false, "RS256 token naming the EC key" },
        { "{\"alg\":\"ES256\",\"kid\":\"r1\"}", false, false, "ES256 token naming the RSA key" },
        { "{\"alg\":\"RS256\",\"kid\":\"r1\"}", false, false, "RS256 signed by another key" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *tok = sign_token(cases[i].rsa_key ? rsa : ec, cases[i].header, payload);
        struct jwt *t = jwt_decode(tok, strlen(tok), &why);
        bool known = false;
        const struct jwk *key = t ? jwks_find(set, t->kid, t->kid_len, t->alg, &known) : NULL;
        bool ok = key != NULL && jwt_verify_signature(t, key, &why) == 0;
        CHECK(ok == cases[i].ok, "%s: %s", cases[i].what, ok ? "accepted" : why);
        jwt_free(t);
        free(tok);
    }

    /* Algorithm confusion: HS256 with the RSA key's public bytes as the secret. */
    struct jwk *rk = &set->keys[0];
    struct jwt fake = { .alg = JWS_HS256 };
    CHECK(jwt_verify_signature(&fake, rk, &why) == -1 && strstr(why, "match") != NULL,
          "an HS256 token checked against an RSA key is refused before any MAC");
    bool known = false;
    CHECK(jwks_find(set, "r1", 2, JWS_HS256, &known) == NULL && known,
          "no HS256 key behind an RSA kid");
    CHECK(jwks_find(set, "zz", 2, JWS_RS256, &known) == NULL && !known, "unknown kid");
    CHECK(jwks_find(set, NULL, 0, JWS_RS256, &known) == NULL, "no kid, two keys: none chosen");

    buf_release(&doc);
    free(rsa_jwk);
    free(ec_jwk);
    free(small_jwk);
    jwks_free(set);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(small);
}

/* Writes text to path (replacing it); returns 0 or -1. */
static int
write_file(const char *path, const char *text)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    int ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}

static void
test_bearer(void)
{
    char dir[] = "/tmp/test_jwt.XXXXXX";
    struct config cfg;
    struct principal who;
    const char *why;

    if (mkdtemp(dir) == NULL) {
        CHECK(0, "mkdtemp");
        return;
    }
    char *secret_path = xasprintf("%s/hs256.secret", dir);
    config_defaults(&cfg);
    free(cfg.db_home);
    cfg.db_home = xstrdup(dir);
    cfg.jwt_issuer = xstrdup("https://idp.example/");
    cfg.jwt_audience = xstrdup("hookspool");
    const char *payload = "{\"iss\":\"https://idp.example/\",\"aud\":\"hookspool\","
                          "\"exp\":1800000300,\"scope\":\"Webhook.Read\",\"tenants\":\"acme\"}";
    char *tok = hs256_token("{\"alg\":\"HS256\"}", payload);

    /* Issuer and audience without any key source: tokens are off. */
    struct bearer *b = bearer_new(&cfg);
    CHECK(!bearer_enabled(&cfg), "no key source: disabled");
    CHECK(bearer_authenticate(b, tok, strlen(tok), NOW, &who, &why) == AUTH_INVALID &&
          strstr(why, "not accepted") != NULL, "disabled: refused (%s)", why);
    bearer_free(b);

    /* A secret file that does not exist yet: no key, 503-class answer. */
    cfg.jwt_hs256_secret_file = xstrdup(secret_path);
    b = bearer_new(&cfg);
    CHECK(bearer_authenticate(b, tok, strlen(tok), NOW, &who, &why) == AUTH_UNAVAILABLE,
          "no key loadable: unavailable (%s)", why);
    /* The file appears: picked up by the same verifier, with the trailing newline dropped. */
    char *line = xasprintf("%s\n", (const char *)secret);
    CHECK(write_file(secret_path, line) == 0, "secret written");
    enum auth_status st = bearer_authenticate(b, tok, strlen(tok), NOW, &who, &why);
    CHECK(st == AUTH_OK && who.scopes == SCOPE_READ && who.n_tenants == 1 &&
          strcmp(who.tenants[0], "acme") == 0, "secret file appeared: accepted (%s)",
          st == AUTH_OK ? "ok" : why);
    principal_release(&who);
    CHECK(bearer_authenticate(b, tok, strlen(tok), NOW + 400, &who, &why) == AUTH_INVALID &&
          strstr(why, "expired") != NULL, "later: expired (%s)", why);
    /* Rotated secret: the old token no longer verifies, without a new verifier. */
    CHECK(write_file(secret_path, "another-secret-that-is-long-enough-for-hs256\n") == 0,
          "secret rotated");
    CHECK(bearer_authenticate(b, tok, strlen(tok), NOW, &who, &why) == AUTH_INVALID &&
          strstr(why, "signature") != NULL, "rotated secret: old token refused (%s)", why);
    /* A secret too short to be safe is refused; the last good one stays. */
    CHECK(write_file(secret_path, "short\n") == 0, "short secret written");
    CHECK(bearer_authenticate(b, tok, strlen(tok), NOW, &who, &why) == AUTH_INVALID &&
          strstr(why, "signature") != NULL, "short secret ignored, rotated one kept (%s)", why);
    bearer_free(b);

    /* Both credential kinds at once are ambiguous, before any key or store is touched. */
    struct credentials both = { "hs_key", "Bearer x.y.z", NULL };
    CHECK(auth_authenticate(NULL, &cfg, &both, &who, &why) == AUTH_AMBIGUOUS,
          "X-API-KEY plus Bearer: ambiguous");
    struct credentials lower = { NULL, "bearer", NULL };
    CHECK(auth_authenticate(NULL, &cfg, &lower, &who, &why) == AUTH_INVALID &&
          strstr(why, "missing") != NULL, "Bearer without token: invalid (%s)", why);

    unlink(secret_path);
    rmdir(dir);
    free(line);
    free(tok);
    free(secret_path);
    config_release(&cfg);
}

int
main(void)
{
    test_base64url();
    test_decode();
    test_claims();
    test_hs256();
    test_public_keys();
    test_bearer();
    return unit_summary("test_jwt");
}
