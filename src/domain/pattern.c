/*
 * pattern - event-type patterns (pattern.h): case-insensitive, '.' and ':'
 * alike, '*' as a wildcard.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stddef.h>

#include "domain/pattern.h"

/* One character in the form compared: ASCII lower case, ':' read as '.'. */
static char
pattern_fold(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    if (c == ':')
        return '.';
    return c;
}

bool
pattern_match(const char *pattern, const char *event_type)
{
    const char *p = pattern, *s = event_type;
    const char *star = NULL;    /* the last '*' seen in the pattern */
    const char *resume = NULL;  /* where in s that '*' would next give way */

    if (pattern == NULL || event_type == NULL)
        return false;
    /*
     * Greedy glob with one backtracking point: on a mismatch, let the last
     * star swallow one more character and try again. Earlier stars never
     * need to move, so this is O(len(p) * len(s)) at worst and never recurses.
     */
    while (*s != '\0') {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p != '\0' && pattern_fold(*p) == pattern_fold(*s)) {
            p++;
            s++;
        } else if (star != NULL) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

bool
pattern_match_any(const char *const *patterns, size_t n, const char *event_type)
{
    for (size_t i = 0; i < n; i++)
        if (pattern_match(patterns[i], event_type))
            return true;
    return false;
}
