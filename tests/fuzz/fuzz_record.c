/*
 * libFuzzer target for the sender's retry records (src/sender/record.c):
 * files in the spool that anyone with write access to it could alter.
 *
 * The input is parsed as a record; a parsed record must format and parse
 * again to the same fields and the very same body bytes (every retry sends
 * and signs the body it carries). record.c is compiled into the target
 * because tests/fuzz/run.sh archives src/util and src/domain only.
 * Built and run by tests/fuzz/run.sh.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sender/record.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct record r, back;
    char err[256];
    const char *text = (const char *)data;

    if (record_parse(&r, text, size, err, sizeof err) != 0) {
        if (err[0] == '\0' || r.body != NULL)
            abort();            /* a refusal always says why and owns nothing */
        return 0;
    }
    char *again = record_format(&r);
    if (record_parse(&back, again, strlen(again), err, sizeof err) != 0)
        abort();
    if (back.body_len != r.body_len || memcmp(back.body, r.body, r.body_len) != 0 ||
        back.attempt != r.attempt || back.tries != r.tries ||
        memcmp(&back.ref, &r.ref, sizeof r.ref) != 0 || strcmp(back.last_error, r.last_error) != 0)
        abort();
    free(again);
    record_release(&back);
    record_release(&r);
    return 0;
}
