"""Delivery operations (list, one delivery, redeliver, ping) through lighttpd with a real
hookspool-sender and a recording receiver on 127.0.0.1: every row of the delivery
operations table, checked on what a client sees (status codes, bodies, Link headers) and
on what the receiver gets (bytes, X-NEOSTORE-DELIVERY, X-NEOSTORE-ATTEMPT). Also the CLI's
`deliveries show`, `redeliver` and `ping`."""

import json
import os
import re
import sys
import time
import urllib.parse

import harness as h
from test_sender import Api, Receiver, emit
from harness import Sender, stop_all, wait_for


def api_get(api, path, key=None):
    """GET under /api/TENANT/webhooks; (status, headers, parsed body)."""
    return api.webhooks("GET", path, key=key or True)


def api_post(api, path, key=None):
    """POST with no body under /api/TENANT/webhooks; (status, headers, parsed body)."""
    return api.webhooks("POST", path, key=key or True)


def deliveries_of(api, wid, query=""):
    st, _, doc = api_get(api, "/%s/deliveries%s" % (wid, query))
    return doc if st == 200 else None


def delivery(api, wid, did):
    st, _, doc = api_get(api, "/%s/deliveries/%s" % (wid, did))
    return doc if st == 200 else None


def wait_delivery(api, wid, did, cond, timeout=20):
    """Waits until the delivery exists and cond(doc) holds; returns the last doc."""
    last = [None]

    def ok():
        last[0] = delivery(api, wid, did)
        return last[0] is not None and cond(last[0])
    wait_for(ok, timeout, 0.1)
    return last[0]


def next_link(hdrs):
    m = re.match(r'<([^>]+)>;\s*rel="next"$', hdrs.get("link", ""))
    return m.group(1) if m else None


RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
MEMBERS = ["deliveryId", "webhookId", "eventId", "eventType", "status", "attemptCount",
           "createdAt", "lastAttemptAt", "lastStatusCode", "lastError", "nextAttemptAt"]


class GoneReceiver(h.Receiver):
    """Answers every POST 410 Gone, on 127.0.0.1."""

    def answer(self, entry, seen):
        return 410, {}, b""


def records_flow(s, env, srv, rcv, acme):
    """A delivery exists from fan-out on; attempts, codes, errors; succeeded and failed."""
    slow = acme.create(rcv.url + "/slow/rec", ["Slow:*"])
    ok = acme.create(rcv.url + "/ok/rec", ["Ok:*"])
    bad = acme.create(rcv.url + "/fail/rec", ["Fail:*"])
    dead = acme.create("http://127.0.0.1:%d/nothing" % h.free_port(), ["Dead:*"])

    emit(env, "acme", "Slow:Created", {"n": 1})
    got = [None]
    s.check(wait_for(lambda: (got.__setitem__(0, deliveries_of(acme, slow["id"])) or
                              bool(got[0])), 10),
            "records: the delivery is listed once its event is fanned out")
    first = (got[0] or [{}])[0]
    s.check(rcv.wait("/slow/rec", 1, 10) and len(rcv.on("/slow/rec")) == 1,
            "records: the slow receiver is holding the first attempt")
    now = delivery(acme, slow["id"], first.get("deliveryId", "x"))
    s.eq((now or {}).get("status"), "pending", "records: pending while the attempt runs")
    s.eq((now or {}).get("attemptCount"), 0, "records: attemptCount 0 before any attempt ended")
    s.eq((now or {}).get("attempts"), [], "records: no attempts yet")
    s.eq(sorted(k for k in (now or {}) if k not in ("attempts", "payload")), sorted(MEMBERS),
         "records: the delivery object has exactly the members of the contract")
    s.check(RFC3339.match(str((now or {}).get("createdAt"))), "records: createdAt is RFC 3339",
            now)
    s.eq(first.get("webhookId"), slow["id"], "records: webhookId")
    s.check(re.fullmatch(r"[0-9a-f]{32}", first.get("deliveryId", "")),
            "records: deliveryId is 32 lowercase hex digits", first)

    eid = emit(env, "acme", "Ok:Created", {"n": 2})
    s.check(rcv.wait("/ok/rec", 1, 10), "records: the ok receiver got its delivery")
    req = rcv.on("/ok/rec")[0]
    did = req["headers"]["x-neostore-delivery"]
    doc = wait_delivery(acme, ok["id"], did, lambda d: d["status"] == "succeeded")
    s.eq((doc or {}).get("status"), "succeeded", "records: a 2xx makes it succeeded")
    if doc:
        s.eq((doc["attemptCount"], doc["lastStatusCode"], doc["lastError"], doc["nextAttemptAt"]),
             (1, 200, None, None), "records: succeeded: 1 attempt, 200, no error, no next")
        s.eq((doc["eventId"], doc["eventType"]), (eid, "Ok:Created"), "records: event id, type")
        a = doc["attempts"][0] if doc["attempts"] else {}
        s.eq((a.get("attempt"), a.get("statusCode"), a.get("error")), (1, 200, None),
             "records: the attempt: number, status code, no error")
        s.check(isinstance(a.get("durationMs"), int) and RFC3339.match(str(a.get("at"))),
                "records: the attempt's time and duration", a)
        s.eq(doc["payload"], json.loads(req["body"]), "records: payload is the body as sent")
        st, _, raw = h.request("GET", "%s/api/acme/webhooks/%s/deliveries/%s" % (
            srv.url, ok["id"], did), None, {"X-API-KEY": acme.key})
        s.check(req["body"] in raw, "records: the payload's bytes are the body's bytes")

    emit(env, "acme", "Fail:Created", {"n": 3})
    s.check(rcv.wait("/fail/rec", 1, 10), "records: the failing receiver got a first attempt")
    did = rcv.on("/fail/rec")[0]["headers"]["x-neostore-delivery"]
    doc = wait_delivery(acme, bad["id"], did, lambda d: d["attemptCount"] >= 1)
    if doc and doc["attemptCount"] == 1:
        s.eq((doc["status"], doc["lastStatusCode"], doc["lastError"]), ("pending", 500, "HTTP 500"),
             "records: after a failed attempt with retries left: pending, 500, its error")
        s.check(RFC3339.match(str(doc["nextAttemptAt"])), "records: nextAttemptAt is set", doc)
    doc = wait_delivery(acme, bad["id"], did, lambda d: d["status"] == "failed", 20)
    s.eq((doc or {}).get("status"), "failed", "records: after the last attempt: failed")
    if doc:
        s.eq([a["attempt"] for a in doc["attempts"]], [1, 2, 3],
             "records: every attempt, oldest first")
        s.eq({a["statusCode"] for a in doc["attempts"]}, {500}, "records: their status codes")
        s.eq((doc["attemptCount"], doc["nextAttemptAt"]), (3, None),
             "records: failed: 3 attempts, nothing planned")
        # The record's status and the dead letter are written by different threads
        # (the committer, the loop): the file follows the status shortly.
        letter = os.path.join(env.spool, "failed", "dlv-" + did)
        s.check(h.wait_for(lambda: os.path.exists(letter), 10),
                "records: the failed delivery is a dead letter in failed/")

    emit(env, "acme", "Dead:Created", {"n": 4})
    lst = [None]
    wait_for(lambda: (lst.__setitem__(0, deliveries_of(acme, dead["id"])) or
                      bool(lst[0]) and lst[0][0]["attemptCount"] >= 1), 15, 0.1)
    d0 = (lst[0] or [{}])[0] if lst else {}
    s.eq(d0.get("lastStatusCode", "absent"), None,
         "records: an attempt without an answer has lastStatusCode null")
    s.check(isinstance(d0.get("lastError"), str) and d0["lastError"],
            "records: ...and says why in lastError", d0)

    # A 410 Gone disables the webhook at once: its delivery ends failed, nothing planned.
    gone = GoneReceiver()
    try:
        hook410 = acme.create(gone.url + "/gone", ["Gone:*"])
        emit(env, "acme", "Gone:Created", {"n": 6})
        lst410 = [None]
        wait_for(lambda: (lst410.__setitem__(0, deliveries_of(acme, hook410["id"])) or
                          bool(lst410[0]) and lst410[0][0]["status"] != "pending"), 15, 0.1)
        d410 = (lst410[0] or [{}])[0]
        s.eq((d410.get("status"), d410.get("lastStatusCode"), d410.get("nextAttemptAt", "absent"),
              d410.get("attemptCount")), ("failed", 410, None, 1),
             "records: a 410 answer leaves the delivery failed after one attempt")
    finally:
        gone.stop()

    # A webhook disabled between attempts: its delivery ends, failed, without another attempt.
    stop = acme.create(rcv.url + "/fail/stop", ["Stop:*"])
    emit(env, "acme", "Stop:Created", {"n": 5})
    s.check(rcv.wait("/fail/stop", 1, 10), "records: the webhook to disable got a first attempt")
    sdid = rcv.on("/fail/stop")[0]["headers"]["x-neostore-delivery"]
    s.eq(acme.patch(stop["id"], {"enabled": False}), 200, "records: disable it")
    doc = wait_delivery(acme, stop["id"], sdid, lambda d: d["status"] != "pending", 15)
    s.eq(((doc or {}).get("status"), (doc or {}).get("attemptCount"),
          (doc or {}).get("nextAttemptAt", "absent")), ("failed", 1, None),
         "records: a disabled webhook's pending delivery becomes failed, no more attempts")
    s.eq(len(rcv.on("/fail/stop")), 1, "records: ...and the receiver got nothing more")
    return slow, ok, bad


def paging_flow(s, env, acme, rcv):
    """Every delivery once across pages, newest first; the status filter pages too."""
    hook = acme.create(rcv.url + "/ok/page", ["Page:*"])
    n = 23
    for i in range(n):
        emit(env, "acme", "Page:Created", {"i": i})
    s.check(rcv.wait("/ok/page", n, 30), "paging: every event was delivered")
    wait_for(lambda: len([d for d in deliveries_of(acme, hook["id"], "?limit=250") or []
                          if d["status"] == "succeeded"]) == n, 15, 0.1)
    full = deliveries_of(acme, hook["id"], "?limit=250") or []
    s.eq(len(full), n, "paging: limit=250 lists all %d" % n)
    created = [d["createdAt"] for d in full]
    s.eq(created, sorted(created, reverse=True), "paging: newest first")
    st, hdrs, _ = api_get(acme, "/%s/deliveries?limit=250" % hook["id"])
    s.check("link" not in hdrs, "paging: no Link when nothing follows")

    for query, want in (("?limit=5", [d["deliveryId"] for d in full]),
                        ("?status=succeeded&limit=4", [d["deliveryId"] for d in full])):
        seen, pages = [], 0
        st, hdrs, doc = api_get(acme, "/%s/deliveries%s" % (hook["id"], query))
        while st == 200 and pages < 20:
            pages += 1
            seen += [d["deliveryId"] for d in doc]
            link = next_link(hdrs)
            if link is None:
                break
            url = urllib.parse.urljoin(acme.url + "/", link)
            s.check(url.startswith(acme.url + "/api/acme/webhooks/%s/deliveries?" % hook["id"]),
                    "paging: the Link is an absolute URL of this list", link)
            st, hdrs, body = h.request("GET", url, None, {"X-API-KEY": acme.key})
            doc = h.as_json(body)
        s.eq(seen, want, "paging %s: every delivery once, none skipped, in order" % query)
        s.check(pages > 1, "paging %s: more than one page" % query)
    # Deliveries that arrive while a client pages are not mixed into later pages.
    st, hdrs, first = api_get(acme, "/%s/deliveries?limit=10" % hook["id"])
    emit(env, "acme", "Page:Created", {"i": "late"})
    s.check(rcv.wait("/ok/page", n + 1, 15), "paging: a late event was delivered")
    wait_for(lambda: len(deliveries_of(acme, hook["id"], "?limit=250") or []) == n + 1, 10)
    rest, link = [], next_link(hdrs)
    while link:
        st, hdrs, body = h.request("GET", urllib.parse.urljoin(acme.url + "/", link), None,
                                   {"X-API-KEY": acme.key})
        rest += [d["deliveryId"] for d in h.as_json(body) or []]
        link = next_link(hdrs)
    s.eq([d["deliveryId"] for d in first] + rest, [d["deliveryId"] for d in full],
         "paging: a delivery made meanwhile changes no page after the first")
    st, _, doc = api_get(acme, "/%s/deliveries?status=failed" % hook["id"])
    s.eq((st, doc), (200, []), "paging: status=failed of an all-good webhook is []")
    return hook


def errors_flow(s, env, srv, acme, hook, other_hook):
    """400 naming the parameter, 404, 403, HEAD."""
    for query, member in (("status=bogus", "status"), ("status=", "status"),
                          ("limit=0", "limit"), ("limit=251", "limit"), ("limit=abc", "limit"),
                          ("limit=-1", "limit"), ("limit=5x", "limit"),
                          ("cursor=nope", "cursor"), ("cursor=" + "0" * 47, "cursor"),
                          ("status=Failed&limit=2", "status")):
        st, hdrs, doc = api_get(acme, "/%s/deliveries?%s" % (hook["id"], query))
        s.eq((st, sorted((doc or {}).get("errors", {}))), (400, [member]),
             "errors: ?%s is a 400 naming %s" % (query, member))
        s.check(hdrs.get("content-type", "").startswith("application/problem+json"),
                "errors: ?%s answers problem+json" % query)
    st, _, doc = api_get(acme, "/%s/deliveries?status=bogus&limit=0" % hook["id"])
    s.eq(sorted((doc or {}).get("errors", {})), ["limit", "status"],
         "errors: two bad parameters are both named")
    s.eq(api_get(acme, "/%s/deliveries?unknown=1" % hook["id"])[0], 200,
         "errors: an unknown parameter is ignored")

    mine = (deliveries_of(acme, hook["id"]) or [{}])[0].get("deliveryId", "0" * 32)
    for path in ("/%s/deliveries/%s" % (other_hook["id"], mine),
                 "/%s/deliveries/%s" % (hook["id"], "0" * 32),
                 "/%s/deliveries/%s" % (hook["id"], "not-an-id"),
                 "/%s/deliveries/%s" % (hook["id"], mine.upper()),
                 "/ZZZZZ/deliveries", "/ZZZZZ/deliveries/%s" % mine):
        s.eq(api_get(acme, path)[0], 404, "errors: GET %s is 404" % path)
    s.eq(api_post(acme, "/%s/deliveries/%s/redeliver" % (other_hook["id"], mine))[0], 404,
         "errors: redeliver of another webhook's delivery is 404")
    s.eq(api_post(acme, "/ZZZZZ/ping")[0], 404, "errors: ping of an unknown webhook is 404")

    ro = env.apikey("acme", scopes="Webhook.Read")
    s.eq(api_get(acme, "/%s/deliveries" % hook["id"], key=ro)[0], 200,
         "errors: a read-only key lists deliveries")
    s.eq(api_get(acme, "/%s/deliveries/%s" % (hook["id"], mine), key=ro)[0], 200,
         "errors: a read-only key reads one delivery")
    for path in ("/%s/deliveries/%s/redeliver" % (hook["id"], mine), "/%s/ping" % hook["id"]):
        st, hdrs, _ = api_post(acme, path, key=ro)
        s.check(st == 403 and "insufficient_scope" in hdrs.get("www-authenticate", ""),
                "errors: POST %s with a read-only key is 403 insufficient_scope" % path, st)

    stranger = Api(srv, env, "stranger")
    for method, path in (("GET", "/%s/deliveries" % hook["id"]),
                         ("GET", "/%s/deliveries/%s" % (hook["id"], mine)),
                         ("POST", "/%s/deliveries/%s/redeliver" % (hook["id"], mine)),
                         ("POST", "/%s/ping" % hook["id"])):
        st, _, _ = h.request(method, "%s/api/acme/webhooks%s" % (srv.url, path), None,
                             {"X-API-KEY": stranger.key})
        s.eq(st, 403, "errors: %s %s with another tenant's key is 403" % (method, path))
    st, _, doc = api_get(stranger, "/%s/deliveries" % hook["id"])
    s.eq(st, 404, "errors: another tenant's webhook does not exist under one's own tenant")

    st, hdrs, data = h.request("HEAD", "%s/api/acme/webhooks/%s/deliveries" % (srv.url, hook["id"]),
                               None, {"X-API-KEY": acme.key})
    s.check(st == 200 and data == b"", "errors: HEAD on the list answers 200 without a body")
    st, hdrs, _ = h.request("DELETE", "%s/api/acme/webhooks/%s/ping" % (srv.url, hook["id"]),
                            None, {"X-API-KEY": acme.key})
    s.eq((st, hdrs.get("allow")), (405, "POST"), "errors: DELETE on ping is 405, Allow: POST")
    st, hdrs, _ = h.request("POST", "%s/api/acme/webhooks/%s/deliveries" % (srv.url, hook["id"]),
                            None, {"X-API-KEY": acme.key})
    s.eq((st, hdrs.get("allow")), (405, "GET, HEAD"), "errors: POST on the list is 405")
    st, _, _ = h.request("GET", "%s/api/acme/webhooks/%s/deliveries" % (srv.url, hook["id"]))
    s.eq(st, 401, "errors: no credentials is 401")


def redeliver_flow(s, env, acme, rcv, ok, bad):
    """Same bytes, same delivery id, a higher attempt; a failed one gets a full schedule."""
    before = rcv.on("/ok/rec")
    first = before[0]
    did = first["headers"]["x-neostore-delivery"]
    st, hdrs, doc = api_post(acme, "/%s/deliveries/%s/redeliver" % (ok["id"], did))
    s.eq(st, 202, "redeliver: 202 Accepted")
    s.eq(((doc or {}).get("deliveryId"), (doc or {}).get("status")), (did, "pending"),
         "redeliver: the body is the delivery, now pending")
    s.check(rcv.wait("/ok/rec", len(before) + 1, 15), "redeliver: the receiver gets it again")
    again = rcv.on("/ok/rec")[len(before)] if len(rcv.on("/ok/rec")) > len(before) else None
    if again:
        s.eq(again["body"], first["body"], "redeliver: the same body bytes")
        s.eq(again["headers"]["x-neostore-delivery"], did, "redeliver: the same delivery id")
        s.eq(int(again["headers"]["x-neostore-attempt"]),
             int(first["headers"]["x-neostore-attempt"]) + 1, "redeliver: the next attempt number")
        s.eq(again["headers"]["x-neostore-signature"], first["headers"]["x-neostore-signature"],
             "redeliver: the same signature")
    doc = wait_delivery(acme, ok["id"], did, lambda d: d["attemptCount"] == 2 and
                        d["status"] == "succeeded")
    s.eq(((doc or {}).get("attemptCount"), (doc or {}).get("status")), (2, "succeeded"),
         "redeliver: recorded as attempt 2, succeeded")

    fdid = rcv.on("/fail/rec")[0]["headers"]["x-neostore-delivery"]
    n_fail = len(rcv.on("/fail/rec"))
    st, _, doc = api_post(acme, "/%s/deliveries/%s/redeliver" % (bad["id"], fdid))
    s.eq((st, (doc or {}).get("status")), (202, "pending"), "redeliver: a failed delivery, 202")
    s.check(rcv.wait("/fail/rec", n_fail + 3, 20),
            "redeliver: a failed delivery gets the whole retry schedule again")
    attempts = [int(r["headers"]["x-neostore-attempt"]) for r in rcv.on("/fail/rec")
                if r["headers"]["x-neostore-delivery"] == fdid]
    s.eq(attempts, [1, 2, 3, 4, 5, 6], "redeliver: X-NEOSTORE-ATTEMPT goes on counting")
    doc = wait_delivery(acme, bad["id"], fdid, lambda d: d["status"] == "failed" and
                        d["attemptCount"] == 6)
    s.eq(((doc or {}).get("status"), (doc or {}).get("attemptCount")), ("failed", 6),
         "redeliver: failed again after the schedule, 6 attempts recorded")
    s.eq(sorted(os.listdir(os.path.join(env.spool, "failed"))).count("dlv-" + fdid), 1,
         "redeliver: one dead letter of it, not two")


def ping_flow(s, env, acme, rcv):
    """A Webhook:Ping to one webhook alone, whatever its patterns; 409 when disabled."""
    target = acme.create(rcv.url + "/ok/ping-target", ["Nothing:Matches"])
    bystander = acme.create(rcv.url + "/ok/ping-bystander", ["*"])
    st, hdrs, doc = api_post(acme, "/%s/ping" % target["id"])
    s.eq(st, 202, "ping: 202 Accepted")
    doc = doc or {}
    s.eq((doc.get("status"), doc.get("eventType"), doc.get("webhookId"), doc.get("attemptCount")),
         ("pending", "Webhook:Ping", target["id"], 0), "ping: the new delivery, pending")
    s.check(hdrs.get("location", "").endswith("/deliveries/%s" % doc.get("deliveryId")),
            "ping: Location names the new delivery", hdrs.get("location"))
    s.check(rcv.wait("/ok/ping-target", 1, 15), "ping: delivered to the webhook")
    got = rcv.on("/ok/ping-target")
    if got:
        body = json.loads(got[0]["body"])
        s.eq((body["eventType"], body["tenantId"], body["data"], body["eventId"]),
             ("Webhook:Ping", "acme", {"webhookId": target["id"]}, doc.get("eventId")),
             "ping: the event's body")
        s.eq(got[0]["headers"].get("x-neostore-delivery"), doc.get("deliveryId"),
             "ping: under the delivery id the API answered")
        s.eq(got[0]["headers"].get("x-neostore-event"), "Webhook:Ping", "ping: X-NEOSTORE-EVENT")
    time.sleep(1.5)     # a stray fan-out would have reached the '*' webhook by now
    s.eq(len(rcv.on("/ok/ping-bystander")), 0, "ping: no other webhook of the tenant gets it")
    d = wait_delivery(acme, target["id"], doc.get("deliveryId", "x"),
                      lambda d: d["status"] == "succeeded")
    s.eq((d or {}).get("status"), "succeeded", "ping: recorded as succeeded")

    s.eq(acme.patch(target["id"], {"enabled": False}), 200, "ping: disable the webhook")
    st, _, doc409 = api_post(acme, "/%s/ping" % target["id"])
    s.eq(st, 409, "ping: a disabled webhook is 409")
    st, _, _ = api_post(acme, "/%s/deliveries/%s/redeliver" % (target["id"], doc.get("deliveryId")))
    s.eq(st, 409, "redeliver: a disabled webhook is 409")
    n = len(deliveries_of(acme, target["id"]) or [])
    s.eq(n, 1, "ping: the refused ping made no delivery")
    s.eq(acme.patch(target["id"], {"enabled": True}), 200, "ping: enable the webhook again")
    return target, bystander


def cli_flow(s, env, acme, rcv, ok, target):
    did = rcv.on("/ok/rec")[0]["headers"]["x-neostore-delivery"]
    r = env.cli("deliveries", "show", did)
    s.check(r.returncode == 0 and did in r.stdout and "succeeded" in r.stdout and
            '"Ok:Created"' in r.stdout, "cli: deliveries show ID prints it", r.stdout + r.stderr)
    r = env.cli("deliveries", "show", did, "--tenant", "acme", "--json")
    doc = h.as_json(r.stdout) or {}
    s.eq((r.returncode, doc.get("deliveryId"), doc.get("status")), (0, did, "succeeded"),
         "cli: deliveries show --json prints the API's object")
    s.eq(env.cli("deliveries", "show", "0" * 32).returncode, 1, "cli: unknown delivery exits 1")
    s.eq(env.cli("deliveries", "show").returncode, 2, "cli: show without ID exits 2")
    s.eq(env.cli("deliveries", "show", "xyz").returncode, 2, "cli: show with a bad ID exits 2")
    s.eq(env.cli("deliveries", "--tenant", "acme").returncode, 0,
         "cli: deliveries --tenant still lists the attempt log")
    for args in (("deliveries", "show", "--help"), ("redeliver", "--help"), ("ping", "--help")):
        r = env.cli(*args)
        s.check(r.returncode == 0 and r.stdout.startswith("usage:"), "cli: %s" % " ".join(args))

    n = len(rcv.on("/ok/rec"))
    r = env.cli("redeliver", did)
    s.eq((r.returncode, r.stdout.strip()), (0, did), "cli: redeliver ID prints the id")
    s.check(rcv.wait("/ok/rec", n + 1, 15), "cli: redeliver reaches the receiver")
    s.eq(env.cli("redeliver").returncode, 2, "cli: redeliver without ID exits 2")
    s.eq(env.cli("redeliver", "0" * 32).returncode, 1, "cli: redeliver of nothing exits 1")

    n = len(rcv.on("/ok/ping-target"))
    r = env.cli("ping", "--tenant", "acme", "--webhook", target["id"])
    s.check(r.returncode == 0 and re.fullmatch(r"[0-9a-f]{32}", r.stdout.strip()),
            "cli: ping prints the new delivery id", r.stdout + r.stderr)
    s.check(rcv.wait("/ok/ping-target", n + 1, 15), "cli: ping reaches the receiver")
    s.eq(env.cli("ping", "--tenant", "acme").returncode, 2, "cli: ping without --webhook exits 2")
    s.eq(env.cli("ping", "--tenant", "acme", "--webhook", "toolong").returncode, 2,
         "cli: ping with a bad webhook id exits 2")
    s.eq(env.cli("ping", "--tenant", "acme", "--webhook", "ZZZZZ").returncode, 1,
         "cli: ping of an unknown webhook exits 1")
    acme.patch(target["id"], {"enabled": False})
    r = env.cli("ping", "--tenant", "acme", "--webhook", target["id"])
    s.check(r.returncode == 1 and "disabled" in r.stderr, "cli: ping of a disabled webhook exits 1")
    r = env.cli("redeliver", r.stdout.strip() or "0" * 32)
    s.eq(r.returncode, 1, "cli: redeliver fails when it cannot")
    acme.patch(target["id"], {"enabled": True})


def once_flow(s, env, acme, rcv, target):
    """With no daemon (cron's --once runs), a ping made meanwhile goes out with the next run."""
    n = len(rcv.on("/ok/ping-target"))
    st, _, doc = api_post(acme, "/%s/ping" % target["id"])
    s.eq(st, 202, "once: ping while no sender runs")
    time.sleep(1.0)
    s.eq(len(rcv.on("/ok/ping-target")), n, "once: nothing is sent while no sender runs")
    once = Sender(env, once=True)
    try:
        once.proc.wait(timeout=60)
    finally:
        once.stop()
    s.eq(once.proc.returncode, 0, "once: hookspool-sender --once exits 0")
    got = [r for r in rcv.on("/ok/ping-target")
           if r["headers"].get("x-neostore-delivery") == (doc or {}).get("deliveryId")]
    s.eq(len(got), 1, "once: the --once run sent the ping")


def main():
    s = h.Suite("deliveries")
    rcv = Receiver(slow_seconds=3.0)
    env = h.Env("deliveries", allow_private_targets="yes", retry_schedule="1s,1s",
                delivery_timeout="5", log_level="debug")
    srv = sender = None
    try:
        srv = h.lighttpd(env, procs=2)
        acme = Api(srv, env, "acme")
        sender = Sender(env)
        slow, ok, bad = records_flow(s, env, srv, rcv, acme)
        page_hook = paging_flow(s, env, acme, rcv)
        errors_flow(s, env, srv, acme, page_hook, ok)
        redeliver_flow(s, env, acme, rcv, ok, bad)
        target, _ = ping_flow(s, env, acme, rcv)
        cli_flow(s, env, acme, rcv, ok, target)
        code = sender.stop()
        s.eq(code, 0, "the sender exits 0 on SIGTERM")
        sender = None
        once_flow(s, env, acme, rcv, target)
    except Exception as e:      # report, then fail the suite
        import traceback
        traceback.print_exc()
        s.check(False, "the suite ran to its end", e)
    finally:
        if sender is not None and s.failed:
            print(sender.text()[-4000:], file=sys.stderr)
        stop_all(sender, srv, rcv)
        env.cleanup()
    s.done()


if __name__ == "__main__":
    main()
