/*
 * libFuzzer target for the strict JSON reader (util/json) every decoder
 * uses. The first byte picks the reader (value or object), UTF-8 checking
 * and the depth limit; the rest is the input. Checks that every refusal
 * says why and where (within the input), that an accepted value written
 * back reads again as the same text, and that the member readers keep
 * their bounds. Built and run by tests/fuzz/run.sh.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An accepted value, written back, must read again and write back the same. */
static void
round_trip(json_object *v, int depth, unsigned flags)
{
    const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    char *copy = strdup(text);
    struct json_read_error e;

    if (copy == NULL)
        return;
    json_object *again = json_read_value(copy, strlen(copy), depth, flags, &e);
    if (e.status != JSON_READ_OK)
        abort();
    if (strcmp(copy, json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN)) != 0)
        abort();
    json_object_put(again);
    free(copy);
}

static void
members(json_object *o)
{
    json_object_object_foreach(o, key, v) {
        char small[8];
        int64_t n = 0;
        bool b;

        (void)v;
        if (json_member_copy(o, key, small, sizeof small) == 0 && strlen(small) >= sizeof small)
            abort();
        if (json_member_int(o, key, -5, 5, &n) == 0 && (n < -5 || n > 5))
            abort();
        (void)json_member_bool(o, key, &b);
        (void)json_member_string(o, key, NULL);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_read_error e;

    if (size == 0)
        return 0;
    bool object = data[0] & 1;
    unsigned flags = (data[0] & 2) ? JSON_READ_UTF8 : 0;
    int depth = 1 + (data[0] >> 2) % 40;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    json_object *v = object ? json_read_object(in, len, depth, flags, &e)
                            : json_read_value(in, len, depth, flags, &e);
    if (e.desc == NULL || e.desc[0] == '\0' || e.at > len)
        abort();                /* every refusal says why, and where in the input */
    if (e.status != JSON_READ_OK && v != NULL)
        abort();
    if (e.status == JSON_READ_OK) {
        if (object && !json_object_is_type(v, json_type_object))
            abort();
        round_trip(v, depth, flags);
        if (object)
            members(v);
    }
    json_object_put(v);
    return 0;
}
