/*
 * hello_fcgi - the baseline of bench/api: the smallest useful FastCGI
 * program (accept, answer a fixed JSON document, finish), built with the
 * same compiler flags and libfcgi as webhooks.fcgi, so the benchmark shows
 * what the webhook API costs on top of the web server and the protocol.
 */
#include "autoconfig.h"

#include <signal.h>
#include <stdio.h>

#include <fcgiapp.h>

static const char response[] =
    "Status: 200 OK\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 18\r\n"
    "\r\n"
    "{\"hello\":\"world\"}\n";

int
main(void)
{
    FCGX_Request request;

    signal(SIGPIPE, SIG_IGN);
    if (FCGX_Init() != 0 || FCGX_InitRequest(&request, 0, 0) != 0) {
        fprintf(stderr, "hello_fcgi: cannot initialise FastCGI\n");
        return 1;
    }
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(response, (int)sizeof response - 1, request.out);
        FCGX_Finish_r(&request);
    }
    return 0;
}
