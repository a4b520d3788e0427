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
        log_error("supervisor: fork: %s", strerror(errno));
        return false;
    }
    sv->slots[i].pid = pid;
    sv->slots[i].started_ms = clock_ms(CLOCK_MONOTONIC);
    return false;
}

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
        log_error("supervisor: fork: %s", strerror(errno));
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
        if (!clean) {
            if (WIFSIGNALED(status))
                log_warn("supervisor: worker %ld: killed by signal %d: restarting it",
                         (long)pid, WTERMSIG(status));
            else
                log_warn("supervisor: worker %ld: exited with status %d: restarting it",
                         (long)pid, WEXITSTATUS(status));
            /* It may have died inside the store: see that the store is sound. */
            sv->check_wanted = true;
        }
        sv->quick_deaths = !clean && lived < QUICK_DEATH_MS ? sv->quick_deaths + 1 : 0;
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

int
supervisor_run(unsigned n, supervisor_check_fn check, void *ctx)
{
    struct supervisor sv = { .n = n, .check = check, .ctx = ctx };
    sigset_t wanted;

    sv.slots = xcalloc(n, sizeof *sv.slots);
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGCHLD);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGINT);
    sigprocmask(SIG_BLOCK, &wanted, &sv.old_mask);
    log_info("supervisor: running %u workers", n);

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
        if (sig == SIGTERM || sig == SIGINT)
            stop_all(&sv);
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            reap(&sv, pid, status);
    }
}
