/*
 * supervisor - webhooks.fcgi --workers N: the launcher, the supervisor and
 * the store check (src/api/supervisor.h, docs/recovery.md).
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/supervisor.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

enum {
    QUICK_DEATH_MS = 1000,      /* a worker that fails this soon after its start ... */
    QUICK_DEATHS = 5,           /* ... this many times in a row slows the restarts */
    SLOW_RESTART_MS = 1000,
    STOP_WAIT_MS = 10000,       /* for workers to finish their request on SIGTERM */
};

/* In a supervisor: its launcher and the web server that started the launcher. */
static pid_t watched_launcher, watched_server;

struct slot {
    pid_t pid;                  /* 0: empty */
    long long started_ms;
};

struct supervisor {
    struct slot *slots;
    unsigned n;
    pid_t checker;              /* the store check running, or 0 */
    bool check_wanted;
    unsigned quick_deaths;
    supervisor_check_fn check;
    void *ctx;
    sigset_t old_mask;
};

/* In a new child: back to the signal state a worker expects, and end with the supervisor. */
static bool
child_setup(const struct supervisor *sv, pid_t parent, int deathsig)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &sv->old_mask, NULL);
    return prctl(PR_SET_PDEATHSIG, deathsig) == 0 && getppid() == parent;
}

/* Starts a worker in slot i; returns true in the new worker. */
static bool
start_worker(struct supervisor *sv, unsigned i)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid == 0) {
        /* A worker finishes its request and leaves when the supervisor is gone. */
        if (!child_setup(sv, parent, SIGTERM))
            _exit(0);
        return true;
    }
    if (pid < 0) {
        log_error("start_worker: fork: %s", strerror(errno));
        return false;
    }
    sv->slots[i].pid = pid;
    sv->slots[i].started_ms = clock_ms(CLOCK_MONOTONIC);
    return false;
}

/* Starts the store check (supervisor.h) in a child of its own. */
static void
start_check(struct supervisor *sv)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid == 0) {
        if (!child_setup(sv, parent, SIGKILL))
            _exit(0);
        close(STDIN_FILENO);    /* the listening socket: only workers may hold it */
        _exit(sv->check(sv->ctx));
    }
    if (pid < 0) {
        log_error("start_check: fork: %s", strerror(errno));
        return;
    }
    sv->checker = pid;
    sv->check_wanted = false;
}

/* Records the end of child pid; frees its slot if it was a worker. */
static void
reap(struct supervisor *sv, pid_t pid, int status)
{
    if (pid == sv->checker) {
        sv->checker = 0;
        return;
    }
    for (unsigned i = 0; i < sv->n; i++) {
        if (sv->slots[i].pid != pid)
            continue;
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        long long lived = clock_ms(CLOCK_MONOTONIC) - sv->slots[i].started_ms;
        if (clean) {
            log_info("reap: worker %ld: left: starting another", (long)pid);
        } else {
            if (WIFSIGNALED(status))
                log_warn("reap: worker %ld: killed by signal %d: restarting it",
                         (long)pid, WTERMSIG(status));
            else
                log_warn("reap: worker %ld: exited with status %d: restarting it",
                         (long)pid, WEXITSTATUS(status));
            /* It may have died inside the store: see that the store is sound. */
            sv->check_wanted = true;
        }
        /* A worker that cannot even start fails on its own; SIGKILL comes from outside. */
        bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        sv->quick_deaths = !clean && !killed && lived < QUICK_DEATH_MS ? sv->quick_deaths + 1 : 0;
        sv->slots[i].pid = 0;
        return;
    }
}

/* Passes SIGTERM on to the workers, waits for them a while, and exits. */
static void
stop_all(struct supervisor *sv)
{
    long long deadline = clock_ms(CLOCK_MONOTONIC) + STOP_WAIT_MS;
    unsigned left = 0;

    for (unsigned i = 0; i < sv->n; i++)
        if (sv->slots[i].pid > 0 && kill(sv->slots[i].pid, SIGTERM) == 0)
            left++;
    if (sv->checker > 0)
        kill(sv->checker, SIGTERM);
    while (left > 0 && clock_ms(CLOCK_MONOTONIC) < deadline) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0 && pid != sv->checker)
            left--;
        else if (pid == 0)
            usleep(10000);
        else if (errno != EINTR)
            break;
    }
    for (unsigned i = 0; i < sv->n && left > 0; i++)
        if (sv->slots[i].pid > 0)
            kill(sv->slots[i].pid, SIGKILL);
    exit(0);
}

/*
 * The launcher: the process the web server started, and the supervisor's
 * parent. It holds the listening socket and nothing else, passes SIGTERM
 * and SIGINT on, and starts a new supervisor when one ends. So the socket
 * never closes while it lives, and the web server never sees its child end
 * when the supervisor is killed (lighttpd 1.4, seeing that while the socket
 * still answered, would take the socket for someone else's and never start
 * a new one). Returns in each new supervisor.
 */
static void
launch(const sigset_t *wanted)
{
    pid_t server = getppid();
    pid_t launcher = getpid();
    unsigned quick_deaths = 0;

    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            /* The new supervisor keeps the launcher's blocked signals: it waits for them too. */
            watched_launcher = launcher;
            watched_server = server;
            return;
        }
        if (pid < 0) {
            log_error("launch: fork: %s", strerror(errno));
            usleep(SLOW_RESTART_MS * 1000);
            continue;
        }
        long long started = clock_ms(CLOCK_MONOTONIC);
        int status = 0;
        bool stopping = false;
        for (;;) {
            struct timespec tick = { 1, 0 };
            int sig = sigtimedwait(wanted, NULL, &tick);
            if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
                stopping = true;
                kill(pid, SIGTERM);
            }
            pid_t done = waitpid(pid, &status, WNOHANG);
            if (done == pid || (done < 0 && errno != EINTR))
                break;
        }
        if (stopping)
            exit(0);
        if (WIFSIGNALED(status))
            log_error("launch: killed by signal %d: starting a new one", WTERMSIG(status));
        else
            log_error("launch: exited with status %d: starting a new one",
                      WEXITSTATUS(status));
        quick_deaths = clock_ms(CLOCK_MONOTONIC) - started < QUICK_DEATH_MS ? quick_deaths + 1 : 0;
        if (quick_deaths >= QUICK_DEATHS)
            usleep(SLOW_RESTART_MS * 1000);
    }
}

/*
 * A supervisor whose launcher was killed goes on serving (the web server
 * then uses the socket as it finds it); it stops once the web server that
 * started the launcher is gone too.
 */
static bool
orphaned_for_good(void)
{
    return watched_launcher > 0 && getppid() != watched_launcher && watched_server > 1 &&
           kill(watched_server, 0) != 0 && errno == ESRCH;
}

int
supervisor_run(unsigned n, supervisor_check_fn check, void *ctx)
{
    struct supervisor sv = { .n = n, .check = check, .ctx = ctx };
    sigset_t wanted;

    sigemptyset(&wanted);
    sigaddset(&wanted, SIGCHLD);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGINT);
    sigprocmask(SIG_BLOCK, &wanted, &sv.old_mask);
    launch(&wanted);
    sv.slots = xcalloc(n, sizeof *sv.slots);
    log_info("supervisor_run: running %u workers", n);

    for (;;) {
        if (sv.check_wanted && sv.checker == 0)
            start_check(&sv);
        for (unsigned i = 0; i < n; i++) {
            if (sv.slots[i].pid != 0)
                continue;
            if (sv.quick_deaths >= QUICK_DEATHS)
                usleep(SLOW_RESTART_MS * 1000);
            if (start_worker(&sv, i)) {
                free(sv.slots);
                return 0;
            }
        }
        struct timespec tick = { 1, 0 };
        int sig = sigtimedwait(&wanted, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT || orphaned_for_good())
            stop_all(&sv);
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            reap(&sv, pid, status);
    }
}
