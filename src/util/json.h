/*
 * json - the one way bytes become JSON: exactly one value (or object) with
 * nothing but whitespace after it, RFC 8259 syntax (json-c's strict mode
 * plus no single quotes), a nesting limit, optionally UTF-8 checked; and
 * the member readers every decoder uses (bounded string copy, integers
 * range-checked).
 */
#ifndef HOOKSPOOL_JSON_H
#define HOOKSPOOL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Nesting limit for callers with no reason to choose another (json-c's own default). */
#define JSON_READ_DEPTH 32

/* json_read_* flags. */
#define JSON_READ_UTF8 0x1u     /* refuse strings that are not valid UTF-8 */

enum json_read_status {
    JSON_READ_OK,
    JSON_READ_TRUNCATED,        /* the input ends inside the value */
    JSON_READ_SYNTAX,           /* not JSON at byte at: desc says why */
    JSON_READ_TRAILING,         /* bytes other than whitespace after the value, from byte at */
    JSON_READ_NUMBER,           /* a number is NaN, Infinity, malformed or beyond 64 bits */
    JSON_READ_NOT_OBJECT,       /* json_read_object: a value, but not an object */
    JSON_READ_TOO_LARGE,        /* more than INT32_MAX bytes */
    JSON_READ_NOMEM,
};

struct json_read_error {
    enum json_read_status status;
    size_t at;                  /* byte offset of the problem */
    const char *desc;           /* a static English phrase; never NULL */
};

/*
 * Parses data[0, len) as exactly one JSON value nested at most depth deep.
 * Returns the value (the caller puts it) with e->status OK, or NULL with *e
 * saying why. JSON null is NULL too: e->status tells them apart. A bare
 * number or literal may end at the end of the input. Every number must be
 * written back as the same valid JSON number (json-c takes NaN, Infinity
 * and "1." even when strict, and clamps integers beyond 64 bits).
 */
json_object *json_read_value(const char *data, size_t len, int depth, unsigned flags,
                             struct json_read_error *e);
/*
 * The same for a value that must be an object (NULL if anything else; e
 * may be NULL); a truncated value of any kind, bare numbers too, is TRUNCATED.
 */
json_object *json_read_object(const char *data, size_t len, int depth, unsigned flags,
                              struct json_read_error *e);

/* Member name of o as a string (and its length in *len if len is not NULL); NULL if absent or not a string. */
const char *json_member_string(json_object *o, const char *name, size_t *len);
/*
 * Copies string member name of o with its NUL into dst (cap bytes); 0, or
 * -1 (dst "") if absent, not a string, holding a NUL, or cap bytes or longer.
 */
int json_member_copy(json_object *o, const char *name, char *dst, size_t cap);
/* Integer member name of o into *out if min <= value <= max; 0, or -1 (*out untouched). */
int json_member_int(json_object *o, const char *name, int64_t min, int64_t max, int64_t *out);
/* Boolean member name of o into *out; 0, or -1 (*out untouched) if absent or not a boolean. */
int json_member_bool(json_object *o, const char *name, bool *out);

#endif
