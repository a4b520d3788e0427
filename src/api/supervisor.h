/*
 * supervisor - the API's own process supervisor (as php-cgi does with
 * PHP_FCGI_CHILDREN): one process that does no request work and holds
 * nothing of the store, and N workers that share the FastCGI listening
 * socket. A worker that ends for any reason is replaced at once; after one
 * that died abnormally the supervisor starts a store check (a short-lived
 * process that opens and closes the store, recovering it if a killed
 * worker left it needing that), so the environment is healthy again
 * before the next request finds out the hard way.
 *
 * Above the supervisor stays the process the web server started, the
 * launcher, which holds the socket, does nothing else and starts a new
 * supervisor when one ends: any one process of the tree can be killed and
 * the API goes on. docs/recovery.md.
 */
#ifndef HOOKSPOOL_SUPERVISOR_H
#define HOOKSPOOL_SUPERVISOR_H

/* Called in a fresh child to check the store; returns the child's exit status. */
typedef int (*supervisor_check_fn)(void *ctx);

/*
 * Forks the supervisor (off this process, which stays as the launcher),
 * which forks n workers and supervises them until SIGTERM or SIGINT, passed
 * on to the workers before it exits. Returns 0 in each worker, which then
 * serves requests; never returns in the launcher or the supervisor.
 */
int supervisor_run(unsigned n, supervisor_check_fn check, void *ctx);

#endif
