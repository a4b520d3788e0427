/*
 * json: owns parsing bytes into json-c values (strictness, depth, trailing
 * bytes, error reports) and reading members out of them with bounds.
 */
#include "autoconfig.h"

#include <string.h>

#include "util/json.h"

static bool
json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * json-c 0.16 accepts single-quoted strings and keys even in strict mode.
 * In JSON a single quote can only appear inside a string: the offset of the
 * first one outside, or len.
 */
static size_t
single_quote_outside_strings(const char *s, size_t len)
{
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        if (in_string) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_string = false;
        } else if (s[i] == '"') {
            in_string = true;
        } else if (s[i] == '\'') {
            return i;
        }
    }
    return len;
}

/* True if s is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
number_spelling_valid(const char *s)
{
    const char *p = s + (*s == '-');

    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        p += strspn(p, "0123456789");
    else
        return false;
    if (*p == '.') {
        size_t n = strspn(++p, "0123456789");
        if (n == 0)
            return false;
        p += n;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        p += *p == '+' || *p == '-';
        size_t n = strspn(p, "0123456789");
        if (n == 0)
            return false;
        p += n;
    }
    return *p == '\0';
}

/*
 * True if every number in v will be written back as valid JSON, and as the
 * same number: json-c writes a parsed double back as it was spelt, and
 * clamps integers beyond 64 bits to INT64_MIN or UINT64_MAX.
 */
static bool
numbers_valid(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_double:
        return number_spelling_valid(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    case json_type_int:
        return json_object_get_int64(v) != INT64_MIN && json_object_get_uint64(v) != UINT64_MAX;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!numbers_valid(json_object_array_get_idx(v, i)))
                return false;
        return true;
    case json_type_object: {
        json_object_object_foreach(v, key, member) {
            (void)key;
            if (!numbers_valid(member))
                return false;
        }
        return true;
    }
    default:
        return true;
    }
}

static json_object *
fail(struct json_read_error *e, enum json_read_status status, size_t at, const char *desc)
{
    if (e != NULL) {
        e->status = status;
        e->at = at;
        e->desc = desc;
    }
    return NULL;
}

/* Parses with tok; at_end: a value still open at the end of the input may be a bare number. */
static json_object *
read_with(json_tokener *tok, const char *data, size_t len, bool at_end,
          struct json_read_error *e)
{
    json_object *v = json_tokener_parse_ex(tok, data, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    bool consumed = jerr == json_tokener_continue;

    if (consumed && at_end) {
        /* A bare number or literal ends at the end of input: a NUL says so. */
        v = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    if (jerr == json_tokener_continue || (consumed && jerr != json_tokener_success))
        return fail(e, JSON_READ_TRUNCATED, len, "the input ends before the value does");
    if (jerr != json_tokener_success) {
        json_object_put(v);
        return fail(e, JSON_READ_SYNTAX, json_tokener_get_parse_end(tok),
                    json_tokener_error_desc(jerr));
    }
    if (!consumed) {
        size_t end = json_tokener_get_parse_end(tok);
        while (end < len && json_space(data[end]))
            end++;
        if (end < len) {
            json_object_put(v);
            return fail(e, JSON_READ_TRAILING, end, "unexpected bytes after the value");
        }
    }
    return v;
}

/* read_with for the public readers; e is never NULL here. */
static json_object *
read_json(const char *data, size_t len, int depth, unsigned flags, bool bare_ok,
          struct json_read_error *e)
{
    if (len > (size_t)INT32_MAX)
        return fail(e, JSON_READ_TOO_LARGE, 0, "too large");
    size_t quote = single_quote_outside_strings(data, len);
    if (quote < len)
        return fail(e, JSON_READ_SYNTAX, quote, "unexpected character");

    json_tokener *tok = json_tokener_new_ex(depth);
    if (tok == NULL)
        return fail(e, JSON_READ_NOMEM, 0, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
                                ((flags & JSON_READ_UTF8) ? JSON_TOKENER_VALIDATE_UTF8 : 0));
    fail(e, JSON_READ_OK, 0, "success");
    json_object *v = read_with(tok, data, len, bare_ok, e);
    json_tokener_free(tok);
    if (e->status == JSON_READ_OK && !numbers_valid(v)) {
        json_object_put(v);
        return fail(e, JSON_READ_NUMBER, 0,
                    "a number is NaN, Infinity, malformed or an integer beyond 64 bits");
    }
    return v;
}

json_object *
json_read_value(const char *data, size_t len, int depth, unsigned flags,
                struct json_read_error *e)
{
    struct json_read_error mine;

    return read_json(data, len, depth, flags, true, e != NULL ? e : &mine);
}

json_object *
json_read_object(const char *data, size_t len, int depth, unsigned flags,
                 struct json_read_error *e)
{
    struct json_read_error mine;

    if (e == NULL)
        e = &mine;
    json_object *v = read_json(data, len, depth, flags, false, e);
    /* JSON null reads as NULL with OK: not an object either. */
    if (e->status == JSON_READ_OK && !json_object_is_type(v, json_type_object)) {
        json_object_put(v);
        return fail(e, JSON_READ_NOT_OBJECT, 0, "not a JSON object");
    }
    return v;
}

const char *
json_member_string(json_object *o, const char *name, size_t *len)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    if (len != NULL)
        *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

int
json_member_copy(json_object *o, const char *name, char *dst, size_t cap)
{
    size_t n;
    const char *s = json_member_string(o, name, &n);

    if (cap > 0)
        dst[0] = '\0';
    if (s == NULL || n >= cap || memchr(s, '\0', n) != NULL)
        return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

int
json_member_int(json_object *o, const char *name, int64_t min, int64_t max, int64_t *out)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
        return -1;
    /*
     * json-c saturates beyond 64 bits, to INT64_MIN below and to a uint64
     * above INT64_MAX: neither is the number that was written, so refuse
     * them (and with them the literal INT64_MIN, which no record holds).
     */
    int64_t n = json_object_get_int64(v);
    if (n == INT64_MIN || json_object_get_uint64(v) > (uint64_t)INT64_MAX)
        return -1;
    if (n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

int
json_member_bool(json_object *o, const char *name, bool *out)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_boolean))
        return -1;
    *out = json_object_get_boolean(v);
    return 0;
}
