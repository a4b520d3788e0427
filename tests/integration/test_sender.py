"""hookspool-sender against a real receiver: webhooks are created through the
API behind lighttpd, events go into the spool (CLI and plain files), and a
Python HTTP server on a loopback port records every request the sender makes.
Signatures are checked with Python's hmac, tests/receivers/verify.py and
verify.js, independently of the C code."""

import base64
import calendar
import hashlib
import hmac
import tempfile
import atexit
import json
import os
import random
import re
import shutil
import select
import signal
import socket
import subprocess
import threading
import time

import harness as h
from harness import Sender  # noqa: F401  (bench/delivery_disk imports it from here)

SENDER = os.path.join(h.BUILD, "hookspool-sender")
RECEIVERS = os.path.join(h.SRC, "tests", "receivers")


class Receiver(h.Receiver):
    """A recording receiver (harness.Receiver); what it answers depends on the path:
    /ok/* 200, /fail/* 500, /flaky/* 500 twice then 200, /slow/* sleeps
    past delivery_timeout, /redirect/* 302 to /ok/redirected, /big/* 200
    with a 1 MiB body. With tls (an ssl.SSLContext) it speaks HTTPS."""

    def __init__(self, slow_seconds=4.0, tls=None):
        self.slow_seconds = slow_seconds
        super().__init__(tls)

    def answer(self, entry, seen):
        kind = entry["path"].split("/")[1]
        status, extra, payload = 200, {}, b"ok"
        if kind == "fail":
            status = 500
        elif kind == "flaky":
            status = 500 if seen < 2 else 200
        elif kind == "slow":
            time.sleep(self.slow_seconds)
        elif kind == "redirect":
            status, extra = 302, {"Location": "/ok/redirected"}
        elif kind == "big":
            payload = b"x" * (1 << 20)
        return status, extra, payload


def _peer_closed(conn):
    """True if the other end of conn has closed it (even with unread bytes before its end of
    file), or conn is closed here; looks without reading anything."""
    if conn.fileno() < 0:
        return True
    p = select.poll()
    p.register(conn, select.POLLRDHUP)
    return any(ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL)
               for _, ev in p.poll(0))


class Blackhole:
    """A socket on 127.0.0.1 that accepts connections and never answers, until answer() is
    called: from then on it answers every request 200 (HTTP/1.1, keep-alive) and records
    its X-NEOSTORE-DELIVERY and X-NEOSTORE-ATTEMPT. Counts the connections it accepted and
    the most it held open at once."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.answering = threading.Event()
        self.stopped = threading.Event()
        self.accepted = 0
        self.max_open = 0
        self.live = []              # accepted connections, until the sender is seen to close them
        self.closed = 0             # connections the sender gave up on (or closed)
        self.requests = []          # (delivery id, attempt)
        threading.Thread(target=self._accept, daemon=True).start()

    def answer(self):
        self.answering.set()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                # Open as the kernel sees it, not as the serving threads have noticed yet: a
                # connection the sender closed just before this one may not have been
                # read to its end by its thread (seen under load: 3 open of 2).
                self.live = [c for c in self.live if not _peer_closed(c)] + [conn]
                self.max_open = max(self.max_open, len(self.live))
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        conn.settimeout(0.2)
        try:
            while not self.stopped.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    chunk = None
                if chunk == b"":
                    return              # the sender gave up on it (its timeout) or closed it
                if chunk:
                    buf += chunk
                while self.answering.is_set() and b"\r\n\r\n" in buf:
                    head, rest = buf.split(b"\r\n\r\n", 1)
                    hdrs = {}
                    for line in head.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        hdrs[k.strip().lower().decode()] = v.strip().decode()
                    n = int(hdrs.get("content-length", "0"))
                    if len(rest) < n:
                        break
                    buf = rest[n:]
                    with self.lock:
                        self.requests.append((hdrs.get("x-neostore-delivery"),
                                              int(hdrs.get("x-neostore-attempt", "0"))))
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.closed += 1

    def delivered(self):
        with self.lock:
            return list(self.requests)

    def stop(self):
        self.stopped.set()
        self.sock.close()


def Api(srv, env, tenant):
    """harness.Api for tenant on srv, with a new key of its own."""
    return h.Api(srv.url, tenant, env.apikey(tenant))


def make_webhooks(env, hooks, dirs=("tmp", "new")):
    """Creates webhooks through the real API (on a lighttpd started for it and stopped
    again) and the spool directories named; hooks are (tenant, endpoint, events).
    Returns the created webhooks, in order."""
    srv = h.lighttpd(env, procs=1)
    try:
        made = [Api(srv, env, tenant).create(url, events) for tenant, url, events in hooks]
    finally:
        srv.stop()
    env.spool_dirs(dirs)
    return made


def drop_file(env, name, data):
    """Publishes a file the way a foreign producer would: tmp/, fsync, rename into new/."""
    tmp = os.path.join(env.spool, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(env.spool, "new", name))


def emit(env, tenant, etype, data=None, eid=None):
    args = ["emit", "--tenant", tenant, "--type", etype]
    if eid:
        args += ["--id", eid]
    if data is not None:
        args += ["--data", json.dumps(data)]
    r = env.cli(*args)
    if r.returncode != 0:
        raise RuntimeError("emit: " + r.stderr)
    return r.stdout.strip()


def sig_ok(secret, req, encoding="hex"):
    mac = hmac.new(secret.encode(), req["body"], hashlib.sha256).digest()
    want = mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()
    return hmac.compare_digest(req["headers"].get("x-neostore-signature", ""), want)


def deliveries(env, tenant, *extra, conf=None):
    args = ["deliveries", "--tenant", tenant, "--json"] + list(extra)
    if conf:
        args += ["--config", conf]
    r = env.cli(*args)
    if r.returncode != 0:
        raise RuntimeError("deliveries: " + r.stderr)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def check_request_shape(s, req, hook, what):
    """Every header of SPEC section 4 and the exact body envelope."""
    hd = req["headers"]
    body = json.loads(req["body"])
    s.eq(req["method"], "POST", what + ": method")
    s.eq(hd.get("content-type"), "application/json", what + ": Content-Type")
    s.check(hd.get("user-agent", "").startswith("hookspool/"), what + ": User-Agent",
            hd.get("user-agent"))
    s.eq(hd.get("x-neostore-event"), body.get("eventType"), what + ": X-NEOSTORE-EVENT")
    s.eq(hd.get("x-neostore-webhook"), hook["id"], what + ": X-NEOSTORE-WEBHOOK")
    s.check(len(hd.get("x-neostore-delivery", "")) >= 16, what + ": X-NEOSTORE-DELIVERY")
    s.check(hd.get("x-neostore-attempt", "").isdigit(), what + ": X-NEOSTORE-ATTEMPT")
    s.eq(list(body.keys()), ["eventId", "eventType", "tenantId", "timestamp", "data"],
         what + ": body members in order")
    s.check(req["body"].startswith(b'{"eventId":') and b"\n" not in req["body"],
            what + ": compact body")
    s.check(sig_ok(hook["signatureSecret"], req), what + ": HMAC-SHA256 signature (hex)")
    # Standard Webhooks (standard_webhooks = yes by default); the npm library's check of
    # them is in the rotation suite.
    s.eq(hd.get("webhook-id"), hd.get("x-neostore-delivery"), what + ": webhook-id")
    s.check(hd.get("webhook-timestamp", "").isdigit(), what + ": webhook-timestamp")
    signed = ("%s.%s." % (hd.get("webhook-id"), hd.get("webhook-timestamp"))).encode() + req["body"]
    want = "v1," + base64.b64encode(hmac.new(hook["signatureSecret"].encode(), signed,
                                             hashlib.sha256).digest()).decode()
    s.eq(hd.get("webhook-signature"), want, what + ": webhook-signature")
    unexpected = set(req["header_names"]) - {
        "host", "content-type", "content-length", "user-agent", "x-neostore-signature",
        "x-neostore-event", "x-neostore-webhook", "x-neostore-delivery", "x-neostore-attempt",
        "webhook-id", "webhook-timestamp", "webhook-signature"}
    s.eq(sorted(unexpected), [], what + ": no other headers (no Expect, no Accept)")


def run_verifiers(s, env, hook, req, what):
    body_file = os.path.join(env.dir, "body-%d.json" % random.randrange(1 << 30))
    with open(body_file, "wb") as f:
        f.write(req["body"])
    sig = req["headers"]["x-neostore-signature"]
    r = subprocess.run(["python3", os.path.join(RECEIVERS, "verify.py"), hook["signatureSecret"],
                        sig, body_file], capture_output=True, timeout=30)
    s.eq(r.returncode, 0, what + ": tests/receivers/verify.py accepts a real delivery")
    r = subprocess.run(["python3", os.path.join(RECEIVERS, "verify.py"), hook["signatureSecret"],
                        sig[:-2] + ("00" if not sig.endswith("00") else "11"), body_file],
                       capture_output=True, timeout=30)
    s.eq(r.returncode, 1, what + ": verify.py refuses a tampered signature")
    if shutil.which("node"):
        r = subprocess.run(["node", os.path.join(RECEIVERS, "verify.js"),
                            hook["signatureSecret"], sig, body_file], capture_output=True,
                           timeout=30)
        s.eq(r.returncode, 0, what + ": tests/receivers/verify.js accepts a real delivery")
    else:
        s.check(False, what + ": node is not installed, verify.js not run")


def main_flow(s):
    rcv = Receiver(slow_seconds=4.0)
    env = h.Env("sender", allow_private_targets="yes", retry_schedule="1s,1s,1s",
                delivery_timeout="2", max_event_bytes="65536", log_level="debug")
    srv = sender = None
    try:
        srv = h.lighttpd(env, procs=2)
        acme = Api(srv, env, "acme")
        hook_pass = acme.create(rcv.url + "/ok/pass", ["Pass:*"])
        hook_cust = acme.create(rcv.url + "/ok/customer", ["customer.*"])
        hook_all = acme.create(rcv.url + "/ok/all", ["*"])
        hook_off = acme.create(rcv.url + "/ok/disabled", ["*"], enabled=False)
        hook_gone = acme.create(rcv.url + "/ok/deleted", ["*"])
        s.eq(acme.webhooks("DELETE", "/" + hook_gone["id"])[0], 200, "delete a webhook")
        other = Api(srv, env, "other")
        hook_other = other.create(rcv.url + "/ok/other", ["*"])

        sender = h.Sender(env)
        ids = {
            "pass": emit(env, "acme", "Pass:Created", {"passId": "p-1"}),
            "cust": emit(env, "acme", "Customer:Upserted", {"c": 1}),
            "store": emit(env, "acme", "store.product.updated", {"sku": "x"}),
        }
        s.check(rcv.wait("/ok/all", 3, 15), "fan-out: the '*' webhook gets all three events")
        rcv.wait("/ok/pass", 1, 5)
        rcv.wait("/ok/customer", 1, 5)
        time.sleep(0.5)
        got = lambda p: sorted(json.loads(r["body"])["eventId"] for r in rcv.on(p))
        s.eq(got("/ok/pass"), [ids["pass"]], "fan-out: 'Pass:*' gets Pass:Created only")
        s.eq(got("/ok/customer"), [ids["cust"]], "fan-out: 'customer.*' gets Customer:Upserted")
        s.eq(got("/ok/all"), sorted(ids.values()), "fan-out: '*' gets every event")
        s.eq(rcv.on("/ok/disabled"), [], "a disabled webhook gets nothing")
        s.eq(rcv.on("/ok/deleted"), [], "a deleted webhook gets nothing")
        s.eq(rcv.on("/ok/other"), [], "another tenant's webhook gets nothing")
        for r in rcv.on("/ok/pass") + rcv.on("/ok/customer"):
            hook = hook_pass if r["path"] == "/ok/pass" else hook_cust
            check_request_shape(s, r, hook, "request " + r["path"])
            s.eq(r["headers"].get("x-neostore-attempt"), "1", "first attempt is number 1")
        all_reqs = rcv.on("/ok/all")
        if all_reqs:
            check_request_shape(s, all_reqs[0], hook_all, "request /ok/all")
            run_verifiers(s, env, hook_all, all_reqs[0], "receivers")
            body = json.loads(all_reqs[0]["body"])
            s.eq(body["tenantId"], "acme", "body tenantId")
        s.check(h.wait_for(lambda: listdir(os.path.join(env.spool, "active")) == [], 5),
                "delivered events leave active/", listdir(os.path.join(env.spool, "active")))
        s.eq(listdir(os.path.join(env.spool, "new")), [], "nothing left in new/")

        # 500, 500, 200: three attempts, one delivery id.
        flaky = Api(srv, env, "flaky")
        hook_flaky = flaky.create(rcv.url + "/flaky/f", ["*"])
        emit(env, "flaky", "Pass:Created")
        # A dead receiver: 1 + 3 attempts, then a dead letter.
        dead = Api(srv, env, "dead")
        hook_dead = dead.create(rcv.url + "/fail/dead", ["*"])
        dead_event = emit(env, "dead", "Pass:Created")
        # A slow receiver (timeout) must not hold up a fast one of another tenant.
        slow = Api(srv, env, "slow")
        hook_slow = slow.create(rcv.url + "/slow/s", ["*"])
        redir = Api(srv, env, "redir")
        hook_redir = redir.create(rcv.url + "/redirect/r", ["*"])
        emit(env, "slow", "Pass:Created")
        emit(env, "redir", "Pass:Created")
        s.check(rcv.wait("/slow/s", 1, 5), "the slow receiver gets its request")
        t0 = time.time()
        emit(env, "other", "Pass:Created")
        s.check(rcv.wait("/ok/other", 1, 5), "a fast receiver is served while a slow one hangs")
        s.check(time.time() - t0 < 1.8, "...within 1.8 s (the slow one hangs 2 s, to the timeout)",
                "%.2f s" % (time.time() - t0))
        # Endpoint change and disable between attempts.
        moving = Api(srv, env, "moving")
        hook_move = moving.create(rcv.url + "/fail/old", ["*"])
        hook_stop = moving.create(rcv.url + "/fail/stopping", ["*"])
        emit(env, "moving", "Pass:Created")
        s.check(rcv.wait("/fail/old", 1, 5) and rcv.wait("/fail/stopping", 1, 5),
                "first attempts reach the original endpoints")
        s.eq(moving.patch(hook_move["id"], {"endpoint": rcv.url + "/ok/new"}), 200,
             "PATCH the endpoint")
        s.eq(moving.patch(hook_stop["id"], {"enabled": False}), 200, "PATCH enabled=false")

        s.check(rcv.wait("/flaky/f", 3, 15), "500, 500, 200: three attempts")
        fl = rcv.on("/flaky/f")
        s.eq([r["headers"]["x-neostore-attempt"] for r in fl], ["1", "2", "3"],
             "attempt numbers 1, 2, 3")
        s.eq(len({r["headers"]["x-neostore-delivery"] for r in fl}), 1,
             "one delivery id on every retry")
        s.eq(len({r["body"] for r in fl}), 1, "every retry sends the same bytes")
        s.check(all(sig_ok(hook_flaky["signatureSecret"], r) for r in fl),
                "every retry is signed")
        if len(fl) == 3:
            gaps = [fl[i + 1]["time"] - fl[i]["time"] for i in range(2)]
            s.check(all(0.9 <= g <= 4.5 for g in gaps), "retries follow retry_schedule 1s,1s",
                    gaps)

        s.check(rcv.wait("/ok/new", 1, 10), "a changed endpoint is used from the next attempt")
        s.eq(len(rcv.on("/fail/old")), 1, "the old endpoint gets no more requests")
        time.sleep(2.5)
        s.eq(len(rcv.on("/fail/stopping")), 1, "a webhook disabled between attempts gets no more")
        new_req = rcv.on("/ok/new")
        if new_req:
            s.eq(new_req[0]["headers"]["x-neostore-attempt"], "2", "...as attempt 2")

        s.check(rcv.wait("/fail/dead", 4, 20), "a failing receiver gets 1 + 3 attempts")
        failed_dir = os.path.join(env.spool, "failed")

        def dead_letter_of(hook):
            """(record, reason) of the dead letter for hook, or None."""
            for n in listdir(failed_dir):
                if not n.startswith("dlv-") or n.endswith(".reason"):
                    continue
                try:
                    with open(os.path.join(failed_dir, n), "rb") as f:
                        rec = json.loads(f.read())
                    with open(os.path.join(failed_dir, n + ".reason")) as f:
                        reason = f.read()
                except (OSError, ValueError):
                    continue
                if rec.get("webhookId") == hook["id"]:
                    return rec, reason
            return None
        s.check(h.wait_for(lambda: dead_letter_of(hook_dead) is not None, 5),
                "after the last attempt the delivery is in failed/ with a reason")
        time.sleep(1.5)
        s.eq(len(rcv.on("/fail/dead")), 4, "no attempt after the last one")
        found = dead_letter_of(hook_dead)
        if found:
            rec, reason = found
            s.check("HTTP 500" in reason and "attempt 4" in reason, "the reason names the "
                    "last attempt and its error", reason)
            s.eq(rec.get("eventId"), dead_event, "the dead letter names its event")
            s.eq(rec.get("tenantId"), "dead", "the dead letter names its tenant")
            s.eq(rec.get("body", "").encode(), rcv.on("/fail/dead")[0]["body"],
                 "the dead letter keeps the exact body")

        # The delivery log, through the CLI.
        log = deliveries(env, "flaky")
        s.eq([(e["attempt"], e["status"]) for e in log], [(3, 200), (2, 500), (1, 500)],
             "hookspool deliveries: newest first, status per attempt")
        s.eq(len({e["deliveryId"] for e in log}), 1, "hookspool deliveries: one delivery id")
        s.eq(log[0]["deliveryId"] if log else None, fl[0]["headers"]["x-neostore-delivery"],
             "the logged delivery id is the one sent")
        s.check(all(e["webhookId"] == hook_flaky["id"] for e in log), "the log names the webhook")
        log_dead = deliveries(env, "dead")
        s.eq(len(log_dead), 4, "four failed attempts logged for the dead receiver")
        s.check(all(e["error"] == "HTTP 500" for e in log_dead), "...each with its error",
                log_dead)
        log_slow = deliveries(env, "slow", "--limit", "1")
        s.check(len(log_slow) == 1 and log_slow[0]["status"] == 0 and
                "timed out" in log_slow[0]["error"].lower(), "a timeout is logged as an error",
                log_slow)
        s.check(all(e["durationMs"] >= 1900 for e in deliveries(env, "slow")),
                "a timed-out attempt lasted about delivery_timeout")
        log_redir = deliveries(env, "redir")
        s.check(log_redir and all(e["status"] == 302 and "redirect" in e["error"]
                                  for e in log_redir), "a redirect is a failed attempt", log_redir)
        s.eq(rcv.on("/ok/redirected"), [], "redirects are never followed")
        acme_log = deliveries(env, "acme")
        s.eq(len(acme_log), 5, "acme: 5 attempts logged (1 + 1 + 3)")
        s.eq(len(deliveries(env, "acme", "--webhook", hook_all["id"])), 3,
             "--webhook filters one webhook")
        s.eq(deliveries(env, "acme", "--webhook", hook_off["id"]), [],
             "nothing logged for the disabled webhook")
        r = env.cli("deliveries", "--tenant", "flaky")
        lines = r.stdout.splitlines()
        s.check(r.returncode == 0 and len(lines) == 4 and lines[0].startswith("TIME") and
                " 500 " in lines[2], "hookspool deliveries prints a table", r.stdout)
        r = env.cli("deliveries")
        s.eq(r.returncode, 2, "hookspool deliveries without --tenant is a usage error")

        # Malformed and oversized files go to failed/ with a reason; the queue keeps moving.
        drop_file(env, "broken.json", b'{"eventType": "Pass:Created", "tenantId": ')
        drop_file(env, "huge.json", json.dumps({"eventType": "Pass:Created", "tenantId": "other",
                                                "data": "x" * 70000}).encode())
        drop_file(env, "plain.json", json.dumps({"eventType": "Customer:Upserted",
                                                 "tenantId": "other", "eventId": "drop-1",
                                                 "data": {"a": [1, 2.5, None]}}).encode())
        s.check(h.wait_for(lambda: "broken.json.reason" in listdir(failed_dir), 5),
                "a malformed event goes to failed/ with a reason")
        s.check(h.wait_for(lambda: "huge.json.reason" in listdir(failed_dir), 5),
                "an event over max_event_bytes goes to failed/ with a reason")
        with open(os.path.join(failed_dir, "huge.json.reason")) as f:
            s.check("max_event_bytes" in f.read(), "the reason names max_event_bytes")
        s.check("broken.json" in listdir(failed_dir), "the malformed file is kept")
        s.check(h.wait_for(lambda: any(json.loads(r["body"])["eventId"] == "drop-1"
                                     for r in rcv.on("/ok/other")), 5),
                "the event after a malformed one is still delivered (plain file drop)")

        # SIGHUP re-reads the configuration: base64 signatures from now on.
        env.write_conf(signature_encoding="base64")
        sender.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        emit(env, "other", "Pass:Reloaded")
        s.check(h.wait_for(lambda: any(json.loads(r["body"])["eventType"] == "Pass:Reloaded"
                                     for r in rcv.on("/ok/other")), 5), "delivery after SIGHUP")
        reloaded = [r for r in rcv.on("/ok/other")
                    if json.loads(r["body"])["eventType"] == "Pass:Reloaded"]
        if reloaded:
            s.check(sig_ok(hook_other["signatureSecret"], reloaded[0], "base64"),
                    "SIGHUP: signature_encoding = base64 takes effect")
        env.write_conf(signature_encoding="hex")

        # Large responses are cut at 64 KiB and still count as success.
        big = Api(srv, env, "big")
        big.create(rcv.url + "/big/b", ["*"])
        emit(env, "big", "Pass:Created")
        s.check(h.wait_for(lambda: len(deliveries(env, "big")) >= 1, 5), "big response logged")
        lb = deliveries(env, "big")
        s.check(lb and lb[-1]["status"] == 200 and lb[-1]["error"] == "",
                "a 1 MiB response is read to 64 KiB and the 200 counts", lb)

        # SIGTERM while a request hangs: it is finished (here: times out) and kept for a retry.
        slow_before = len(rcv.on("/slow/s"))
        slow_event = emit(env, "slow", "Pass:Created")
        s.check(rcv.wait("/slow/s", slow_before + 1, 5), "a slow request is in flight")
        t_term = time.time()
        rc = sender.stop()
        s.eq(rc, 0, "SIGTERM: the sender exits 0")
        s.check(time.time() - t_term < 4.5, "SIGTERM: exit within delivery_timeout and a bit",
                "%.1f s" % (time.time() - t_term))

        def deferred_events():
            out = []
            for n in listdir(os.path.join(env.spool, "deferred")):
                with open(os.path.join(env.spool, "deferred", n), "rb") as f:
                    out.append(json.loads(f.read()).get("eventId"))
            return out
        s.check(slow_event in deferred_events(),
                "SIGTERM: the request in flight is kept in deferred/ for its retry",
                deferred_events())
        s.eq(listdir(os.path.join(env.spool, "active")), [], "SIGTERM: nothing left in active/")
        s.check("exiting" in sender.text(), "the sender logs its exit")
        sender = None

        # hookspool requeue puts the dead letter back; it gets a new round of attempts.
        before = len(rcv.on("/fail/dead"))
        r = env.cli("requeue")
        s.check(r.returncode == 0, "hookspool requeue", r.stderr)
        once = h.Sender(env, once=True)
        try:
            once.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            once.proc.kill()
        once.log.close()
        s.eq(once.proc.returncode, 0, "--once exits 0")
        dead_reqs = rcv.on("/fail/dead")
        s.eq(len(dead_reqs), before + 1, "a requeued dead letter is tried again (--once)")
        if len(dead_reqs) == before + 1:
            s.eq(dead_reqs[-1]["headers"]["x-neostore-attempt"], "5",
                 "...as attempt 5, with the same delivery id")
            s.eq(dead_reqs[-1]["headers"]["x-neostore-delivery"],
                 dead_reqs[0]["headers"]["x-neostore-delivery"], "requeue keeps the delivery id")
        s.check(any(n.startswith("dlv-") for n in listdir(os.path.join(env.spool, "deferred"))),
                "--once leaves the next retry in deferred/")

        # SSRF: the same receiver, reached by name and by literal address, refused
        # when allow_private_targets = no (the API accepted them while it was yes).
        ssrf = Api(srv, env, "ssrf")
        ssrf.create("http://localhost:%d/ok/ssrf-name" % rcv.port, ["*"])
        ssrf.create(rcv.url + "/ok/ssrf-literal", ["*"])
        strict_conf = os.path.join(env.dir, "strict.conf")
        with open(env.conf) as f, open(strict_conf, "w") as g:
            g.write(f.read().replace("allow_private_targets = yes", "allow_private_targets = no"))
        emit(env, "ssrf", "Pass:Created")
        strict = h.Sender(env, conf=strict_conf, once=True)
        strict.proc.wait(timeout=30)
        strict.log.close()
        s.eq(rcv.on("/ok/ssrf-name") + rcv.on("/ok/ssrf-literal"), [],
             "SSRF: no request reaches a loopback receiver")
        sl = deliveries(env, "ssrf")
        s.eq(len(sl), 2, "SSRF: both refusals are logged")
        s.check(all("refused" in e["error"] and "loopback" in e["error"] and e["status"] == 0
                    for e in sl), "SSRF: the log says refused, loopback", sl)
    finally:
        h.stop_all(sender, srv, rcv)
    return env


def kill_flow(s, n_events=2000):
    """SIGKILL the sender at random moments while events flow; every delivery must arrive."""
    rcv = Receiver()
    env = h.Env("sender-kill", allow_private_targets="yes", retry_schedule="1s,1s,1s,1s,1s",
                delivery_timeout="5", log_level="warn")
    sender = None
    try:
        hooks = make_webhooks(env, [("load", rcv.url + "/ok/k1", ["Load:*"]),
                                    ("load", rcv.url + "/ok/k2", ["load.created"])])

        def producer():
            for i in range(n_events):
                drop_file(env, "ev-%05d.json" % i, json.dumps({
                    "eventId": "load-%05d" % i, "eventType": "Load:Created", "tenantId": "load",
                    "data": {"n": i, "pad": "p" * 200}}).encode())
                if i % 100 == 99:
                    time.sleep(0.05)

        prod = threading.Thread(target=producer)
        prod.start()
        # A sender killed inside Berkeley DB leaves the environment needing recovery;
        # closing the panicked handle first leaks inside libdb (not ours), which a
        # sanitizer build would report at exit. Only this flow expects that.
        supp = os.path.join(env.dir, "lsan.supp")
        with open(supp, "w") as f:
            f.write("leak:libdb-5.3.so\n")
        environ = dict(os.environ, LSAN_OPTIONS="suppressions=" + supp)
        rnd = random.Random(int(os.environ.get("HOOKSPOOL_SEED", time.time())))
        kills = 0
        t_start = time.time()
        for _ in range(8):
            sender = h.Sender(env, environ=environ)
            time.sleep(rnd.uniform(0.2, 1.2))
            sender.stop(signal.SIGKILL)
            kills += 1
        sender = h.Sender(env, environ=environ)
        prod.join()
        want = {("load-%05d" % i, hk["id"]) for i in range(n_events) for hk in hooks}

        def arrived():
            return {(json.loads(r["body"])["eventId"], r["headers"]["x-neostore-webhook"])
                    for r in rcv.all()}
        s.check(h.wait_for(lambda: want <= arrived(), 90, 0.5),
                "SIGKILL x%d: every one of %d deliveries arrived at least once" % (kills,
                                                                                  len(want)),
                "%d missing" % len(want - arrived()))
        elapsed = time.time() - t_start
        reqs = rcv.all()
        by_pair = {}
        for r in reqs:
            key = (json.loads(r["body"])["eventId"], r["headers"]["x-neostore-webhook"])
            by_pair.setdefault(key, set()).add(r["headers"]["x-neostore-delivery"])
        s.check(all(len(v) == 1 for v in by_pair.values()),
                "a redelivery after a crash keeps its delivery id (receivers can dedupe)")
        s.check(h.wait_for(lambda: listdir(os.path.join(env.spool, "new")) == [] and
                         listdir(os.path.join(env.spool, "active")) == [], 10),
                "the spool drains")
        secrets = {hk["id"]: hk["signatureSecret"] for hk in hooks}
        s.check(all(sig_ok(secrets[r["headers"]["x-neostore-webhook"]], r) for r in reqs),
                "every delivery under load is correctly signed")
        s.eq(sender.stop(), 0, "the last sender exits 0 on SIGTERM")
        sender = None
        dupes = len(reqs) - len(want)
        print("sender kill test: %d events x 2 webhooks, %d SIGKILLs, %d requests, %d duplicates "
              "(%.1f%%), %.1f s" % (n_events, kills, len(reqs), dupes,
                                    100.0 * dupes / len(want), elapsed), flush=True)
        log = deliveries(env, "load", "--limit", "100000")
        logged = {(e["eventId"], e["webhookId"]) for e in log if e["status"] == 200}
        s.check(want <= logged, "every delivered attempt is in the delivery log",
                "%d missing" % len(want - logged))
    finally:
        h.stop_all(sender, rcv)
    return env


def flood_flow(s):
    """A receiver that hangs until the timeout, flooded with deliveries, must not hold up
    another one; once it is failing, new deliveries to it wait on disk, not in memory;
    SIGTERM then accounts for every delivery exactly once."""
    bad, good = Receiver(slow_seconds=3.0), Receiver()
    env = h.Env("sender-flood", allow_private_targets="yes", retry_schedule="60s",
                delivery_timeout="2", max_connections_per_host="2", log_level="info")
    sender = None
    try:
        make_webhooks(env, [("flood", bad.url + "/slow/flood", ["*"]),
                            ("calm", good.url + "/ok/calm", ["*"])])
        for i in range(60):
            drop_file(env, "flood-%03d.json" % i, json.dumps({
                "eventId": "flood-%03d" % i, "eventType": "Load:Created",
                "tenantId": "flood"}).encode())
        sender = h.Sender(env)
        s.check(bad.wait("/slow/flood", 2, 5), "flood: the hanging receiver gets its 2 "
                "connections' worth")
        t0 = time.time()
        for i in range(20):
            drop_file(env, "calm-%03d.json" % i, json.dumps({
                "eventId": "calm-%03d" % i, "eventType": "Load:Created",
                "tenantId": "calm"}).encode())
        s.check(good.wait("/ok/calm", 20, 5), "flood: another receiver gets all 20 deliveries")
        s.check(time.time() - t0 < 1.8, "flood: ...without waiting for the flooded one",
                "%.2f s" % (time.time() - t0))
        s.check(len(bad.on("/slow/flood")) <= 4, "flood: the hanging receiver never has more "
                "than max_connections_per_host requests at once",
                len(bad.on("/slow/flood")))
        # After its first timeouts the receiver is failing: new deliveries wait on disk.
        s.check(h.wait_for(lambda: len(deliveries(env, "flood")) >= 2, 6),
                "flood: timeouts are recorded")
        for i in range(60, 70):
            drop_file(env, "flood-%03d.json" % i, json.dumps({
                "eventId": "flood-%03d" % i, "eventType": "Load:Created",
                "tenantId": "flood"}).encode())

        def parked():
            out = {}
            for n in listdir(os.path.join(env.spool, "deferred")):
                if n.startswith("."):
                    continue        # a record being written (.tmp.*), renamed when complete
                try:
                    with open(os.path.join(env.spool, "deferred", n), "rb") as f:
                        rec = json.loads(f.read())
                except (OSError, ValueError):
                    continue        # claimed or replaced while being read
                out[rec["eventId"]] = rec       # a record, or an event file parked as it is
            return out
        # Parked: an event file waiting as it is, or a record that says why.
        def postponed():
            return [r for r in parked().values()
                    if "hookspoolDelivery" not in r or r["lastError"].startswith("postponed")]
        s.check(h.wait_for(lambda: len(postponed()) >= 10, 5),
                "flood: deliveries to a failing receiver are parked in deferred/, not queued",
                sorted(parked()))
        s.check(all(r["attempt"] == 1 and r["tries"] == 0 for r in postponed()
                    if "hookspoolDelivery" in r),
                "flood: a parked delivery keeps attempt 1 (it was not tried)")
        t_term = time.time()
        s.eq(sender.stop(), 0, "flood: SIGTERM exits 0")
        s.check(time.time() - t_term < 4.5, "flood: ...after at most the requests in flight",
                "%.1f s" % (time.time() - t_term))
        sender = None
        s.eq(listdir(os.path.join(env.spool, "active")), [], "flood: nothing left in active/")
        # Every flood event is now exactly once: a retry record or an untouched file in new/.
        in_new = {n[:-len(".json")] for n in listdir(os.path.join(env.spool, "new"))}
        recs = parked()
        everything = sorted(list(in_new) + [e for e in recs if e.startswith("flood-")])
        s.eq(everything, ["flood-%03d" % i for i in range(70)],
             "flood: after SIGTERM every delivery is kept exactly once (deferred/ or new/)")
    finally:
        h.stop_all(sender, bad, good)
    return env


def isolation_flow(s, per_webhook=40, blackholed=300):
    """SPEC 4.1: ten webhooks on ten destinations, one of them a socket that accepts and
    never answers. The other nine get every delivery while the blackhole holds at most
    max_connections_per_host connections; its deliveries are parked in deferred/ without
    an attempt being counted; once it answers (after a probe) its backlog drains. The
    blackhole's share (300) is more than the sender holds in memory (256 at least), so a
    sender that kept them all queued would stall the others."""
    per_host = 2
    hole = Blackhole()
    good = [Receiver() for _ in range(9)]
    env = h.Env("sender-isolation", allow_private_targets="yes", delivery_timeout="6",
                max_connections_per_host=str(per_host), max_connections="32",
                retry_schedule="1s,1s,1s,1s,1s,1s,1s,1s", log_level="info")
    sender = None
    try:
        hooks = make_webhooks(env, [("iso", r.url + "/ok/t%d" % i, ["T%d:*" % i])
                                    for i, r in enumerate(good)] +
                              [("iso", hole.url + "/hole", ["T9:*"])])
        # The blackhole's events first in new/'s order (the sender claims in name order): the
        # worst case, its share claimed before anyone else's.
        for k in range(blackholed):
            drop_file(env, "a-%05d.json" % k, json.dumps({
                "eventId": "hole-%03d" % k, "eventType": "T9:Created",
                "tenantId": "iso"}).encode())
        for i in range(9):
            for k in range(per_webhook):
                drop_file(env, "b-%d-%05d.json" % (i, k), json.dumps({
                    "eventId": "t%d-%03d" % (i, k), "eventType": "T%d:Created" % i,
                    "tenantId": "iso"}).encode())
        sender = h.Sender(env)

        def healthy_counts():
            return [len(r.on("/ok/t%d" % i)) for i, r in enumerate(good)]
        # An order of events, not a rate: the nine are served before the sender gives up on
        # the blackhole's first connections (delivery_timeout), i.e. without waiting for it.
        s.check(h.wait_for(lambda: min(healthy_counts()) >= per_webhook or hole.closed > 0, 30),
                "isolation: (the healthy deliveries or the blackhole's first timeout)")
        s.check(min(healthy_counts()) >= per_webhook and hole.closed == 0,
                "isolation: the nine healthy destinations get all their deliveries while the "
                "blackhole's first connections still hang",
                "%r, blackhole connections given up: %d" % (healthy_counts(), hole.closed))
        h.wait_for(lambda: min(healthy_counts()) >= per_webhook, 30)
        s.eq(healthy_counts(), [per_webhook] * 9, "isolation: ...each exactly once")
        s.check(hole.accepted >= 1, "isolation: the blackhole was tried")

        def parked():
            """What waits in deferred/: retry records, and event files parked as they are."""
            out = []
            for name in listdir(os.path.join(env.spool, "deferred")):
                if name.startswith("."):
                    continue        # a record being written (.tmp.*)
                try:
                    with open(os.path.join(env.spool, "deferred", name), "rb") as f:
                        out.append(json.loads(f.read()))
                except (OSError, ValueError):
                    pass            # replaced or claimed while being read
            return out
        s.check(h.wait_for(lambda: len(parked()) >= blackholed - 2 * per_host, 15),
                "isolation: the blackhole's deliveries are parked in deferred/",
                len(parked()))
        waiting = parked()
        recs = [r for r in waiting if "hookspoolDelivery" in r]
        events = [r for r in waiting if "hookspoolDelivery" not in r]
        not_tried = events + [r for r in recs if r["attempt"] == 1 and r["tries"] == 0]
        s.check(len(not_tried) >= blackholed - 4 * per_host,
                "isolation: parked deliveries were not tried (event files as they were, or "
                "records that keep attempt 1)",
                "%d events, %d records" % (len(events), len(recs)))
        s.check(all(r["eventId"].startswith("hole-") for r in waiting),
                "isolation: only the blackhole's deliveries wait")
        s.check(all(r["lastError"].startswith("postponed") for r in recs
                    if r["attempt"] == 1 and r["tries"] == 0),
                "isolation: ...and a record says why", {r["lastError"] for r in recs})
        # What the deliveries API shows of one: still pending, no attempt, and its next
        # attempt when the parked record comes due (its file's mtime, whole seconds rounded
        # up), not its creation. The committer writes the change after the parker the file.
        untried = [r for r in recs if r["attempt"] == 1 and r["tries"] == 0]
        seen = [None, None, None]       # the record shown, its due second, the file's mtime

        def parked_as_shown():
            if not untried:
                return False
            did = untried[0]["deliveryId"]
            r = env.cli("deliveries", "show", did, "--tenant", "iso", "--json")
            shown = json.loads(r.stdout) if r.returncode == 0 else None
            at = (shown or {}).get("nextAttemptAt") or ""
            due = (calendar.timegm(time.strptime(at[:19], "%Y-%m-%dT%H:%M:%S")) +
                   (1 if int(at[20:23]) > 0 else 0)) if len(at) == 24 else None
            try:
                mtime = os.stat(os.path.join(env.spool, "deferred", "dlv-" + did)).st_mtime
            except OSError:
                mtime = None
            seen[:] = [shown, due, mtime]
            return (shown is not None and shown["status"] == "pending" and
                    shown["attemptCount"] == 0 and due is not None and due == mtime)
        s.check(h.wait_for(parked_as_shown, 10),
                "isolation: a parked delivery is pending, not attempted, its nextAttemptAt when "
                "its record comes due", seen)
        logged = deliveries(env, "iso", "--webhook", hooks[9]["id"])
        s.check(0 < len(logged) <= 2 * per_host,
                "isolation: the delivery log holds only real attempts to the blackhole (the "
                "first connections' timeouts and probes), none for the parked ones",
                len(logged))
        s.check(hole.max_open <= per_host, "isolation: the blackhole never held more than "
                "max_connections_per_host connections", hole.max_open)
        s.check(hole.accepted <= 2 * per_host, "isolation: ...and was not hammered with new "
                "connections while dead (first cohort and probes only)", hole.accepted)
        s.check("destination http://127.0.0.1:%d: attempts in a row got no answer" % hole.port
                in sender.text(), "isolation: the sender logs the dead destination")

        hole.answer()

        def drained():
            return len({d for d, _ in hole.delivered()})
        s.check(h.wait_for(lambda: drained() >= blackholed, 60),
                "isolation: once the blackhole answers (after a probe) its backlog drains",
                "%d of %d" % (drained(), blackholed))
        s.check(h.wait_for(lambda: listdir(os.path.join(env.spool, "deferred")) == [] and
                         listdir(os.path.join(env.spool, "active")) == [], 10),
                "isolation: nothing left in deferred/ or active/",
                listdir(os.path.join(env.spool, "deferred"))[:5])
        tried_again = [a for _, a in hole.delivered() if a > 1]
        s.check(len(tried_again) <= 2 * per_host,
                "isolation: the drained backlog arrives as attempt 1 but for the few tried "
                "while dead", len(tried_again))
        s.check("answers again" in sender.text(), "isolation: the sender logs the recovery")
        s.eq(listdir(os.path.join(env.spool, "failed")), [], "isolation: nothing dead-lettered")
    finally:
        h.stop_all(sender, hole, *good)
    return env


def shared_flow(s, n_events=600):
    """Two senders share one spool (SPEC section 3): each delivery is made once; a
    starting sender leaves a live peer's claimed files alone; a killed sender's files
    are taken over by its peer without a restart."""
    rcv = Receiver(slow_seconds=4.0)     # a slow delivery keeps its file in active/ a while
    env = h.Env("sender-shared", allow_private_targets="yes", delivery_timeout="10",
                max_connections_per_host="8", log_level="info")
    a = b = None
    try:
        make_webhooks(env, [("shared", rcv.url + "/ok/shared", ["Fast:*"]),
                            ("shared", rcv.url + "/slow/shared", ["Slow:*"])])

        def drop(prefix, etype, count, with_id=True):
            for i in range(count):
                event = {"eventType": etype, "tenantId": "shared", "data": {"n": i}}
                if with_id:
                    event["eventId"] = "%s-%05d" % (prefix, i)
                drop_file(env, "%s-%05d.json" % (prefix, i), json.dumps(event).encode())

        def delivery_ids(path):
            return [r["headers"]["x-neostore-delivery"] for r in rcv.on(path)]

        drop("fast", "Fast:Created", n_events)
        a, b = h.Sender(env), h.Sender(env)
        s.check(rcv.wait("/ok/shared", n_events, 60),
                "two senders on one spool deliver all %d events" % n_events,
                "%d arrived" % len(rcv.on("/ok/shared")))
        time.sleep(0.5)
        ids = delivery_ids("/ok/shared")
        s.eq(len(ids) - len(set(ids)), 0, "two senders on one spool: no event delivered twice")
        s.eq((a.stop(), b.stop()), (0, 0), "both exit 0 on SIGTERM")
        counts = [int(m) for m in re.findall(r"exiting: (\d+) delivered", a.text() + b.text())]
        print("shared spool: %d events, delivered by the two senders: %s" % (n_events, counts),
              flush=True)

        # A claims slow deliveries; B starts meanwhile and must leave them to A (the
        # events have no eventId: their ids come from their names, no file is rewritten).
        a = h.Sender(env)
        drop("slow", "Slow:Created", 10, with_id=False)
        active = os.path.join(env.spool, "active")
        s.check(h.wait_for(lambda: len(listdir(active)) == 10 and
                         listdir(os.path.join(env.spool, "new")) == [], 10),
                "the first sender holds its 10 claimed files in active/", listdir(active))
        b = h.Sender(env)
        time.sleep(1.5)
        s.eq(len(listdir(active)), 10, "a starting sender leaves a live peer's files in active/")
        s.check("interrupted" not in b.text(), "... and puts nothing back", b.text())
        killed_at = time.time()
        a.stop(signal.SIGKILL)
        a = None

        def taken_over():
            return {r["headers"]["x-neostore-delivery"] for r in rcv.on("/slow/shared")
                    if r["time"] > killed_at}
        s.check(h.wait_for(lambda: len(taken_over()) == 10, 30),
                "the peer delivers all 10 files of the killed sender without a restart",
                "%d of 10" % len(taken_over()))
        s.check(re.search(r"put 10 interrupted files back", b.text()) is not None,
                "the peer logs taking over the files", b.text()[-2000:])
        s.check(h.wait_for(lambda: listdir(active) == [], 15), "active/ drains",
                listdir(active))
        s.eq(b.stop(), 0, "the peer exits 0 on SIGTERM")
        b = None
    finally:
        h.stop_all(a, b, rcv)
    return env


NOFLOCK_C = r"""
/* flock(2) fails with ENOLCK on files of the spool (as on a mount without locks), and
   works elsewhere: the database lives on a local disk, where it must. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int flock(int fd, int op)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n > 0) {
        path[n] = '\0';
        if (strstr(path, "/spool/") != NULL) {
            errno = ENOLCK;
            return -1;
        }
    }
    int (*real)(int, int) = (int (*)(int, int))dlsym(RTLD_NEXT, "flock");
    return real(fd, op);
}
"""


def nolock_flow(s):
    """A spool on a file system that cannot lock files (flock fails with ENOLCK on spool
    files, through an LD_PRELOAD shim): a single sender still claims, delivers and recovers at start,
    says why several senders must not share the spool, and its periodic recovery does
    not take back its own deliveries in flight."""
    rcv = Receiver(slow_seconds=7.0)    # in flight across a periodic recovery (every 5 s)
    env = h.Env("sender-nolock", allow_private_targets="yes", delivery_timeout="15",
                log_level="info")
    sender = None
    try:
        shim = os.path.join(env.dir, "noflock.so")
        src = os.path.join(env.dir, "noflock.c")
        with open(src, "w") as f:
            f.write(NOFLOCK_C)
        subprocess.run(["cc", "-shared", "-fPIC", "-o", shim, src, "-ldl"], check=True)
        make_webhooks(env, [("nolock", rcv.url + "/ok/nolock", ["Fast:*"]),
                            ("nolock", rcv.url + "/slow/nolock", ["Slow:*"])],
                      dirs=("tmp", "new", "active"))
        for i in range(20):
            drop_file(env, "fast-%02d.json" % i, json.dumps({
                "eventId": "fast-%02d" % i, "eventType": "Fast:Created",
                "tenantId": "nolock"}).encode())
        with open(os.path.join(env.spool, "active", "left-over.json"), "w") as f:
            f.write(json.dumps({"eventId": "left-over", "eventType": "Fast:Created",
                                "tenantId": "nolock"}))
        drop_file(env, "slow.json", json.dumps({"eventId": "slow", "eventType": "Slow:Created",
                                                "tenantId": "nolock"}).encode())
        # ASan wants its runtime first; the shim has no instrumented code to check.
        environ = dict(os.environ, LD_PRELOAD=shim, ASAN_OPTIONS=os.environ.get(
            "ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
        sender = h.Sender(env, environ=environ)
        s.check(rcv.wait("/ok/nolock", 21, 20),
                "without file locks: all 20 events and the one left in active/ delivered",
                "%d arrived" % len(rcv.on("/ok/nolock")))
        s.check(h.wait_for(lambda: "cannot lock files on this file system" in sender.text(), 5),
                "without file locks: the log says to run one sender per spool", sender.text())
        time.sleep(9)                   # the slow delivery spans a periodic recovery
        ids = [r["headers"]["x-neostore-delivery"] for r in rcv.all()]
        s.eq((len(rcv.on("/slow/nolock")), len(ids) - len(set(ids))), (1, 0),
             "without file locks: the periodic recovery leaves its own deliveries alone")
        s.eq(sender.stop(), 0, "without file locks: exits 0 on SIGTERM")
        sender = None
    finally:
        h.stop_all(sender, rcv)
    return env


def forged_record(hook, delivery_id, event_type, body, event_id="forged"):
    """A retry record as the sender wrote them before records left new/."""
    return json.dumps({"hookspoolDelivery": 1, "deliveryId": delivery_id,
                       "webhookId": hook["id"], "tenantId": "trust", "eventId": event_id,
                       "eventType": event_type, "attempt": 1, "tries": 0, "lastError": "",
                       "body": body}, separators=(",", ":")).encode()


def trust_flow(s):
    """SPEC section 3, trust boundary: every byte a producer writes into tmp/ or new/ is
    untrusted. A forged retry record in new/ is an ordinary (here malformed or harmless)
    event file: no path outside the spool is touched, no header is injected, no forged body
    is signed. Also: the sender's directories are closed to others at start, symbolic
    links are not followed, long names reach failed/, log lines stay whole."""
    rcv = Receiver()
    env = h.Env("sender-trust", allow_private_targets="yes", retry_schedule="1s",
                delivery_timeout="2", log_level="info")
    sender = None
    try:
        fail_hook, ok_hook = make_webhooks(env, [
            ("trust", rcv.url + "/fail/trust", ["Fail:*"]),
            ("trust", rcv.url + "/ok/trust", ["Ok:*"])],
            dirs=("tmp", "new", "active", "deferred", "failed"))
        spool = env.spool
        outside = os.path.dirname(os.path.abspath(spool))
        victim = os.path.join(outside, "victim")
        with open(victim, "w") as f:
            f.write("original\n")
        before_outside = listdir(outside)
        # What a producer could prepare for a path through "dlv-/..": directories in tmp/
        # and (when it was group-writable) active/.
        os.makedirs(os.path.join(spool, "tmp", "dlv-"), exist_ok=True)
        os.makedirs(os.path.join(spool, "active", "dlv-"), exist_ok=True)
        os.chmod(os.path.join(spool, "active"), 0o777)
        os.chmod(os.path.join(spool, "deferred"), 0o775)

        event = lambda eid, etype: json.dumps(
            {"eventId": eid, "eventType": etype, "tenantId": "trust",
             "timestamp": "2026-11-28T18:00:00Z", "data": {}}, separators=(",", ":"))
        forged_body = '{"forged":"arbitrary bytes, signed if trusted"}'
        # 1. Path traversal: the delivery fails, and the retry record's name came from
        #    deliveryId.
        drop_file(env, "forged-traversal.json", forged_record(
            fail_hook, "/../../../victim", "Fail:Created", event("fx", "Fail:Created"),
            event_id="fx"))
        # 2. CR/LF in eventType, under a record's own name.
        crlf_name = "dlv-" + "ab" * 16
        drop_file(env, crlf_name, forged_record(
            ok_hook, "0" * 32, "Ok:Created\r\nX-Injected: yes", event("fy", "Ok:Created"),
            event_id="fy"))
        # 3. A body that is no event, to be signed with the webhook's secret.
        drop_file(env, "forged-body.json", forged_record(ok_hook, "1" * 32, "Ok:Created",
                                                         forged_body, event_id="fz"))
        # Malformed files with long names: NAME.reason fits for 245, not for 250.
        long_names = ["m" * 240 + ".json", "n" * 245 + ".json"]
        for name in long_names:
            drop_file(env, name, b"not json")
        evil_name = "evil\nsender: forged line.json"
        drop_file(env, evil_name, b"not json either")
        drop_file(env, "fine.json", event("fine", "Ok:Created").encode())

        sender = h.Sender(env)
        s.check(rcv.wait("/ok/trust", 1, 15), "trust: an ordinary event is still delivered")
        s.check(rcv.wait("/fail/trust", 2, 15), "trust: the failing delivery is retried")
        failed = os.path.join(spool, "failed")
        s.check(h.wait_for(lambda: len([n for n in listdir(failed)
                                      if n.startswith(("m" * 20, "n" * 20))]) == 4, 15),
                "trust: malformed files with 245- and 250-character names reach failed/, "
                "each with a reason", [n[:30] for n in listdir(failed)])
        reasons = [n for n in listdir(failed) if n.startswith("n" * 20) and n.endswith(".reason")]
        s.check(len(reasons) == 1 and len(reasons[0]) <= 255,
                "trust: the reason of a 250-character name has a name of at most 255 bytes",
                reasons)
        s.check(h.wait_for(lambda: crlf_name + ".event.reason" in listdir(failed), 10),
                "trust: a producer's file named like a record is an event file, dead-lettered "
                "as NAME.event", listdir(failed))
        time.sleep(3)           # the failing delivery's last attempt and dead letter

        s.eq([n for n in listdir(outside) if not n.startswith("sender-")], before_outside,
             "trust: a forged deliveryId creates no file outside the spool")
        with open(victim) as f:
            s.eq(f.read(), "original\n", "trust: ... and replaces none")
        injected = [r for r in rcv.all() if "x-injected" in r["headers"]]
        s.eq(injected, [], "trust: CR/LF in a forged eventType injects no header")
        s.check(all(r["headers"].get("x-neostore-event", "") == "Ok:Created" or
                    r["path"].startswith("/fail/") for r in rcv.all()),
                "trust: every X-NEOSTORE-EVENT is a valid event type")
        signed_forged = [r for r in rcv.all() if r["body"] == forged_body.encode()]
        s.eq(signed_forged, [], "trust: a forged body is never delivered (nor signed)")
        s.check(all(list(json.loads(r["body"]).keys()) ==
                    ["eventId", "eventType", "tenantId", "timestamp", "data"]
                    for r in rcv.all()),
                "trust: every body delivered is an event's body")
        dead = [n for n in listdir(failed) if n.startswith("dlv-") and not n.endswith(".reason")]
        s.check(len([n for n in dead if not n.endswith(".event")]) == 1,
                "trust: the real failing delivery is the one record in failed/", dead)

        log = sender.text()
        s.check("evil\\nsender: forged line.json" in log,
                "trust: a file name with a newline is logged escaped", log[-1500:])
        s.check(not any(line.startswith("sender: forged line") for line in log.splitlines()),
                "trust: ... and does not split the log line")
        for d in ("active", "deferred", "failed"):
            st = os.stat(os.path.join(spool, d))
            s.check(st.st_mode & 0o007 == 0 and st.st_gid == os.getegid(),
                    "trust: %s/ is closed to others and has the sender's group" % d,
                    oct(st.st_mode))
        s.eq(sender.stop(), 0, "trust: exits 0 on SIGTERM")
        sender = None

        # spool/.pruned as a symbolic link: a --once run must not touch what it points to.
        target = os.path.join(outside, "pruned-target")
        with open(target, "w") as f:
            f.write("x")
        old = time.time() - 3 * 86400
        os.utime(target, (old, old))
        pruned = os.path.join(spool, ".pruned")
        if os.path.lexists(pruned):
            os.unlink(pruned)
        os.symlink(target, pruned)
        once = h.Sender(env, once=True)
        try:
            once.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        once.stop()
        s.check(abs(os.stat(target).st_mtime - old) < 1,
                "trust: a symbolic link at spool/.pruned is not followed", once.text()[-800:])
        s.check(os.path.islink(pruned), "trust: ... and is left as it is")
    finally:
        h.stop_all(sender, rcv)
    return env


def identity_flow(s):
    """SPEC section 3, identity without rewriting: an event file without eventId or
    timestamp takes them from its name and mtime, is never rewritten, and keeps its
    identity on every attempt; text "eventId" inside data changes nothing."""
    rcv = Receiver(slow_seconds=4.0)
    env = h.Env("sender-identity", allow_private_targets="yes", retry_schedule="1s",
                delivery_timeout="2", log_level="info")
    sender = None
    try:
        make_webhooks(env, [("ident", rcv.url + "/ok/ident", ["Ok:*"]),
                            ("ident", rcv.url + "/slow/ident", ["Slow:*"])])
        mtime = 1795888800                      # 2026-11-28T18:00:00Z

        def drop_dated(name, event):
            tmp = os.path.join(env.spool, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(json.dumps(event).encode())
                f.flush()
                os.fsync(f.fileno())
            os.utime(tmp, (mtime, mtime))
            inode = os.stat(tmp).st_ino
            os.rename(tmp, os.path.join(env.spool, "new", name))
            return inode

        drop_dated("plain-1.json", {"eventType": "Ok:Created", "tenantId": "ident"})
        drop_dated("inside data.json", {"eventType": "Ok:Created", "tenantId": "ident",
                                        "data": {"note": "\"eventId\": not mine"}})
        slow_inode = drop_dated("slow-1.json", {"eventType": "Slow:Created",
                                                "tenantId": "ident"})
        sender = h.Sender(env)
        active_slow = os.path.join(env.spool, "active", "slow-1.json")
        s.check(rcv.wait("/slow/ident", 1, 15), "identity: the slow event is being delivered")
        st = os.stat(active_slow) if os.path.exists(active_slow) else None
        s.check(st is not None and st.st_ino == slow_inode and st.st_mtime == mtime,
                "identity: the claimed file is the producer's own, never rewritten",
                st and (st.st_ino, slow_inode, st.st_mtime))
        s.check(rcv.wait("/ok/ident", 2, 15), "identity: events without eventId delivered")
        s.check(rcv.wait("/slow/ident", 2, 15), "identity: the slow one is tried again")
        bodies = {json.loads(r["body"])["eventId"]: json.loads(r["body"])
                  for r in rcv.on("/ok/ident")}
        s.check("plain-1.json" in bodies, "identity: an absent eventId is the file's name",
                list(bodies))
        hashed = [i for i in bodies if i.startswith("file_")]
        want = "file_" + hashlib.sha256(b"inside data.json").hexdigest()[:32]
        s.eq(hashed, [want], "identity: a name that is no id gives file_ and its hash, even "
             "with \"eventId\" inside data")
        s.check(all(b["timestamp"] == "2026-11-28T18:00:00Z" for b in bodies.values()),
                "identity: an absent timestamp is the file's mtime",
                [b["timestamp"] for b in bodies.values()])
        slow = rcv.on("/slow/ident")
        s.check(len(slow) >= 2 and len({r["body"] for r in slow}) == 1 and
                len({r["headers"]["x-neostore-delivery"] for r in slow}) == 1,
                "identity: every attempt sends the same bytes under the same delivery id")
        s.eq(sender.stop(), 0, "identity: exits 0 on SIGTERM")
        sender = None
    finally:
        h.stop_all(sender, rcv)
    return env


PRODUCER_PROBE = r"""
import os, sys
spool = sys.argv[1]
def attempt(what, fn):
    try:
        fn()
        print(what, "ok")
    except OSError as e:
        print(what, type(e).__name__)
def write(path):
    with open(path, "w") as f:
        f.write("{}")
attempt("tmp", lambda: write(os.path.join(spool, "tmp", "p.json")))
attempt("new", lambda: os.rename(os.path.join(spool, "tmp", "p.json"),
                                 os.path.join(spool, "new", "p.json")))
for d in ("active", "deferred", "failed"):
    attempt(d, lambda: write(os.path.join(spool, d, "forged")))
    attempt(d + "-mkdir", lambda: os.mkdir(os.path.join(spool, d, "dlv-")))
attempt("root", lambda: os.mkdir(os.path.join(spool, "planted")))
"""


def producer_flow(s):
    """SPEC sections 3 and 5: a producer in the spool's producers group (numeric ids here,
    no account needed) can publish into tmp/ and new/ and write nothing the sender owns,
    however the directories were left: the sender closes its own at start."""
    # The producer (another uid) must reach the scratch tree even from a checkout under
    # a 0700 directory (mktemp -d): give this flow a root of its own in /tmp.
    h.TMP_ROOT = tempfile.mkdtemp(prefix="hookspool-producer-")
    os.chmod(h.TMP_ROOT, 0o755)
    atexit.register(shutil.rmtree, h.TMP_ROOT, True)
    env = h.Env("sender-producer", log_level="info")
    sender = None
    producers, producer_uid = 4242, 4243
    try:
        for d in ("tmp", "new", "active", "deferred", "failed"):
            os.makedirs(os.path.join(env.spool, d))
        os.chmod(env.dir, 0o711)
        os.chmod(env.spool, 0o2771)
        # As a single-group setup left them: every directory the producers' group, 2770.
        for d in ("tmp", "new", "active", "deferred", "failed"):
            path = os.path.join(env.spool, d)
            os.chown(path, -1, producers)
            os.chmod(path, 0o2770)
        sender = h.Sender(env)
        s.check(h.wait_for(lambda: "sender: started" in sender.text(), 15), "producer: sender starts",
                sender.text()[-800:])
        s.eq(sender.stop(), 0, "producer: sender exits 0")
        sender = None
        r = subprocess.run(["python3", "-c", PRODUCER_PROBE, env.spool], capture_output=True,
                           text=True, timeout=30, user=producer_uid, group=producers,
                           extra_groups=[producers])
        got = dict(line.split(" ", 1) for line in r.stdout.splitlines())
        s.eq((got.get("tmp"), got.get("new")), ("ok", "ok"),
             "producer: publishes through tmp/ into new/")
        for d in ("active", "deferred", "failed"):
            s.eq((got.get(d), got.get(d + "-mkdir")), ("PermissionError", "PermissionError"),
                 "producer: cannot write or prepare a directory in %s/" % d)
        s.eq(got.get("root"), "PermissionError", "producer: cannot write spool_dir itself")
    finally:
        h.stop_all(sender)
    return env


def quiet_flow(s):
    """deferred/ is not listed again while nothing in it can be due (a parked backlog would
    cost a stat per file every second): a retry due after deferred/ has been quiet for
    seconds is still made on time, and a dead letter requeued into a quiet deferred/ is
    tried within a couple of seconds."""
    rcv = Receiver()
    env = h.Env("sender-quiet", allow_private_targets="yes", retry_schedule="5s,5s",
                log_level="info")
    sender = None
    try:
        (hook,) = make_webhooks(env, [("quiet", rcv.url + "/fail/q", ["*"])])
        sender = h.Sender(env)
        emit(env, "quiet", "Pass:Created")
        # Its threads have names, as ps -L and top -H show them (docs/sender.md).
        names = set()

        def named():
            names.clear()
            for tid in listdir("/proc/%d/task" % sender.proc.pid):
                try:
                    with open("/proc/%d/task/%s/comm" % (sender.proc.pid, tid)) as f:
                        names.add(f.read().strip())
                except OSError:
                    pass
            return {"hs-claimer", "hs-committer", "hs-unlinker", "hs-parker", "hs-requests",
                    "hs-metrics", "hs-watchdog"} <= names
        s.check(h.wait_for(named, 10), "quiet: the sender's threads are named", sorted(names))
        s.check(rcv.wait("/fail/q", 3, 30), "quiet: three attempts (retry_schedule 5s,5s)",
                len(rcv.on("/fail/q")))
        tries = rcv.on("/fail/q")
        if len(tries) >= 3:
            gaps = [tries[i + 1]["time"] - tries[i]["time"] for i in range(2)]
            # 5 s, plus up to 10 % jitter rounded up to the second, checked every second.
            s.check(all(4.9 <= g <= 7.9 for g in gaps),
                    "quiet: retries due 5 s after a quiet deferred/ are made on time", gaps)
        failed_dir = os.path.join(env.spool, "failed")
        s.check(h.wait_for(lambda: any(n.startswith("dlv-") and not n.endswith(".reason")
                                     for n in listdir(failed_dir)), 10),
                "quiet: after the last attempt the delivery is in failed/", listdir(failed_dir))
        time.sleep(3)           # deferred/ is empty and quiet: the sender stops listing it
        t_requeue = time.time()
        r = env.cli("requeue")
        s.check(r.returncode == 0, "quiet: hookspool requeue", r.stderr)
        s.check(rcv.wait("/fail/q", 4, 10), "quiet: the requeued delivery is tried again")
        if len(rcv.on("/fail/q")) >= 4:
            late = rcv.on("/fail/q")[3]["time"] - t_requeue
            s.check(late < 3.0, "quiet: a record requeued into a quiet deferred/ is tried "
                    "within 3 s", "%.1f s" % late)
            s.eq(rcv.on("/fail/q")[3]["headers"]["x-neostore-webhook"], hook["id"],
                 "quiet: the same webhook")
    finally:
        h.stop_all(sender, rcv)
    return env

def main():
    # HOOKSPOOL_SENDER_FLOWS=trust,main runs only those flows (while working on one).
    h.run_flows(h.Suite("sender"),
                [trust_flow, identity_flow, producer_flow, main_flow, flood_flow,
                 isolation_flow, kill_flow, shared_flow, nolock_flow, quiet_flow],
                "HOOKSPOOL_SENDER_FLOWS")


if __name__ == "__main__":
    main()
