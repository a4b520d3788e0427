/*
 * http - the request a handler sees and the response it returns,
 * independent of FastCGI, CGI or a unit test.
 */
#ifndef HOOKSPOOL_HTTP_H
#define HOOKSPOOL_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

struct http_request {
    const char *method;
    const char *path_info;      /* PATH_INFO, already decoded by the server; may be NULL */
    const char *request_uri;    /* REQUEST_URI, raw; may be NULL */
    const char *content_type;   /* may be NULL */
    long long content_length;   /* -1 if not given */
    const char *api_key;        /* X-API-KEY */
    const char *authorization;
    const char *query_string;   /* QUERY_STRING, raw; may be NULL (then REQUEST_URI's query) */
    const char *host;           /* HTTP_HOST, for absolute links; may be NULL */
    const char *scheme;         /* "https" or "http"; may be NULL */
    /* Reads up to n body bytes into buf: returns the count, 0 at the end, -1 on error. */
    ssize_t (*read_body)(void *io, char *buf, size_t n);
    void *io;
};

#define HTTP_MAX_HEADERS 6

struct http_header {
    const char *name;           /* static */
    char *value;                /* owned */
};

struct http_response {
    int status;
    const char *content_type;   /* static; NULL when there is no body */
    char *body;                 /* owned; NULL for none */
    size_t body_len;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t n_headers;
};

/* Initialises an empty 200 response. */
void http_response_init(struct http_response *r);
/* Releases what r owns. */
void http_response_release(struct http_response *r);
/* Adds a header; value is copied. */
void http_response_header(struct http_response *r, const char *name, const char *value);
/* Sets a JSON body (application/json) from o, which is consumed (put). */
void http_response_json(struct http_response *r, int status, json_object *o);
/* Sets a JSON body (application/json) from len bytes of text, which is consumed (freed). */
void http_response_json_text(struct http_response *r, int status, char *text, size_t len);
/* The reason phrase for status, e.g. "Not Found". */
const char *http_reason(int status);

/*
 * Sets an application/problem+json body (RFC 9457) for status; detail may
 * be NULL; errors (consumed, may be NULL) becomes the "errors" member.
 */
void http_response_problem(struct http_response *r, int status, const char *detail,
                           json_object *errors);

#endif
