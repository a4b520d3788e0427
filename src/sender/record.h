/*
 * record - a delivery that must be tried again later, as a spool file.
 *
 * When an attempt fails, the sender writes one record per delivery (not
 * per event) named "dlv-<deliveryId>", and parks it in deferred/ with its
 * next attempt time as the file's mtime, or in failed/ after the last
 * attempt. The record carries the exact body bytes that were signed, so
 * every retry sends the same bytes.
 *
 * A record is the sender's own: it is only ever written into and claimed
 * from the directories producers cannot write (spool_store_deferred,
 * spool_claim_due), so it is told from an event by where it was claimed
 * from, never by its bytes (a file in new/ that looks like a record is an
 * event file, and a malformed one). Its values are still checked as if
 * hostile: record_parse accepts only what the sender itself writes.
 *
 * Format (one JSON object, members in this order):
 * {"hookspoolDelivery":1,"deliveryId":...,"webhookId":...,"tenantId":...,
 *  "eventId":...,"eventType":...,"attempt":N,"tries":N,"lastError":...,"body":"..."}
 * attempt is the number the next try will carry (X-NEOSTORE-ATTEMPT);
 * tries counts failed tries in the current round of retry_schedule (a
 * dead letter is written with tries = 0, so a requeued one gets a full
 * schedule again).
 */
#ifndef HOOKSPOOL_RECORD_H
#define HOOKSPOOL_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/spool.h"
#include "domain/store.h"

#define RECORD_PREFIX SPOOL_RECORD_PREFIX

struct record {
    struct delivery_ref ref;
    int attempt;
    int tries;
    char last_error[DELIVERY_ERROR_MAX + 1];
    char *body;                 /* owned; body_len bytes plus a NUL */
    size_t body_len;
};

/*
 * Parses a record file into *r. Every value is checked: deliveryId 32
 * lowercase hex digits, webhookId, tenantId, eventId and eventType valid
 * as the API and event_parse define them (so no control character can
 * reach a header), body an event whose eventId, eventType and tenantId
 * are the record's. Returns 0, or -1 with a reason in err.
 */
int record_parse(struct record *r, const char *data, size_t len, char *err, size_t errlen);

/* Serialises *r; the caller frees the string. */
char *record_format(const struct record *r);

/* Releases what r owns; NULL is allowed. */
void record_release(struct record *r);

#endif
