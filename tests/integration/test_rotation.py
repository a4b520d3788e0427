"""Secret rotation (POST .../rotate-secret, hookspool rotate-secret) and the Standard
Webhooks headers, end to end: the API behind lighttpd, a real hookspool-sender, and a
recording receiver on 127.0.0.1. Every delivery is checked the way receivers check it:
one holding only the old secret and one holding only the new secret, each accepting
X-NEOSTORE-SIGNATURE or X-NEOSTORE-SIGNATURE-PREVIOUS (as docs/receivers.md's snippets
do), and the npm "standardwebhooks" package (tests/receivers/standard.js, installed by
tests/deps.d/receivers.sh) with each secret as a raw key."""

import base64
import calendar
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

s = h.Suite("rotation")
STANDARD_JS = os.path.join(h.SRC, "tests", "receivers", "standard.js")
WEBHOOK_KEYS = ["id", "description", "events", "endpoint", "enabled", "signatureSecret"]


class Receiver(h.Receiver):
    """Records every POST (harness.Receiver) once answered, and answers 200, after a pause
    of `delay` seconds for paths under /slow/."""

    record_answered = True

    def __init__(self, delay=0.3):
        self.delay = delay
        super().__init__()

    def answer(self, entry, seen):
        if entry["path"].startswith("/slow/"):
            time.sleep(self.delay)
        return 200, {}, b""


def hmac_valid(secret, body, presented):
    """docs/receivers.md's check of one header value: hex (64 characters) or base64."""
    mac = hmac.new(secret.encode("ascii"), body, hashlib.sha256).digest()
    presented = (presented or "").strip()
    if len(presented) == 64:
        expected, presented = mac.hex(), presented.lower()
    else:
        expected = base64.b64encode(mac).decode("ascii")
    return hmac.compare_digest(expected.encode(), presented.encode("ascii", "replace"))


def receiver_accepts(secret, req):
    """What a receiver holding only `secret` decides: either signature header may match."""
    hd = req["headers"]
    return any(hmac_valid(secret, req["body"], hd.get(name))
               for name in ("x-neostore-signature", "x-neostore-signature-previous")
               if hd.get(name) is not None)


def standard_verdicts(env, secret, reqs):
    """tests/receivers/standard.js: the standardwebhooks package's verdict on each request."""
    path = os.path.join(env.dir, "requests-%d.json" % time.monotonic_ns())
    with open(path, "w") as f:
        json.dump([{"headers": r["headers"], "body": base64.b64encode(r["body"]).decode()}
                   for r in reqs], f)
    r = subprocess.run(["node", STANDARD_JS, secret, path], capture_output=True, text=True,
                       timeout=60, cwd=os.path.dirname(STANDARD_JS))
    if r.returncode != 0:
        return ["standard.js failed: " + r.stderr[-300:]] * len(reqs)
    return json.loads(r.stdout)


def rfc3339_seconds(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


class Api(h.Api):
    """harness.Api for tenant acme: webhooks made for Rot:* unless told, and rotate-secret."""

    def __init__(self, url, key, tenant="acme"):
        super().__init__(url, tenant, key)

    def create(self, endpoint, events=("Rot:*",)):
        return super().create(endpoint, events)

    def rotate(self, wid, body=None, **kw):
        return self.webhooks("POST", "/%s/rotate-secret" % wid, body, **kw)


def emit(env, etype, n=1):
    ids = []
    for i in range(n):
        r = env.cli("emit", "--tenant", "acme", "--type", etype, "--data", '{"n":%d}' % i)
        if r.returncode != 0:
            raise RuntimeError("emit: " + r.stderr)
        ids.append(r.stdout.strip())
    return ids


def events_of(reqs):
    return {json.loads(r["body"])["eventId"] for r in reqs}


def delivered(rcv, path, event_ids, timeout=20):
    """Waits until every event of event_ids reached path; returns those requests."""
    want = set(event_ids)
    h.wait_for(lambda: want <= events_of(rcv.on(path)), timeout)
    return [r for r in rcv.on(path) if json.loads(r["body"])["eventId"] in want]


# ---- the API ----

def api_flow(api, ro_key, other_key, rcv):
    hook = api.create(rcv.url + "/api-flow", events=("Api:*",))     # gets no delivery
    wid, old = hook["id"], hook["signatureSecret"]

    t0 = time.time()
    st, hd, doc = api.rotate(wid)
    s.eq(st, 200, "rotate-secret with no body: 200")
    s.check("application/json" in hd.get("content-type", ""), "rotate answers JSON", hd)
    doc = doc or {}
    s.eq(list(doc.keys()), WEBHOOK_KEYS + ["previousSecretExpiresAt"],
         "the answer is WebHookWithId plus previousSecretExpiresAt")
    new = doc.get("signatureSecret", "")
    s.check(re.fullmatch(r"[A-Za-z0-9]{64}", new) and new != old,
            "a new 64-character signatureSecret", new)
    s.eq({k: doc.get(k) for k in WEBHOOK_KEYS if k != "signatureSecret"},
         {k: hook[k] for k in WEBHOOK_KEYS if k != "signatureSecret"},
         "the other members are unchanged")
    until = rfc3339_seconds(doc.get("previousSecretExpiresAt") or "1970-01-01T00:00:00Z")
    s.check(t0 + 86400 - 2 <= until <= time.time() + 86400 + 2,
            "default overlap: the previous secret signs for 86400 s",
            doc.get("previousSecretExpiresAt"))
    st, _, got = api.webhooks("GET", "/" + wid)
    s.eq((st, got), (200, {k: doc.get(k) for k in WEBHOOK_KEYS}),
         "GET shows the new secret, exactly the WebHookWithId members")
    st, _, lst = api.webhooks("GET")
    s.check(st == 200 and {k: doc.get(k) for k in WEBHOOK_KEYS} in lst,
            "the list shows the new secret", lst)

    t0 = time.time()
    st, _, doc = api.rotate(wid, {"overlapSeconds": 3600})
    until = rfc3339_seconds((doc or {}).get("previousSecretExpiresAt") or "1970-01-01T00:00:00Z")
    s.check(st == 200 and t0 + 3600 - 2 <= until <= time.time() + 3600 + 2,
            "overlapSeconds 3600: expires in an hour", doc)
    st, _, doc = api.rotate(wid, {"overlapSeconds": 0})
    s.check(st == 200 and doc.get("previousSecretExpiresAt", "missing") is None,
            "overlapSeconds 0: previousSecretExpiresAt is null", doc)
    st, _, doc = api.rotate(wid, {"overlapSeconds": 604800, "other": 1})
    s.eq(st, 200, "overlapSeconds 604800 (the maximum) and an unknown member: 200")
    st, _, doc = api.rotate(wid, "", ctype="application/json")
    s.eq(st, 200, "an empty body with a JSON content type: the default overlap")
    st, _, doc = api.rotate(wid, "", ctype="text/plain")
    s.eq(st, 200, "an empty body with another content type: no body, the default overlap")

    for bad in (-1, 604801, "60", 1.5, 6e1, None, True, [60], 2 ** 70):
        st, hd, doc = api.rotate(wid, {"overlapSeconds": bad})
        s.check(st == 400 and "problem+json" in hd.get("content-type", "") and
                "overlapSeconds" in (doc or {}).get("errors", {}),
                "overlapSeconds %r: 400 problem+json naming overlapSeconds" % (bad,), (st, doc))
    for raw in ('{"overlapSeconds": 60', "[60]", "60", "not json"):
        st, hd, doc = api.rotate(wid, raw)
        s.check(st == 400 and "problem+json" in hd.get("content-type", "") and
                "overlapSeconds" in (doc or {}).get("errors", {}),
                "malformed body %r: 400 naming overlapSeconds" % raw, (st, doc))
    st, _, _ = api.rotate(wid, '{"overlapSeconds": 60}', ctype="text/plain")
    s.eq(st, 415, "a non-JSON content type: 415")

    st, _, _ = api.rotate("ZZZZ9")
    s.eq(st, 404, "unknown webhook id: 404")
    st, _, _ = api.rotate("bad!")
    s.eq(st, 404, "malformed webhook id: 404")
    st, hd, _ = api.webhooks("GET", "/%s/rotate-secret" % wid)
    s.check(st == 405 and hd.get("allow") == "POST", "GET on rotate-secret: 405, Allow: POST",
            (st, hd.get("allow")))
    st, hd, _ = api.rotate(wid, key=ro_key)
    s.check(st == 403 and "insufficient_scope" in hd.get("www-authenticate", ""),
            "a read-only key: 403 insufficient_scope", (st, hd))
    st, _, _ = api.rotate(wid, key=other_key)
    s.eq(st, 403, "another tenant's key: 403")
    st, hd, _ = api.rotate(wid, key=False)
    s.eq(st, 401, "no credentials: 401")
    st, _, got = api.webhooks("GET", "/" + wid)
    before = (got or {}).get("signatureSecret")
    api.rotate(wid, key=ro_key)
    api.rotate(wid, {"overlapSeconds": -5})
    st, _, got = api.webhooks("GET", "/" + wid)
    s.eq(got.get("signatureSecret"), before, "a refused rotation changes nothing")


# ---- the CLI ----

def cli_flow(env, api, rcv):
    hook = api.create(rcv.url + "/cli-flow", events=("Api:*",))
    t0 = time.time()
    r = env.cli("rotate-secret", "--tenant", "acme", "--webhook", hook["id"], "--overlap", "120")
    s.eq(r.returncode, 0, "hookspool rotate-secret exits 0 (%s)" % r.stderr)
    doc = h.as_json(r.stdout) or {}
    s.eq(list(doc.keys()), WEBHOOK_KEYS + ["previousSecretExpiresAt"],
         "rotate-secret prints the webhook JSON as the API answers it")
    until = rfc3339_seconds(doc.get("previousSecretExpiresAt") or "1970-01-01T00:00:00Z")
    s.check(t0 + 118 <= until <= time.time() + 122, "--overlap 120: expires in two minutes",
            doc.get("previousSecretExpiresAt"))
    st, _, got = api.webhooks("GET", "/" + hook["id"])
    s.check(doc.get("signatureSecret") not in (None, hook["signatureSecret"]) and
            got.get("signatureSecret") == doc.get("signatureSecret"),
            "the API serves the secret the CLI printed")
    r = env.cli("rotate-secret", "--tenant", "acme", "--webhook", hook["id"])
    doc = h.as_json(r.stdout) or {}
    until = rfc3339_seconds(doc.get("previousSecretExpiresAt") or "1970-01-01T00:00:00Z")
    s.check(r.returncode == 0 and abs(until - time.time() - 86400) < 3,
            "no --overlap: 86400 s", r.stdout)
    r = env.cli("rotate-secret", "--tenant", "acme", "--webhook", hook["id"], "--overlap", "0")
    s.check(r.returncode == 0 and (h.as_json(r.stdout) or {}).get("previousSecretExpiresAt", 1)
            is None, "--overlap 0: previousSecretExpiresAt null", r.stdout)
    r = env.cli("rotate-secret", "--help")
    s.check(r.returncode == 0 and "usage: hookspool rotate-secret" in r.stdout,
            "rotate-secret --help: usage on stdout, exit 0")
    for args, what in ((["--tenant", "acme"], "no --webhook"),
                       (["--webhook", hook["id"]], "no --tenant"),
                       (["--tenant", "acme", "--webhook", hook["id"], "--overlap", "-1"],
                        "--overlap -1"),
                       (["--tenant", "acme", "--webhook", hook["id"], "--overlap", "604801"],
                        "--overlap 604801"),
                       (["--tenant", "acme", "--webhook", hook["id"], "--overlap", "1h"],
                        "--overlap 1h"),
                       (["--tenant", "acme", "--webhook", "bad!"], "a malformed id"),
                       (["--tenant", "acme", "--webhook", hook["id"], "--bogus"],
                        "an unknown option")):
        r = env.cli("rotate-secret", *args)
        s.check(r.returncode == 2 and r.stderr and not r.stdout,
                "rotate-secret with %s: exit 2, error on stderr" % what, (r.returncode, r.stderr))
    r = env.cli("rotate-secret", "--tenant", "acme", "--webhook", "ZZZZ9")
    s.check(r.returncode == 1 and "ZZZZ9" in r.stderr and not r.stdout,
            "an unknown webhook: exit 1, said on stderr", (r.returncode, r.stderr))
    r = env.cli("rotate-secret", "--tenant", "other", "--webhook", hook["id"])
    s.eq(r.returncode, 1, "another tenant's webhook id: exit 1 (tenants are separate)")


# ---- the sender ----

def check_signed(env, reqs, good, bad, what, previous_expected):
    """Every request verifies with each secret of good, with none of bad, by both checks."""
    for secret, label in good:
        s.eq([receiver_accepts(secret, r) for r in reqs], [True] * len(reqs),
             "%s: a receiver holding only the %s secret verifies every delivery" % (what, label))
        s.eq(standard_verdicts(env, secret, reqs), ["ok"] * len(reqs),
             "%s: standardwebhooks with only the %s secret verifies every delivery"
             % (what, label))
    for secret, label in bad:
        s.eq([receiver_accepts(secret, r) for r in reqs], [False] * len(reqs),
             "%s: a receiver holding only the %s secret verifies none" % (what, label))
        s.eq(standard_verdicts(env, secret, reqs), ["No matching signature found"] * len(reqs),
             "%s: standardwebhooks with only the %s secret verifies none" % (what, label))
    s.eq([("x-neostore-signature-previous" in r["headers"]) for r in reqs],
         [previous_expected] * len(reqs),
         "%s: X-NEOSTORE-SIGNATURE-PREVIOUS %s" % (what, "present" if previous_expected
                                                   else "absent"))
    s.eq([len(r["headers"].get("webhook-signature", "").split(" ")) for r in reqs],
         [2 if previous_expected else 1] * len(reqs),
         "%s: webhook-signature carries %d v1 signature(s)" % (what, 2 if previous_expected else 1))


def overlap_flow(env, api, rcv):
    hook = api.create(rcv.url + "/overlap")
    wid, old = hook["id"], hook["signatureSecret"]
    path = "/overlap"

    reqs = delivered(rcv, path, emit(env, "Rot:Before"))
    s.eq(len(reqs), 1, "before rotation: the event was delivered")
    check_signed(env, reqs, [(old, "current")], [], "before rotation", False)
    if reqs:
        hd = reqs[0]["headers"]
        s.eq(hd.get("webhook-id"), hd.get("x-neostore-delivery"), "webhook-id is the delivery id")
        s.check(abs(int(hd.get("webhook-timestamp", "0")) - reqs[0]["time"]) <= 2,
                "webhook-timestamp is the attempt's time in Unix seconds", hd.get("webhook-timestamp"))

    # A short overlap, so that its end can be awaited.
    st, _, doc = api.rotate(wid, {"overlapSeconds": 12})
    s.eq(st, 200, "rotate with overlapSeconds 12")
    new = (doc or {}).get("signatureSecret", "")
    until = rfc3339_seconds((doc or {}).get("previousSecretExpiresAt") or "1970-01-01T00:00:00Z")
    reqs = delivered(rcv, path, emit(env, "Rot:During", 3))
    s.eq(len(reqs), 3, "during the overlap: every event was delivered")
    in_overlap = [r for r in reqs if int(r["headers"].get("webhook-timestamp", "0")) < until]
    s.eq(len(in_overlap), len(reqs), "(the deliveries were made inside the overlap)")
    check_signed(env, in_overlap, [(old, "old"), (new, "new")], [], "during the overlap", True)
    s.eq([hmac_valid(new, r["body"], r["headers"].get("x-neostore-signature")) and
          hmac_valid(old, r["body"], r["headers"].get("x-neostore-signature-previous"))
          for r in reqs], [True] * len(reqs),
         "during the overlap: X-NEOSTORE-SIGNATURE is the new secret's, -PREVIOUS the old one's")

    # After the overlap: wait until previousSecretExpiresAt has passed, then deliver.
    h.wait_for(lambda: time.time() >= until + 0.2, 30)
    reqs = delivered(rcv, path, emit(env, "Rot:After", 2))
    s.eq(len(reqs), 2, "after the overlap: the events were delivered")
    check_signed(env, reqs, [(new, "new")], [(old, "old")], "after the overlap", False)


def zero_and_second_flow(env, api, rcv):
    hook = api.create(rcv.url + "/zero")
    st, _, doc = api.rotate(hook["id"], {"overlapSeconds": 0})
    new = (doc or {}).get("signatureSecret", "")
    reqs = delivered(rcv, "/zero", emit(env, "Rot:Zero", 2))
    s.eq(len(reqs), 2, "overlapSeconds 0: the events were delivered")
    check_signed(env, reqs, [(new, "new")], [(hook["signatureSecret"], "old")],
                 "overlapSeconds 0", False)

    hook = api.create(rcv.url + "/twice")
    s1 = hook["signatureSecret"]
    _, _, d2 = api.rotate(hook["id"], {"overlapSeconds": 3600})
    _, _, d3 = api.rotate(hook["id"], {"overlapSeconds": 3600})
    s2, s3 = (d2 or {}).get("signatureSecret", ""), (d3 or {}).get("signatureSecret", "")
    reqs = delivered(rcv, "/twice", emit(env, "Rot:Twice", 2))
    s.eq(len(reqs), 2, "second rotation: the events were delivered")
    check_signed(env, reqs, [(s3, "newest"), (s2, "second")], [(s1, "first")],
                 "a second rotation during the overlap", True)
    s.eq([hmac_valid(s3, r["body"], r["headers"].get("x-neostore-signature")) for r in reqs],
         [True] * len(reqs), "second rotation: X-NEOSTORE-SIGNATURE is the newest secret's")


def queued_flow(env, api, rcv):
    """Deliveries that wait in their destination's queue when the secret is rotated are
    signed with the new secret once they start, not with the one read at fan-out."""
    hook = api.create(rcv.url + "/slow/queued")
    ids = emit(env, "Rot:Queued", 24)      # one connection, 0.3 s each: about 7 s of work
    h.wait_for(lambda: len(rcv.on("/slow/queued")) >= 3, 20)
    st, _, doc = api.rotate(hook["id"], {"overlapSeconds": 0})
    rotated_at = time.time()
    new = (doc or {}).get("signatureSecret", "")
    reqs = delivered(rcv, "/slow/queued", ids, timeout=40)
    s.eq(len(reqs), 24, "queued: every event was delivered")
    # The attempt starts before the request arrives; 2.5 s leaves the sender's 1 s
    # freshness bound and the receiver's 0.3 s pause well behind.
    late = [r for r in reqs if r["time"] >= rotated_at + 2.5]
    s.check(len(late) >= 5, "queued: deliveries were still waiting after the rotation",
            len(late))
    s.eq([hmac_valid(new, r["body"], r["headers"].get("x-neostore-signature")) for r in late],
         [True] * len(late), "queued: those that started after the rotation use the new secret")


def standard_off_flow(env, api, rcv, sender):
    hook = api.create(rcv.url + "/off")
    env.write_conf(standard_webhooks="no")
    log_before = sender.text().count("reloaded")
    sender.proc.send_signal(signal.SIGHUP)
    s.check(h.wait_for(lambda: sender.text().count("reloaded") > log_before, 10),
            "the sender reloads its configuration on SIGHUP")
    reqs = delivered(rcv, "/off", emit(env, "Rot:Off"))
    s.eq(len(reqs), 1, "standard_webhooks = no: the event was delivered")
    s.eq([sorted(k for k in r["headers"] if k.startswith("webhook-")) for r in reqs], [[]],
         "standard_webhooks = no: no webhook-id, webhook-timestamp or webhook-signature")
    s.check(all(hmac_valid(hook["signatureSecret"], r["body"],
                           r["headers"].get("x-neostore-signature")) for r in reqs),
            "standard_webhooks = no: X-NEOSTORE-SIGNATURE as ever")
    env.write_conf(standard_webhooks="yes")
    sender.proc.send_signal(signal.SIGHUP)


have_node = s.check(shutil.which("node") is not None and
                    os.path.isdir(os.path.join(h.SRC, "tests", "receivers", "node_modules",
                                               "standardwebhooks")),
                    "node and the standardwebhooks package are installed "
                    "(tests/deps.d/receivers.sh)")
env = h.Env("rotation", allow_private_targets="yes", retry_schedule="1h",
            max_connections_per_host="1")
srv = rcv = sender = None
try:
    srv = h.lighttpd(env)
    rcv = Receiver()
    api = Api(srv.url, env.apikey("acme"))
    ro_key = env.apikey("acme", scopes="Webhook.Read")
    other_key = env.apikey("other")
    api_flow(api, ro_key, other_key, rcv)
    cli_flow(env, api, rcv)
    if have_node:
        sender = h.Sender(env)
        overlap_flow(env, api, rcv)
        zero_and_second_flow(env, api, rcv)
        queued_flow(env, api, rcv)
        standard_off_flow(env, api, rcv, sender)
        s.check("signatureSecret" not in sender.text() and
                not re.search(r"[A-Za-z0-9]{64}", sender.text()),
                "no secret in the sender's log")
finally:
    for thing in (sender, rcv, srv):
        if thing:
            thing.stop()
    env.cleanup()
s.done()
