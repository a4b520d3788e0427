/*
 * log - syslog or stderr, one line per event, levels (log.h).
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static const char *log_ident = "hookspool";
static bool log_to_stderr = true;
static bool log_to_syslog = false;
static enum log_level log_max = LOG_LVL_INFO;

static const struct {
    const char *name;
    int syslog_priority;
} log_levels[] = {
    [LOG_LVL_ERROR] = { "error", LOG_ERR },
    [LOG_LVL_WARN] = { "warn", LOG_WARNING },
    [LOG_LVL_INFO] = { "info", LOG_INFO },
    [LOG_LVL_DEBUG] = { "debug", LOG_DEBUG },
};

void
log_open(const char *ident, bool to_stderr)
{
    log_ident = ident;
    log_to_stderr = to_stderr;
    log_to_syslog = !to_stderr;
    if (!to_stderr)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_open_both(const char *ident)
{
    log_open(ident, false);
    log_to_stderr = true;
}

void
log_set_level(enum log_level level)
{
    log_max = level;
}

int
log_level_parse(const char *name, enum log_level *level)
{
    for (size_t i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++) {
        if (strcmp(name, log_levels[i].name) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

size_t
log_escape(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    if (cap == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
        char esc[5];
        size_t len = 1;
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            esc[0] = '\\';
            esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
            len = 2;
        } else if (*p < 0x20 || *p == 0x7f || *p == '\\') {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[*p >> 4];
            esc[3] = hex[*p & 15];
            len = 4;
        } else {
            esc[0] = (char)*p;
        }
        if (n + len >= cap)
            break;              /* whole escapes only: truncated, never split */
        memcpy(out + n, esc, len);
        n += len;
    }
    out[n] = '\0';
    return n;
}

static void
log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
    if (level > log_max)
        return;
    /* One line per message, whatever the arguments hold (file names come from producers). */
    char raw[2048], msg[2048];
    vsnprintf(raw, sizeof raw, fmt, ap);
    log_escape(raw, msg, sizeof msg);
    if (log_to_syslog)
        syslog(log_levels[level].syslog_priority, "%s", msg);
    if (!log_to_stderr)
        return;
    /* One write(2) per line keeps lines from several processes whole. */
    char line[2200];
    int n = snprintf(line, sizeof line, "%s[%ld]: %s: %s\n", log_ident,
                     (long)getpid(), log_levels[level].name, msg);
    if (n > 0) {
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        ssize_t ignored = write(STDERR_FILENO, line, len);
        (void)ignored;
    }
}

#define LOG_FUNCTION(name, level)          \
    void name(const char *fmt, ...)        \
    {                                      \
        va_list ap;                        \
        va_start(ap, fmt);                 \
        log_vwrite(level, fmt, ap);        \
        va_end(ap);                        \
    }

LOG_FUNCTION(log_error, LOG_LVL_ERROR)
LOG_FUNCTION(log_warn, LOG_LVL_WARN)
LOG_FUNCTION(log_info, LOG_LVL_INFO)
LOG_FUNCTION(log_debug, LOG_LVL_DEBUG)
