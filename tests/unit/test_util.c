/* Unit tests for src/util: random identifiers, blocked address ranges, buffers, files. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/fileio.h"
#include "util/httpc.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/random.h"
#include "util/xalloc.h"

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_random_alnum(void)
{
    enum { DRAWS = 100000, LEN = 64 };
    char **secrets = xcalloc(DRAWS, sizeof *secrets);
    size_t counts[256] = { 0 };
    bool alphabet_ok = true, length_ok = true;

    for (size_t i = 0; i < DRAWS; i++) {
        secrets[i] = xmalloc(LEN + 1);
        if (random_alnum(secrets[i], LEN) != 0)
            length_ok = false;
        if (strlen(secrets[i]) != LEN)
            length_ok = false;
        for (size_t k = 0; k < LEN; k++) {
            unsigned char c = (unsigned char)secrets[i][k];
            counts[c]++;
            if (strchr(random_alnum_alphabet, c) == NULL || c == '\0')
                alphabet_ok = false;
        }
    }
    CHECK(length_ok, "every secret has 64 characters");
    CHECK(alphabet_ok, "every character is in [A-Za-z0-9]");
    qsort(secrets, DRAWS, sizeof *secrets, compare_strings);
    size_t dups = 0;
    for (size_t i = 1; i < DRAWS; i++)
        dups += strcmp(secrets[i - 1], secrets[i]) == 0;
    CHECK(dups == 0, "100k secrets without a duplicate (%zu duplicates)", dups);

    /* No modulo bias: each of the 62 characters is near 1/62 of 6.4M draws. */
    double expected = (double)DRAWS * LEN / 62.0, worst = 0;
    for (const char *p = random_alnum_alphabet; *p != '\0'; p++) {
        double dev = ((double)counts[(unsigned char)*p] - expected) / expected;
        if (dev < 0)
            dev = -dev;
        if (dev > worst)
            worst = dev;
    }
    /*
     * One standard deviation is about 0.31% of the expected count, so a 1%
     * bound (3.2 sigma, worst of 62) failed about one run in 14. A modulo
     * bias (256 % 62) would put 8 characters 20% above the rest: 2% (6.4
     * sigma) still catches it and never fails by chance.
     */
    CHECK(worst < 0.02, "character frequencies within 2%% of uniform (worst %.4f)", worst);
    CHECK(strlen(random_alnum_alphabet) == 62, "alphabet has 62 characters");

    char id[6];
    CHECK(random_alnum(id, 5) == 0 && strlen(id) == 5, "5-character id");
    for (size_t i = 0; i < DRAWS; i++)
        free(secrets[i]);
    free(secrets);
}

static void
test_netaddr(void)
{
    static const struct {
        const char *addr;
        const char *want;       /* NULL = public */
    } cases[] = {
        { "8.8.8.8", NULL },
        { "93.184.216.34", NULL },
        { "127.0.0.1", "loopback" },
        { "127.255.255.254", "loopback" },
        { "10.1.2.3", "private" },
        { "172.16.0.1", "private" },
        { "172.31.255.255", "private" },
        { "172.32.0.1", NULL },
        { "192.168.1.1", "private" },
        { "169.254.169.254", "link-local" },
        { "100.64.0.1", "cgnat" },
        { "100.127.255.255", "cgnat" },
        { "100.128.0.1", NULL },
        { "0.0.0.0", "unspecified" },
        { "224.0.0.1", "multicast" },
        { "239.255.255.250", "multicast" },
        { "255.255.255.255", "reserved" },
        { "::1", "loopback" },
        { "::", "unspecified" },
        { "fe80::1", "link-local" },
        { "fc00::1", "private" },
        { "fd12:3456::1", "private" },
        { "ff02::1", "multicast" },
        { "::ffff:127.0.0.1", "loopback" },
        { "::ffff:10.0.0.1", "private" },
        { "::ffff:8.8.8.8", NULL },
        { "64:ff9b::a9fe:a9fe", "nat64" },
        { "64:ff9b::808:808", "nat64" },
        { "64:ff9b:1::808:808", "nat64" },
        { "64:ff9b:1:ffff::1", "nat64" },
        { "64:ff9b:2::1", NULL },
        { "2002:c0a8:101::1", "6to4" },
        { "2002:808:808::1", "6to4" },
        { "2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo" },
        { "2001:0:ffff::1", "teredo" },
        { "2001:1::1", NULL },
        { "2001:4860:4860::8888", NULL },
        { "2003::1", NULL },
        { "2606:4700:4700::1111", NULL },
        { "2001:db8::1", "documentation" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        int rc = netaddr_parse_literal(cases[i].addr, &ss);
        CHECK(rc == 0, "%s parses", cases[i].addr);
        if (rc != 0)
            continue;
        const char *got = netaddr_restricted((struct sockaddr *)&ss);
        CHECK((got == NULL) == (cases[i].want == NULL) &&
                  (got == NULL || strcmp(got, cases[i].want) == 0),
              "%s: got %s, want %s", cases[i].addr, got ? got : "public",
              cases[i].want ? cases[i].want : "public");
    }

    /* Legacy IPv4 spellings that resolvers accept must be seen through. */
    static const char *const sneaky[] = { "127.1", "0x7f000001", "2130706433", "017700000001",
                                          "[::1]", "[::ffff:7f00:1]" };
    for (size_t i = 0; i < sizeof sneaky / sizeof sneaky[0]; i++) {
        struct sockaddr_storage ss;
        CHECK(netaddr_parse_literal(sneaky[i], &ss) == 0 &&
                  netaddr_restricted((struct sockaddr *)&ss) != NULL,
              "%s is recognised as loopback", sneaky[i]);
    }
    struct sockaddr_storage ss;
    CHECK(netaddr_parse_literal("example.com", &ss) == -1, "a name is not a literal");
    CHECK(netaddr_parse_literal("", &ss) == -1, "empty is not a literal");
}

static void
test_log_escape(void)
{
    static const struct {
        const char *in, *want;
        size_t cap;
    } cases[] = {
        { "plain name.json", "plain name.json", 64 },
        { "evil\nsender: forged line", "evil\\nsender: forged line", 64 },
        { "cr\rlf\ttab", "cr\\rlf\\ttab", 64 },
        { "bell\a esc\x1b del\x7f", "bell\\x07 esc\\x1b del\\x7f", 64 },
        { "back\\slash", "back\\x5cslash", 64 },
        { "utf-8 \xc3\xa9", "utf-8 \xc3\xa9", 64 },
        { "abc\n", "abc", 5 },             /* an escape that does not fit is dropped whole */
        { "abcdef", "abc", 4 },
        { "", "", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        size_t n = log_escape(cases[i].in, out, cases[i].cap);
        CHECK(strcmp(out, cases[i].want) == 0 && n == strlen(out), "escape case %zu: got \"%s\"",
              i, out);
    }
}

/* FIPS 180-2 test vectors, and the wiping of a buffer. */
static void
test_digest(void)
{
    static const char abc_hex[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char empty_hex[] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    unsigned char md[DIGEST_SHA256_LEN];
    char hex[2 * DIGEST_SHA256_LEN + 1];
    char secret[] = "0123456789abcdef";

    digest_sha256_hex("abc", 3, DIGEST_SHA256_LEN, hex);
    CHECK(strcmp(hex, abc_hex) == 0, "SHA-256(\"abc\") is the FIPS 180-2 vector: %s", hex);
    digest_sha256_hex("", 0, DIGEST_SHA256_LEN, hex);
    CHECK(strcmp(hex, empty_hex) == 0, "SHA-256 of no bytes: %s", hex);
    digest_sha256_hex("abc", 3, 4, hex);
    CHECK(strcmp(hex, "ba7816bf") == 0, "a 4-byte prefix is 8 hex digits: %s", hex);
    digest_sha256("abc", 3, md);
    CHECK(md[0] == 0xba && md[31] == 0xad, "raw digest bytes");
    wipe(secret, sizeof secret);
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof secret; i++)
        nonzero += secret[i] != 0;
    CHECK(nonzero == 0, "wipe leaves only zeros (%zu left)", nonzero);
}

static void
test_buf(void)
{
    struct buf b;

    buf_init(&b);
    CHECK(b.len == 0 && b.data[0] == '\0', "new buffer is empty");
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%d,", i);
    CHECK(b.len == strlen(b.data), "length tracks content");
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0 && strstr(b.data, "999,") != NULL, "content kept");
    buf_reset(&b);
    buf_append(&b, "a\0b", 3);
    CHECK(b.len == 3 && memcmp(b.data, "a\0b", 3) == 0, "binary append");
    char *owned = buf_detach(&b);
    CHECK(owned != NULL && b.data == NULL, "detach hands over the storage");
    free(owned);
    buf_release(&b);
}

static void
test_fileio(void)
{
    char dir[] = "/tmp/hookspool-unit-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char *tmp = xasprintf("%s/tmp.1", dir), *final = xasprintf("%s/final", dir);

    CHECK(fileio_publish(tmp, final, "hello", 5, 0600) == 0, "publish");
    CHECK(access(tmp, F_OK) != 0, "nothing left under the temporary name");
    struct buf b;
    buf_init(&b);
    CHECK(fileio_read(final, 100, &b) == 0 && b.len == 5 && memcmp(b.data, "hello", 5) == 0,
          "published bytes read back");
    buf_reset(&b);
    CHECK(fileio_read(final, 3, &b) == -2 && b.len == 3, "a file over the cap is reported");
    buf_reset(&b);
    CHECK(fileio_read("/nonexistent/x", 3, &b) == -1, "missing file is an error");
    CHECK(fileio_publish(tmp, "/nonexistent/dir/x", "x", 1, 0600) == -1 && access(tmp, F_OK) != 0,
          "a failed rename leaves nothing behind");
    buf_release(&b);
    unlink(final);
    rmdir(dir);
    free(tmp);
    free(final);
}

/*
 * httpc: the pins list, and what the hardening does to a real connection on
 * loopback: a proxy set in the environment is not used, and only http(s)
 * URLs are fetched.
 */
static void
test_httpc(void)
{
    const char *pins[] = { "hooks.test:443:127.0.0.1", "other.test:80:127.0.0.2" };
    struct curl_slist *list = (struct curl_slist *)1;
    CHECK(httpc_resolve_list(pins, 0, &list) == 0 && list == NULL, "no pins: no list");
    CHECK(httpc_resolve_list(pins, 2, &list) == 0 && list != NULL &&
              strcmp(list->data, pins[0]) == 0 && list->next != NULL &&
              strcmp(list->next->data, pins[1]) == 0 && list->next->next == NULL,
          "two pins, in order");
    CHECK(httpc_global_init() == 0 && httpc_global_init() == 0, "libcurl initialised, once");

    /* A listener the kernel completes connections to (no accept needed for CONNECT_ONLY). */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    CHECK(ls >= 0 && bind(ls, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(ls, 4) == 0 &&
              getsockname(ls, (struct sockaddr *)&sa, &len) == 0, "a loopback listener");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    static const struct {
        const char *url;        /* NULL: the listener */
        bool hardened;
        CURLcode want;
    } cases[] = {
        { NULL, true, CURLE_OK },                       /* the proxy in the environment is ignored */
        { NULL, false, CURLE_COULDNT_CONNECT },         /* (without httpc: libcurl would use it) */
        { "ftp://127.0.0.1/", true, CURLE_UNSUPPORTED_PROTOCOL },
        { "file:///etc/passwd", true, CURLE_UNSUPPORTED_PROTOCOL },
    };
    /* Port 9 (discard) on loopback: nothing listens, so a proxied connection fails. */
    setenv("http_proxy", "http://127.0.0.1:9", 1);
    setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *h = curl_easy_init();
        CURLcode rc = h == NULL ? CURLE_FAILED_INIT : CURLE_OK;
        if (rc == CURLE_OK && cases[i].hardened)
            rc = httpc_harden(h, NULL, list, errbuf);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, CURLOPT_URL, cases[i].url != NULL ? cases[i].url : url);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
        if (rc == CURLE_OK)
            rc = curl_easy_perform(h);
        CHECK(rc == cases[i].want, "case %zu (%s, %s): %s, want %s", i,
              cases[i].url != NULL ? cases[i].url : url,
              cases[i].hardened ? "hardened" : "plain", curl_easy_strerror(rc),
              curl_easy_strerror(cases[i].want));
        curl_easy_cleanup(h);
    }
    unsetenv("http_proxy");
    unsetenv("ALL_PROXY");
    if (ls >= 0)
        close(ls);
    curl_slist_free_all(list);
}

int
main(void)
{
    test_random_alnum();
    test_netaddr();
    test_log_escape();
    test_digest();
    test_buf();
    test_fileio();
    test_httpc();
    return unit_summary("unit util");
}
