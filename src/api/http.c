/*
 * http - the response a handler builds (http.h): headers, JSON and
 * problem+json bodies, reason phrases.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "util/xalloc.h"

#define RFC9110 "https://tools.ietf.org/html/rfc9110#section-"

static const struct {
    int status;
    const char *reason;
    const char *type;           /* the problem "type": the status's section of its RFC */
    const char *title;
} statuses[] = {
    { 200, "OK", NULL, NULL },
    { 202, "Accepted", NULL, NULL },
    { 400, "Bad Request", RFC9110 "15.5.1", "One or more validation errors occurred." },
    { 401, "Unauthorized", RFC9110 "15.5.2", "Unauthorized" },
    { 403, "Forbidden", RFC9110 "15.5.4", "Forbidden" },
    { 404, "Not Found", RFC9110 "15.5.5", "Not Found" },
    { 405, "Method Not Allowed", RFC9110 "15.5.6", "Method Not Allowed" },
    { 409, "Conflict", RFC9110 "15.5.10", "Conflict" },
    { 413, "Content Too Large", RFC9110 "15.5.14", "Content Too Large" },
    { 415, "Unsupported Media Type", RFC9110 "15.5.16", "Unsupported Media Type" },
    { 500, "Internal Server Error", RFC9110 "15.6.1", "An error occurred while processing your request." },
    { 503, "Service Unavailable", RFC9110 "15.6.4", "Service Unavailable" },
    { 507, "Insufficient Storage", "https://tools.ietf.org/html/rfc4918#section-11.5",
      "Insufficient Storage" },
};

#define N_STATUSES (sizeof statuses / sizeof statuses[0])

static size_t
status_index(int status)
{
    for (size_t i = 0; i < N_STATUSES; i++)
        if (statuses[i].status == status)
            return i;
    return status_index(500);  /* unknown: describe it as a 500 */
}

const char *
http_reason(int status)
{
    return statuses[status_index(status)].reason;
}

void
http_response_init(struct http_response *r)
{
    memset(r, 0, sizeof *r);
    r->status = 200;
}

void
http_response_release(struct http_response *r)
{
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->headers[i].value);
    free(r->body);
    http_response_init(r);
}

void
http_response_header(struct http_response *r, const char *name, const char *value)
{
    if (r->n_headers == HTTP_MAX_HEADERS)
        abort();                /* a programming error: raise HTTP_MAX_HEADERS */
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = xstrdup(value);
    r->n_headers++;
}

static void
set_body(struct http_response *r, int status, const char *content_type, json_object *o)
{
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    free(r->body);
    r->status = status;
    r->content_type = content_type;
    r->body_len = strlen(text);
    r->body = xstrdup(text);
    json_object_put(o);
}

void
http_response_json(struct http_response *r, int status, json_object *o)
{
    set_body(r, status, "application/json", o);
}

void
http_response_json_text(struct http_response *r, int status, char *text, size_t len)
{
    free(r->body);
    r->status = status;
    r->content_type = "application/json";
    r->body = text;
    r->body_len = len;
}

void
http_response_problem(struct http_response *r, int status, const char *detail,
                      json_object *errors)
{
    size_t i = status_index(status);
    json_object *o = json_object_new_object();

    json_object_object_add(o, "type", json_object_new_string(statuses[i].type
                                                                 ? statuses[i].type
                                                                 : RFC9110 "15.6.1"));
    json_object_object_add(o, "title", json_object_new_string(statuses[i].title
                                                                  ? statuses[i].title
                                                                  : statuses[i].reason));
    json_object_object_add(o, "status", json_object_new_int(status));
    if (detail != NULL)
        json_object_object_add(o, "detail", json_object_new_string(detail));
    if (errors != NULL)
        json_object_object_add(o, "errors", errors);
    set_body(r, status, "application/problem+json", o);
}
