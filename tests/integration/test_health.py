"""Endpoint health (SPEC 4.1) with a real sender, real receivers on 127.0.0.1 and the
API behind lighttpd: 410 Gone disables a webhook at once (and the API's PATCH enables it
again, without the sender's members); Retry-After in seconds and as an HTTP date is never
undercut and is bounded to one hour past the schedule; 429/503 reduce the destination's
concurrency; auto-disable after disable_after_days (fractional here) of nothing but
failures, across a sender restart, publishing Webhook:Disabled to the tenant's other
webhooks; the metrics file parsed by a strict Prometheus text-format parser, with values
that match what happened; the store's full-disk condition in the metrics file and in
`hookspool queue`; `hookspool queue` on a known spool."""

import calendar
import email.utils
import json
import math
import os
import re
import subprocess
import time

import harness as h
from test_sender import Api, emit, listdir
from harness import Sender, stop_all, wait_for

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class Receiver(h.Receiver):
    """Records every request once answered (harness.Receiver); answers by the path's first
    segment: /ok 200, /gone 410, /fail 500, /ra-secs 503 with Retry-After: 3 the first time
    then 200, /ra-date 429 with Retry-After as an HTTP date 4 s ahead the first time then
    200, /ra-long 503 with Retry-After: 7200, /busy 429 the first time, then 200 after 0.3 s
    (holding the connection, so that how many the sender has in flight shows in each
    entry's "inflight"). Each entry also keeps the Unix time its Retry-After named
    ("retry_at")."""

    record_answered = True

    def answer(self, entry, seen):
        kind = entry["path"].split("/")[1]
        status, extra, retry_at = 200, {}, None
        now = time.time()
        if kind == "gone":
            status = 410
        elif kind == "fail":
            status = 500
        elif kind == "ra-secs" and seen == 0:
            status, extra, retry_at = 503, {"Retry-After": "3"}, now + 3
        elif kind == "ra-date" and seen == 0:
            at = math.ceil(now) + 4
            status, retry_at = 429, at
            extra = {"Retry-After": email.utils.formatdate(at, usegmt=True)}
        elif kind == "ra-long":
            status, extra, retry_at = 503, {"Retry-After": "7200"}, now + 7200
        elif kind == "busy" and seen == 0:
            status = 429
        elif kind == "busy":
            time.sleep(0.3)
        entry["retry_at"] = retry_at
        return status, extra, b"ok"


# ---- a strict reader of the Prometheus text format (version 0.0.4) ----

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(text):
    if text in ("NaN", "+Inf", "-Inf"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError("bad sample value %r" % text)
    return float(text)


def parse_labels(text, pos):
    """Parses {name="value",...} from text[pos] == '{'; returns (labels, next position)."""
    labels = {}
    pos += 1
    while True:
        if text[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME.match(text, pos)
        if not m:
            raise ValueError("bad label name at %r" % text[pos:])
        name = m.group(0)
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ValueError("label %s: expected =\"" % name)
        pos += 2
        value = []
        while text[pos] != '"':
            if text[pos] == "\\":
                esc = text[pos + 1]
                if esc not in ('\\', '"', 'n'):
                    raise ValueError("bad escape \\%s" % esc)
                value.append("\n" if esc == "n" else esc)
                pos += 2
            elif text[pos] == "\n":
                raise ValueError("newline in a label value")
            else:
                value.append(text[pos])
                pos += 1
        pos += 1
        if name in labels:
            raise ValueError("label %s twice" % name)
        labels[name] = "".join(value)
        if text[pos] == ",":
            pos += 1
        elif text[pos] != "}":
            raise ValueError("expected , or } after label %s" % name)


def parse_prometheus(text):
    """Returns {(name, frozenset(labels.items())): value} and {name: type}; raises
    ValueError on anything the text format does not allow: a bad name, label or value, a
    TYPE after its samples or twice, a family's samples not together, a series twice, a
    missing final newline."""
    if not text.endswith("\n"):
        raise ValueError("the file does not end with a newline")
    samples, types, helps, seen_family, done_families = {}, {}, set(), None, set()
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise ValueError("bad metric name %r" % name)
                if parts[1] == "TYPE":
                    if name in types or name in done_families or name == seen_family:
                        raise ValueError("TYPE %s twice or after its samples" % name)
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ValueError("bad TYPE line %r" % line)
                    types[name] = parts[3]
                else:
                    if name in helps:
                        raise ValueError("HELP %s twice" % name)
                    helps.add(name)
            continue
        if line.strip() == "":
            continue
        m = METRIC_NAME.match(line)
        if not m:
            raise ValueError("bad sample line %r" % line)
        name, pos, labels = m.group(0), m.end(), {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = parse_labels(line + "\n", pos)
        if pos >= len(line) or line[pos] != " ":
            raise ValueError("expected a space before the value in %r" % line)
        fields = line[pos + 1:].split(" ")
        if len(fields) not in (1, 2):
            raise ValueError("bad value or timestamp in %r" % line)
        value = parse_value(fields[0])
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise ValueError("bad timestamp in %r" % line)
        if name != seen_family:
            if name in done_families:
                raise ValueError("samples of %s are not together" % name)
            if seen_family is not None:
                done_families.add(seen_family)
            seen_family = name
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise ValueError("series %r twice" % (key,))
        if types.get(name) == "counter" and value < 0:
            raise ValueError("counter %s is negative" % name)
        samples[key] = value
    return samples, types


class Metrics:
    """The sender's metrics file, read and parsed."""

    def __init__(self, path):
        self.path = path

    def read(self):
        try:
            with open(self.path) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        return parse_prometheus(text)[0]

    @staticmethod
    def get(samples, name, **labels):
        return samples.get((name, frozenset(labels.items())))

    def wait(self, cond, timeout=20):
        """Waits for a file whose samples satisfy cond (the file is rewritten every 5 s)."""
        last = [None]

        def ok():
            last[0] = self.read()
            return last[0] is not None and cond(last[0])
        wait_for(ok, timeout, step=0.25)
        return last[0]


def deliveries_of(env, wid):
    r = env.cli("deliveries", "--tenant", "acme", "--webhook", wid, "--json")
    return r.stdout.splitlines() if r.returncode == 0 else []


def api_get(api, wid):
    st, _, doc = api.webhooks("GET", "/" + wid)
    return st, doc


def gone_flow(s):
    """410: disabled at once, its queued deliveries dropped, nothing more sent; the API
    shows why; PATCH enabled true clears it; the metrics count it."""
    rcv = Receiver()
    env = h.Env("health-gone", allow_private_targets="yes", retry_schedule="1s,1s,1s",
                max_connections_per_host="1", log_level="debug")
    srv = sender = None
    try:
        srv = h.lighttpd(env, procs=1)
        api = Api(srv, env, "acme")
        gone = api.create(rcv.url + "/gone/a", ["Pass:*"])
        ok = api.create(rcv.url + "/ok/b", ["Pass:*"])
        env.spool_dirs()
        # Five events claimed together: one destination, one connection at a time.
        for i in range(5):
            emit(env, "acme", "Pass:Created", {"n": i})
        sender = Sender(env)
        s.check(wait_for(lambda: len(rcv.on("/ok/b")) >= 5, 20),
                "410: the other webhook on the same destination gets all 5 events")
        s.eq(len(rcv.on("/gone/a")), 1, "410: the gone endpoint got exactly one request")
        st, doc = api_get(api, gone["id"])
        s.eq((st, doc.get("enabled")), (200, False), "410: the webhook is disabled (API)")
        s.check("410" in (doc.get("disabledReason") or ""), "410: disabledReason says why",
                doc)
        s.check(RFC3339.match(doc.get("disabledAt") or ""), "410: disabledAt is RFC 3339", doc)
        s.eq(set(doc) - {"disabledReason", "disabledAt"},
             {"id", "description", "events", "endpoint", "enabled", "signatureSecret"},
             "410: the other members are the usual ones")
        st, _, lst = api.webhooks("GET", "")
        s.check(any(w["id"] == gone["id"] and w.get("disabledReason") for w in lst),
                "410: the list shows disabledReason too")
        s.eq(api_get(api, ok["id"])[1].get("enabled"), True, "410: the other webhook stays")
        s.check(wait_for(lambda: listdir(os.path.join(env.spool, "deferred")) == [], 5),
                "410: no retry is scheduled", listdir(os.path.join(env.spool, "deferred")))
        log = sender.text()
        s.check(re.search(r"webhook %s \(tenant acme\): disabled: the endpoint answered 410"
                          % gone["id"], log), "410: logged with the reason")
        # More events: still nothing for it (a receipt on the other webhook is the condition).
        emit(env, "acme", "Pass:Created", {"n": 5})
        s.check(wait_for(lambda: len(rcv.on("/ok/b")) >= 6, 10), "410: later events flow")
        s.eq(len(rcv.on("/gone/a")), 1, "410: nothing more is sent to it")
        metrics = Metrics(os.path.join(env.spool, "metrics.prom"))
        m = metrics.wait(lambda m: Metrics.get(m, "hookspool_deliveries_total",
                                               outcome="succeeded") == 6)
        s.check(m is not None, "metrics: the file parses")
        if m:
            s.eq(Metrics.get(m, "hookspool_webhooks_disabled_total", reason="gone"), 1,
                 "metrics: one webhook disabled for 410")
            s.eq(Metrics.get(m, "hookspool_webhooks", state="disabled"), 1,
                 "metrics: one disabled webhook in the store")
            s.eq(Metrics.get(m, "hookspool_webhooks", state="enabled"), 1,
                 "metrics: one enabled webhook in the store")
            s.eq(Metrics.get(m, "hookspool_attempts_total", result="success"), 6,
                 "metrics: 6 successful attempts")
            s.eq(Metrics.get(m, "hookspool_attempts_total", result="failure"), 1,
                 "metrics: 1 failed attempt (the 410)")
            # The 410's own delivery, and those queued behind it when it came (events
            # claimed after it are not fanned out to a disabled webhook at all).
            dropped = Metrics.get(m, "hookspool_deliveries_total", outcome="dropped")
            s.check(dropped is not None and 1 <= dropped <= 5,
                    "metrics: the gone webhook's deliveries counted as dropped", dropped)
            dest = "http://127.0.0.1:%d" % rcv.port
            s.eq(Metrics.get(m, "hookspool_destination_in_flight", destination=dest), 0,
                 "metrics: nothing in flight to the receiver")
            s.eq(Metrics.get(m, "hookspool_queue_files", state="new"), 0,
                 "metrics: new/ is empty")
        # Enabled again through the API: the sender's members go.
        st, _, doc = api.webhooks("PATCH", "/" + gone["id"], {"enabled": True},
                                 "application/merge-patch+json")
        s.eq((st, doc.get("enabled"), "disabledReason" in doc, "disabledAt" in doc),
             (200, True, False, False), "PATCH enabled true: enabled, members removed")
        st, doc = api_get(api, gone["id"])
        s.eq(("disabledReason" in doc, "disabledAt" in doc), (False, False),
             "GET after re-enabling: no disabledReason, no disabledAt")
        emit(env, "acme", "Pass:Created", {"n": 6})
        s.check(wait_for(lambda: len(rcv.on("/gone/a")) >= 2, 10),
                "re-enabled: it gets deliveries again")
        s.check(wait_for(lambda: api_get(api, gone["id"])[1].get("enabled") is False, 10),
                "re-enabled: the next 410 disables it again")
        s.eq(sender.stop(), 0, "410: the sender exits 0")
    finally:
        stop_all(sender, srv, rcv)
    return env


def retry_after_flow(s):
    """Retry-After in seconds and as an HTTP date: the next attempt is never earlier than
    the header said; a long one is bounded to 1 h past the schedule; 429/503 halve the
    destination's concurrency."""
    rcv = Receiver()
    env = h.Env("health-ra", allow_private_targets="yes", retry_schedule="1s,1s,1s",
                log_level="debug")
    srv = sender = None
    try:
        srv = h.lighttpd(env, procs=1)
        api = Api(srv, env, "acme")
        api.create(rcv.url + "/ra-secs/x", ["Secs:*"])
        api.create(rcv.url + "/ra-date/x", ["Date:*"])
        long_hook = api.create(rcv.url + "/ra-long/x", ["Long:*"])
        env.spool_dirs()
        sender = Sender(env)
        emit(env, "acme", "Secs:Created")
        emit(env, "acme", "Date:Created")
        long_event = emit(env, "acme", "Long:Created")
        for path, what in (("/ra-secs/x", "seconds"), ("/ra-date/x", "HTTP date")):
            s.check(wait_for(lambda: len(rcv.on(path)) >= 2, 20),
                    "Retry-After (%s): the delivery is tried again and succeeds" % what)
            reqs = rcv.on(path)
            if len(reqs) >= 2:
                first, second = reqs[0], reqs[1]
                s.check(second["time"] >= first["retry_at"],
                        "Retry-After (%s): the second attempt is not earlier than it said"
                        % what, "second at %.3f, Retry-After named %.3f"
                        % (second["time"], first["retry_at"]))
                s.eq(second["headers"].get("x-neostore-attempt"), "2",
                     "Retry-After (%s): it is attempt 2" % what)
                s.eq(second["headers"].get("x-neostore-delivery"),
                     first["headers"].get("x-neostore-delivery"),
                     "Retry-After (%s): same delivery id" % what)
        # Retry-After: 7200 with a 1 s schedule: the record waits 1 h past the schedule.
        s.check(wait_for(lambda: len(rcv.on("/ra-long/x")) >= 1, 10), "Retry-After 7200: tried")
        deferred = os.path.join(env.spool, "deferred")
        rec = []
        s.check(wait_for(lambda: [n for n in listdir(deferred) if n.startswith("dlv-")], 10),
                "Retry-After 7200: a retry record in deferred/")
        rec = [n for n in listdir(deferred) if n.startswith("dlv-")]
        if rec and rcv.on("/ra-long/x"):
            due = os.stat(os.path.join(deferred, rec[0])).st_mtime
            answered = rcv.on("/ra-long/x")[0]["answered"]
            # The schedule says 1 s (plus up to 1 s of jitter, rounded up); 1 h more at most.
            s.check(answered + 3600 <= due <= answered + 3600 + 4,
                    "Retry-After 7200: due 1 h past the schedule, not 2 h",
                    "due in %.1f s" % (due - answered))
        log = sender.text()
        s.check(re.search(r"destination http://127\.0\.0\.1:%d: HTTP (429|503): at most 4 "
                          r"attempts in flight now \(was 8\)" % rcv.port, log),
                "429/503: the destination's concurrency is halved (logged)")
        metrics = Metrics(os.path.join(env.spool, "metrics.prom"))
        m = metrics.wait(lambda m: (Metrics.get(m, "hookspool_throttle_answers_total") or 0) >= 3
                         and Metrics.get(m, "hookspool_deliveries_total",
                                         outcome="succeeded") == 2)
        s.check(m and Metrics.get(m, "hookspool_throttle_answers_total") == 3,
                "metrics: three 429/503 answers counted", m and
                Metrics.get(m, "hookspool_throttle_answers_total"))
        if m:
            s.eq(Metrics.get(m, "hookspool_queue_files", state="deferred"), 1,
                 "metrics: one record in deferred/ (the 7200 one)")
            age = Metrics.get(m, "hookspool_queue_oldest_age_seconds", state="deferred")
            s.check(age is not None and 0 <= age < 60, "metrics: its age in deferred/", age)
        s.eq(sender.stop(), 0, "Retry-After: the sender exits 0")
        sender = None
        # hookspool queue shows the record under its destination.
        r = env.cli("queue", "--json")
        s.check(r.returncode == 0, "queue --json: exit 0", r.stderr)
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        dests = {d["destination"]: d for d in doc.get("destinations", [])}
        d = dests.get("http://127.0.0.1:%d" % rcv.port, {})
        s.eq((d.get("deferred"), d.get("parked"), d.get("failed")), (1, 0, 0),
             "queue --json: the receiver's destination has the deferred record")
        _ = long_hook, long_event
    finally:
        stop_all(sender, srv, rcv)
    return env


def concurrency_flow(s):
    """A 429 halves the destination's concurrency (8 to 4): the next wave of deliveries
    has at most 4 in flight until successes raise it again, and then more."""
    rcv = Receiver()
    env = h.Env("health-conc", allow_private_targets="yes", retry_schedule="1h",
                max_connections_per_host="8")
    srv = sender = None
    try:
        srv = h.lighttpd(env, procs=1)
        api = Api(srv, env, "acme")
        api.create(rcv.url + "/busy/x", ["Pass:*"])
        env.spool_dirs()
        sender = Sender(env)
        emit(env, "acme", "Pass:Created", {"first": True})
        s.check(wait_for(lambda: len(rcv.on("/busy/x")) >= 1, 10), "concurrency: a first 429")
        dest = "http://127.0.0.1:%d" % rcv.port
        metrics = Metrics(os.path.join(env.spool, "metrics.prom"))
        m = metrics.wait(lambda m: Metrics.get(m, "hookspool_destination_concurrency",
                                               destination=dest) == 4)
        s.check(m is not None, "concurrency: the metrics file shows 4 after the 429")
        # The wave lands at once (no CLI start-up between events).
        names = []
        for i in range(40):
            name = "wave-%02d.json" % i
            with open(os.path.join(env.spool, "tmp", name), "w") as f:
                json.dump({"eventType": "Pass:Created", "tenantId": "acme", "data": {"n": i}}, f)
            names.append(name)
        for name in names:
            os.rename(os.path.join(env.spool, "tmp", name), os.path.join(env.spool, "new", name))
        s.check(wait_for(lambda: len(rcv.on("/busy/x")) >= 41, 60),
                "concurrency: the 40 deliveries arrive")
        wave = rcv.on("/busy/x")[1:]
        first_done = min((r["answered"] for r in wave), default=0)
        # Before the first success was even answered, the sender could not have raised it.
        early = [r["inflight"] for r in wave if r["time"] < first_done]
        s.check(len(early) >= 1 and max(early) == 4,
                "concurrency: 4 in flight, no more, until a success", early)
        s.check(max(r["inflight"] for r in wave) > 4,
                "concurrency: successes raise it again",
                max(r["inflight"] for r in wave))
        s.eq(sender.stop(), 0, "concurrency: the sender exits 0")
        sender = None
    finally:
        stop_all(sender, srv, rcv)
    return env


def autodisable_flow(s):
    """A webhook that fails every attempt for disable_after_days (0.0001 d = 8.64 s here)
    with at least 10 failures is disabled, across a sender restart (the streak is in the
    store), and Webhook:Disabled reaches the tenant's other webhook subscribed to it."""
    rcv = Receiver()
    env = h.Env("health-auto", allow_private_targets="yes", retry_schedule="12s,1s,1s,1s",
                disable_after_days="0.0001", log_level="debug")
    srv = sender = None
    try:
        srv = h.lighttpd(env, procs=1)
        api = Api(srv, env, "acme")
        bad = api.create(rcv.url + "/fail/x", ["Pass:*"])
        watcher = api.create(rcv.url + "/ok/watch", ["Webhook:*"])
        other = Api(srv, env, "other").create(rcv.url + "/ok/other", ["*"])
        env.spool_dirs()
        for i in range(10):
            emit(env, "acme", "Pass:Created", {"n": i})
        sender = Sender(env)
        s.check(wait_for(lambda: len(rcv.on("/fail/x")) >= 10, 20),
                "auto-disable: 10 first attempts fail")
        first_failure = min(r["time"] for r in rcv.on("/fail/x"))
        # Their records are written once they are in the delivery log: then restart.
        deferred = os.path.join(env.spool, "deferred")
        s.check(wait_for(lambda: len([n for n in listdir(deferred) if n.startswith("dlv-")])
                         == 10, 10), "auto-disable: 10 retries scheduled")
        s.eq(sender.stop(), 0, "auto-disable: the first sender exits 0")
        s.eq(rcv.on("/ok/watch"), [], "auto-disable: nothing announced before the threshold")
        s.eq(api_get(api, bad["id"])[1].get("enabled"), True,
             "auto-disable: still enabled before the threshold")
        # A new sender sees only the retries, 12 s later; the streak it continues is 12 s long.
        sender = Sender(env)
        s.check(wait_for(lambda: len(rcv.on("/ok/watch")) >= 1, 40),
                "auto-disable: the tenant's other webhook gets Webhook:Disabled")
        ev = json.loads(rcv.on("/ok/watch")[0]["body"]) if rcv.on("/ok/watch") else {}
        data = ev.get("data", {})
        s.eq((ev.get("eventType"), ev.get("tenantId"), data.get("webhookId")),
             ("Webhook:Disabled", "acme", bad["id"]), "Webhook:Disabled: type, tenant, webhook")
        s.eq(sorted(data), ["failingSince", "reason", "webhookId"],
             "Webhook:Disabled: data has webhookId, reason, failingSince")
        since = data.get("failingSince", "")
        s.check(RFC3339.match(since), "Webhook:Disabled: failingSince is RFC 3339", since)
        if RFC3339.match(since):
            t = calendar.timegm(time.strptime(since[:19], "%Y-%m-%dT%H:%M:%S"))
            s.check(first_failure - 5 <= t <= first_failure + 1,
                    "Webhook:Disabled: failingSince is the first failure, before the restart",
                    "%s vs first failure at %.3f" % (since, first_failure))
        s.check("failed" in data.get("reason", ""), "Webhook:Disabled: reason", data)
        st, doc = api_get(api, bad["id"])
        s.eq(doc.get("enabled"), False, "auto-disable: the webhook is disabled (API)")
        s.check("failed" in (doc.get("disabledReason") or "") and
                RFC3339.match(doc.get("disabledAt") or ""),
                "auto-disable: disabledReason and disabledAt", doc)
        s.eq(api_get(api, watcher["id"])[1].get("enabled"), True, "the watcher stays enabled")
        s.eq(rcv.on("/ok/other"), [], "Webhook:Disabled: not for another tenant")
        # The rest of its deliveries stop: deferred/ drains with no request.
        s.check(wait_for(lambda: listdir(deferred) == [], 20),
                "auto-disable: its pending deliveries stop", listdir(deferred))
        count = len(rcv.on("/fail/x"))
        emit(env, "acme", "Webhook:Ping", {"n": 1})     # to the watcher only
        s.check(wait_for(lambda: len(rcv.on("/ok/watch")) >= 2, 10), "later events flow")
        s.eq(len(rcv.on("/fail/x")), count, "auto-disable: nothing more is sent to it")
        s.eq(len([r for r in rcv.on("/ok/watch")
                  if json.loads(r["body"])["eventType"] == "Webhook:Disabled"]), 1,
             "Webhook:Disabled: published once")
        log = sender.text()
        s.check(re.search(r"webhook %s \(tenant acme\): disabled: every attempt failed since"
                          % bad["id"], log), "auto-disable: logged with the reason")
        metrics = Metrics(os.path.join(env.spool, "metrics.prom"))
        m = metrics.wait(lambda m: Metrics.get(m, "hookspool_webhooks_disabled_total",
                                               reason="failing") == 1)
        s.check(m is not None, "metrics: the auto-disable is counted")
        s.eq(sender.stop(), 0, "auto-disable: the second sender exits 0")
        sender = None
        # Enabled again, its old streak is forgotten: one failure does not disable it.
        s.eq(api.patch(bad["id"], {"enabled": True}), 200, "re-enable the webhook")
        logged = len(deliveries_of(env, bad["id"]))
        sender = Sender(env)
        emit(env, "acme", "Pass:Created", {"n": 99})
        s.check(wait_for(lambda: len(deliveries_of(env, bad["id"])) > logged, 10),
                "re-enabled: tried again, and the failure recorded")
        s.eq(api_get(api, bad["id"])[1].get("enabled"), True,
             "re-enabled: one failure does not disable it again")
        _ = other
    finally:
        stop_all(sender, srv, rcv)
    return env


def never_flow(s):
    """disable_after_days = 0: never; and the key's bad values are refused at start."""
    env = h.Env("health-never", disable_after_days="0")
    try:
        r = env.cli("queue")
        s.check(r.returncode == 0, "disable_after_days = 0 is accepted", r.stderr)
        for bad in ("-1", "abc", "1e9", "nan", "5d"):
            env.write_conf(disable_after_days=bad)
            r = env.cli("queue")
            s.check(r.returncode == 1 and "disable_after_days" in r.stderr and
                    "hookspool.conf:" in r.stderr,
                    "disable_after_days = %s: refused with file and line" % bad, r.stderr)
        env.write_conf(disable_after_days="2.5")
        s.eq(env.cli("queue").returncode, 0, "disable_after_days = 2.5 is accepted")
    finally:
        pass
    return env


def write_event(path, tenant="acme", etype="Pass:Created", mtime=None):
    with open(path, "w") as f:
        json.dump({"eventType": etype, "tenantId": tenant, "data": {}}, f)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def queue_flow(s):
    """hookspool queue on a known spool: counts by state and destination, ages, --json,
    --help, usage and configuration errors."""
    rcv = Receiver()
    env = h.Env("health-queue", allow_private_targets="yes", retry_schedule="1h,1h")
    srv = sender = None
    try:
        srv = h.lighttpd(env, procs=1)
        api = Api(srv, env, "acme")
        api.create(rcv.url + "/fail/q", ["Pass:*"])
        env.spool_dirs()
        for i in range(3):
            emit(env, "acme", "Pass:Created", {"n": i})
        with open(os.path.join(env.spool, "new", "broken.json"), "w") as f:
            f.write("not json")
        sender = Sender(env)
        deferred, failed = (os.path.join(env.spool, d) for d in ("deferred", "failed"))
        s.check(wait_for(lambda: len(listdir(deferred)) == 3 and len(listdir(failed)) == 2,
                         20), "queue: 3 retry records and a dead letter made by the sender",
                (listdir(deferred), listdir(failed)))
        s.eq(sender.stop(), 0, "queue: the sender exits 0")
        sender = None
        now = time.time()
        write_event(os.path.join(env.spool, "new", "e1.json"), mtime=now - 300)
        write_event(os.path.join(env.spool, "new", "e2.json"), mtime=now - 10)
        write_event(os.path.join(deferred, "parked-event.json"))
        r = env.cli("queue", "--json")
        s.check(r.returncode == 0, "queue --json: exit 0", r.stderr)
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        states = doc.get("states", {})
        s.eq({k: v["files"] for k, v in states.items()},
             {"new": 2, "active": 0, "deferred": 3, "parked": 1, "failed": 1},
             "queue --json: files by state")
        s.check(300 <= states.get("new", {}).get("oldestSeconds", 0) < 330,
                "queue --json: the oldest in new/ is 5 minutes old", states.get("new"))
        dest = "http://127.0.0.1:%d" % rcv.port
        s.eq([(d["destination"], d["deferred"], d["parked"], d["failed"])
              for d in doc.get("destinations", [])], [(dest, 3, 0, 0)],
             "queue --json: the deferred records under their destination")
        s.eq(doc.get("store", {}).get("writesRefused"), False, "queue --json: the store writes")
        r = env.cli("queue")
        s.check(r.returncode == 0, "queue: exit 0", r.stderr)
        lines = r.stdout.splitlines()
        s.check(lines and lines[0].split() == ["STATE", "FILES", "OLDEST"], "queue: header",
                r.stdout)
        s.check(any(l.split()[:3] == ["new", "2", "5m"] for l in lines if l.strip()),
                "queue: new 2 5m", r.stdout)
        s.check(any(l.split()[:2] == ["parked", "1"] for l in lines if l.strip()),
                "queue: parked 1", r.stdout)
        s.check(any(l.split()[:4] == [dest, "3", "0", "0"] for l in lines),
                "queue: the destination's row", r.stdout)
        s.check("store: accepting writes" in r.stdout, "queue: the store's condition", r.stdout)
        r = env.cli("queue", "--help")
        s.check(r.returncode == 0 and r.stdout.startswith("usage: hookspool queue"),
                "queue --help: usage on stdout, exit 0", r)
        r = env.cli("queue", "--bogus")
        s.check(r.returncode == 2 and "usage" in r.stderr, "queue --bogus: exit 2", r)
        r = env.cli("queue", "extra")
        s.eq(r.returncode, 2, "queue with an argument: exit 2")
        r = env.cli("queue", "--config", os.path.join(env.dir, "missing.conf"))
        s.check(r.returncode == 1 and r.stderr, "queue with a missing config: exit 1", r)
    finally:
        stop_all(sender, srv, rcv)
    return env


def fulldisk_flow(s):
    """The store's full-disk condition in the metrics file and in hookspool queue: db_home
    on a small tmpfs made by the test, filled and emptied again."""
    if os.geteuid() != 0:
        print("health: fulldisk flow needs root to mount a tmpfs: skipped")
        return None
    env = h.Env("health-full", retry_schedule="1h")
    fs = os.path.join(env.dir, "fs")
    os.makedirs(fs)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", fs], check=True)
    sender = None
    try:
        env.write_conf(db_home=os.path.join(fs, "db"))
        os.makedirs(os.path.join(fs, "db"))
        env.spool_dirs()
        sender = Sender(env)
        metrics = Metrics(os.path.join(env.spool, "metrics.prom"))
        m = metrics.wait(lambda m: Metrics.get(m, "hookspool_store_writes_refused") == 0)
        s.check(m is not None, "fulldisk: writes_refused 0 with room")
        free = os.statvfs(fs)
        filler = os.path.join(fs, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, free.f_bavail * free.f_frsize - 512 * 1024))
        m = metrics.wait(lambda m: Metrics.get(m, "hookspool_store_writes_refused") == 1)
        s.check(m is not None, "fulldisk: the metrics file says the store refuses writes")
        r = env.cli("queue", "--json")
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        s.eq(doc.get("store", {}).get("writesRefused"), True, "fulldisk: queue --json says so")
        r = env.cli("queue")
        s.check("REFUSING WRITES" in r.stdout, "fulldisk: queue says so", r.stdout)
        os.unlink(filler)
        m = metrics.wait(lambda m: Metrics.get(m, "hookspool_store_writes_refused") == 0)
        s.check(m is not None, "fulldisk: back to 0 once there is room")
        s.eq(sender.stop(), 0, "fulldisk: the sender exits 0")
        sender = None
    finally:
        stop_all(sender)
        subprocess.run(["umount", "-l", fs])
    return env


def atomic_flow(s):
    """Reads of the metrics file while the sender rewrites it always see a whole file."""
    env = h.Env("health-atomic", metrics_file=None)
    path = os.path.join(env.dir, "custom", "sender.prom")
    os.makedirs(os.path.dirname(path))
    env.write_conf(metrics_file=path)
    env.spool_dirs()
    sender = None
    try:
        sender = Sender(env)
        s.check(wait_for(lambda: os.path.exists(path), 10), "metrics_file: written where set")
        reads = bad = 0
        types = {}
        deadline = time.time() + 11        # two rewrites at least
        seen = set()
        while time.time() < deadline:
            try:
                with open(path) as f:
                    text = f.read()
                samples, types = parse_prometheus(text)
                seen.add(Metrics.get(samples, "hookspool_metrics_timestamp_seconds"))
                reads += 1
            except ValueError as e:
                bad += 1
                print("health: partial metrics file: %s" % e)
            time.sleep(0.01)
        s.check(reads > 100 and bad == 0, "metrics: every read is a whole file (%d reads)"
                % reads)
        s.check(len(seen) >= 2, "metrics: rewritten at least every 5 s", seen)
        s.eq(types.get("hookspool_deliveries_total"), "counter", "metrics: counters typed")
        s.eq(types.get("hookspool_queue_files"), "gauge", "metrics: gauges typed")
        s.eq(os.path.exists(os.path.join(env.spool, "metrics.prom")), False,
             "metrics: not in the spool when metrics_file is set")
        s.eq(sender.stop(), 0, "metrics: the sender exits 0")
        sender = None
    finally:
        stop_all(sender)
    return env


def parser_flow(s):
    """The test's own Prometheus reader refuses what the format does not allow."""
    good = "# HELP a x\n# TYPE a counter\na{l=\"v\\\"\"} 1\na{l=\"w\"} 2.5e3\nb 0\n"
    try:
        parse_prometheus(good)
        s.check(True, "parser: a good file")
    except ValueError as e:
        s.check(False, "parser: a good file", e)
    for bad in ("a 1", "a{l=\"v\"} x\n", "1a 1\n", "a{l=v} 1\n", "a 1\nb 1\na 2\n",
                "a 1\n# TYPE a counter\n", "a 1\na 1\n", "a{l=\"\\x\"} 1\n",
                "# TYPE a counter\n# TYPE a counter\na 1\n", "# TYPE a counter\na -1\n"):
        try:
            parse_prometheus(bad)
            s.check(False, "parser refuses %r" % bad)
        except (ValueError, IndexError):
            s.check(True, "parser refuses %r" % bad)
    return None


def main():
    h.run_flows(h.Suite("health"),
                [parser_flow, never_flow, queue_flow, gone_flow, retry_after_flow,
                 concurrency_flow, autodisable_flow, atomic_flow, fulldisk_flow],
                "HOOKSPOOL_HEALTH_FLOWS")


if __name__ == "__main__":
    main()
