/*
 * libFuzzer target for the event side of the sender: event files
 * (domain/event), the pattern matcher (domain/pattern) and signatures
 * (domain/signature).
 *
 * The whole input is parsed as an event file; a parsed event's body must
 * parse again to the very same bytes (the sender signs and stores the body,
 * and a restart re-reads it). The input split at its first NUL is also a
 * (pattern, event type) pair: an event type always matches itself and "*".
 * Built and run by tests/fuzz/run.sh.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/event.h"
#include "domain/pattern.h"
#include "domain/signature.h"
#include "util/log.h"
#include "util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01";

static void
fuzz_event(const char *text, size_t size)
{
    struct event ev;
    char err[256];

    if (event_parse(&ev, text, size, err, sizeof err) != 0) {
        if (err[0] == '\0' || ev.data != NULL)
            abort();            /* a refusal always says why and owns nothing */
        return;
    }
    if (!event_type_valid(ev.type) || !event_id_valid(ev.id) || ev.timestamp[0] == '\0')
        abort();
    char *body = event_body(&ev);
    struct event again;
    if (event_parse(&again, body, strlen(body), err, sizeof err) != 0)
        abort();                /* the body is itself a valid event file */
    char *body2 = event_body(&again);
    if (strcmp(body, body2) != 0)
        abort();                /* and stable: retries send the same bytes */

    char sig[SIGNATURE_MAX];
    if (signature_compute(secret, body, strlen(body), SIGNATURE_HEX, sig) != 0 ||
        !signature_verify(secret, body, strlen(body), sig) ||
        signature_verify(secret, body2, strlen(body2) > 0 ? strlen(body2) - 1 : 0, sig))
        abort();
    if (!pattern_match(ev.type, ev.type) || !pattern_match("*", ev.type))
        abort();
    free(body2);
    free(body);
    event_release(&again);
    event_release(&ev);
}

static void
fuzz_pattern(const char *text, size_t size)
{
    size_t split = strnlen(text, size);
    if (split == size)
        return;
    char *pattern = xstrndup(text, split);
    char *type = xstrndup(text + split + 1, size - split - 1);
    bool m = pattern_match(pattern, type);
    /* Appending "*" to a pattern can only widen what it matches. */
    char *wider = xasprintf("%s*", pattern);
    if (m && !pattern_match(wider, type))
        abort();
    free(wider);
    free(type);
    free(pattern);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;

    if (!ready) {
        log_open("fuzz_event", true);
        log_set_level(LOG_LVL_ERROR);
        ready = 1;
    }
    /* A copy with a NUL after it, so a reader past the end is caught by ASan. */
    char *text = xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_event(text, size);
    fuzz_pattern(text, size);
    free(text);
    return 0;
}
