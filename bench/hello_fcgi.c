/*
 * hello_fcgi - the baseline of bench/api: the smallest useful FastCGI
 * program (accept, answer a fixed JSON document, finish), built with the
 * same compiler flags and libfcgi as webhooks.fcgi, so the benchmark shows
 * what the webhook API costs on top of the web server and the protocol.
 *
 * usage: hello_fcgi [FILE]   (FILE: answer its bytes instead of a hello-world
 * document, to compare with an API response of the same size; read at the
 * first request, so it may be written after the web server started us)
 */
#include "autoconfig.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

static const char hello[] = "{\"hello\":\"world\"}\n";

/* Reads all of path into a new buffer (*len bytes); NULL on failure. */
static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)size + 1)) != NULL &&
        fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *len = data != NULL ? (size_t)size : 0;
    return data;
}

int
main(int argc, char **argv)
{
    FCGX_Request request;
    const char *body = NULL;
    char *file_body = NULL;
    size_t body_len = 0;
    char head[160];
    int head_len = 0;

    signal(SIGPIPE, SIG_IGN);
    if (FCGX_Init() != 0 || FCGX_InitRequest(&request, 0, 0) != 0) {
        fprintf(stderr, "hello_fcgi: cannot initialise FastCGI\n");
        return 1;
    }
    while (FCGX_Accept_r(&request) >= 0) {
        if (body == NULL) {
            body = hello;
            body_len = sizeof hello - 1;
            if (argc > 1 && (body = file_body = slurp(argv[1], &body_len)) == NULL) {
                fprintf(stderr, "hello_fcgi: cannot read %s\n", argv[1]);
                return 1;
            }
            head_len = snprintf(head, sizeof head,
                                "Status: 200 OK\r\nCache-Control: no-store\r\n"
                                "Content-Type: application/json; charset=utf-8\r\n"
                                "Content-Length: %zu\r\n\r\n", body_len);
        }
        FCGX_PutStr(head, head_len, request.out);
        FCGX_PutStr(body, (int)body_len, request.out);
        FCGX_Finish_r(&request);
    }
    free(file_body);
    return 0;
}
