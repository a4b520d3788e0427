/* rotation - overlapSeconds and the rotate answer (see rotation.h). */
#include "autoconfig.h"

#include <stdio.h>
#include <time.h>

#include "domain/rotation.h"

int
rotation_overlap_from_body(json_object *body, long *overlap, json_object **errors)
{
    json_object *v;

    *errors = NULL;
    *overlap = ROTATION_OVERLAP_DEFAULT;
    if (body == NULL || !json_object_object_get_ex(body, "overlapSeconds", &v))
        return 0;
    /* json-c types 60.0 and 6e1 as doubles: only an integer literal is a whole number of seconds. */
    if (v != NULL && json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        if (n >= 0 && n <= ROTATION_OVERLAP_MAX) {
            *overlap = (long)n;
            return 0;
        }
    }
    json_object *list = json_object_new_array();
    char msg[128];
    snprintf(msg, sizeof msg, "overlapSeconds must be an integer from 0 to %ld (seconds).",
             ROTATION_OVERLAP_MAX);
    json_object_array_add(list, json_object_new_string(msg));
    *errors = json_object_new_object();
    json_object_object_add(*errors, "overlapSeconds", list);
    return -1;
}

json_object *
rotation_to_json(const struct webhook *w)
{
    json_object *o = webhook_to_json(w);
    json_object *until = NULL;

    if (w->previous_secret[0] != '\0' && w->previous_until > 0) {
        char text[32];
        time_t t = (time_t)w->previous_until;
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL &&
            strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
            until = json_object_new_string(text);
    }
    json_object_object_add(o, "previousSecretExpiresAt", until);
    return o;
}
