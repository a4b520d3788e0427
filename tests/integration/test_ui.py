"""The management UI (www/) end to end: lighttpd serves www/ and the API on one
origin, and tests/e2e/ui.test.mjs drives Debian's headless Chromium through
sign-in, create, edit, disable, delete, validation errors (client- and
server-side), the secret, 401/403, phone width and the OAuth2 return. Each of
its lines becomes one check here. Screenshots go to tests/tmp/ui-screenshots/.
Also checks that www/ is self-contained (no CDN, CSP present).

Delivery operations run against a third server with a real hookspool-sender
and a recording receiver on 127.0.0.1 (200, 500 and 410 Gone by path), so that
the deliveries the page lists, pages through, opens, redelivers and pings are
real ones, and a rotated secret is checked on the wire."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("ui")
WWW = os.path.join(h.SRC, "www")
E2E = os.path.join(h.SRC, "tests", "e2e")
SHOTS = os.path.join(h.TMP_ROOT, "ui-screenshots")

# --- Static checks of www/: every file it loads comes from the same server.
for name in ("index.html", "app.js", "app.css", "config.js", "openapi.json"):
    suite.check(os.path.isfile(os.path.join(WWW, name)), "www/%s exists" % name)
with open(os.path.join(WWW, "index.html"), encoding="utf-8") as f:
    index = f.read()
refs = re.findall(r'(?:src|href)="([^"]+)"', index)
external = [r for r in refs if re.match(r"^(https?:)?//", r)]
suite.eq(external, [], "index.html loads nothing from another origin")
suite.check(re.search(r'http-equiv="Content-Security-Policy" content="default-src \'self\'', index),
            "index.html has a CSP meta tag with default-src 'self'")
suite.eq(re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", index), [], "index.html has no inline script")
suite.eq(re.findall(r"\son[a-z]+\s*=", index), [], "index.html has no inline event handlers")
with open(os.path.join(WWW, "app.js"), encoding="utf-8") as f:
    app = f.read()
suite.eq(re.findall(r"\.innerHTML\s*=|insertAdjacentHTML|document\.write", app), [],
         "app.js never inserts HTML")
suite.eq(re.findall(r"localStorage\.setItem|document\.cookie\s*=", app), [],
         "app.js keeps credentials out of localStorage and cookies")

# --- The browser test.
node = shutil.which("node")
chromium = "/usr/bin/chromium"
have_tools = suite.check(node is not None, "node is installed (tests/deps.d/ui.sh)")
have_tools &= suite.check(os.access(chromium, os.X_OK), "Debian's chromium is installed")
have_tools &= suite.check(os.path.isdir(os.path.join(E2E, "node_modules", "playwright-core")),
                          "playwright-core is installed in tests/e2e (npm ci)")
have_tools &= suite.check(os.path.isfile(os.path.join(E2E, "node_modules", "axe-core", "axe.min.js")),
                          "axe-core is installed in tests/e2e (npm ci)")

ISS, AUD = "https://idp.ui.test/", "https://hookspool.test/api"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(secret, claims):
    """A compact HS256 JWS, as the stand-in identity provider of the browser test hands out."""
    signing = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + \
        b64u(json.dumps(claims).encode())
    return signing + "." + b64u(hmac.new(secret, signing.encode(), hashlib.sha256).digest())


class Receiver:
    """Records every POST; answers by path: /ok/* 200 (500 to an event whose data
    says "refuse"), /fail/* 500, /gone/* 410. GET /_log gives the test in the
    browser what arrived (headers, body)."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, payload=b""):
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rec.lock:
                    rec.requests.append({"path": self.path, "body": body.decode("utf-8", "replace"),
                                         "headers": {k.lower(): v for k, v in self.headers.items()}})
                kind = self.path.split("/")[1]
                status = {"ok": 200, "fail": 500, "gone": 410}.get(kind, 404)
                if kind == "ok" and b'"refuse"' in body:
                    status = 500
                self.reply(status)

            def do_GET(self):
                with rec.lock:
                    self.reply(200, json.dumps(rec.requests).encode())

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", h.free_port()), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, prefix):
        with self.lock:
            return sum(1 for r in self.requests if r["path"].startswith(prefix))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return bool(cond())


def ops_setup(srv, env, rcv):
    """Three webhooks with real deliveries behind them: 25 to /ok (2 of them refused
    until they end failed), 2 that end failed at /fail, and one answered 410 at
    /gone, which disables its webhook."""
    tenant = "acme-ops"
    key = env.apikey(tenant)
    read_key = env.apikey(tenant, scopes="Webhook.Read", label="read-only")

    def call(method, path, body=None):
        st, _, data = h.request(method, "%s/api/%s/webhooks%s" % (srv.url, tenant, path), body,
                                {"X-API-KEY": key})
        return st, h.as_json(data)

    hooks = {}
    for name, desc, path, events in (("ok", "Orders to the CRM", "/ok/crm", ["Order:*"]),
                                     ("fail", "Invoices to a broken ERP", "/fail/erp", ["Invoice:*"]),
                                     ("gone", "Old shop", "/gone/shop", ["Shop:*"])):
        st, doc = call("POST", "", {"description": desc, "endpoint": rcv.url + path, "events": events})
        suite.eq(st, 200, "ops: webhook %s created" % name)
        hooks[name] = (doc or {}).get("id", "")
    events = [("Order:Cancelled" if i == 7 else "Order:Created",
               {"orderId": "o-%03d" % i, "note": "refuse" if i in (12, 21) else "<b>not markup</b>"})
              for i in range(25)]
    events += [("Invoice:Overdue", {"invoice": i}) for i in range(2)] + [("Shop:Closed", {})]
    failed = [r.stderr for r in (env.cli("emit", "--tenant", tenant, "--type", t, "--data", json.dumps(d))
                                 for t, d in events) if r.returncode != 0]
    suite.eq(failed, [], "ops: 28 events emitted")
    def settled(hook, total, failed):
        st, lst = call("GET", "/%s/deliveries?limit=250" % hook)
        return st == 200 and len(lst) == total and \
            sorted(d["status"] for d in lst) == ["failed"] * failed + ["succeeded"] * (total - failed)
    suite.check(wait_for(lambda: settled(hooks["ok"], 25, 2), 60),
                "ops: 25 deliveries to /ok settled: 23 succeeded, 2 failed", rcv.count("/ok/"))
    suite.check(wait_for(lambda: (call("GET", "/" + hooks["gone"])[1] or {}).get("enabled") is False, 60),
                "ops: 410 Gone disabled the webhook at /gone")

    suite.check(wait_for(lambda: settled(hooks["fail"], 2, 2), 60), "ops: both deliveries to /fail ended failed")
    return {"tenant": tenant, "key": key, "readKey": read_key, "receiver": rcv.url, "hooks": hooks}


env = h.Env("ui", allow_http_endpoints="no")
secret = os.urandom(32).hex().encode()
secret_path = os.path.join(env.dir, "hs256.secret")
with open(secret_path, "wb") as f:
    f.write(secret + b"\n")
env.write_conf(jwt_issuer=ISS, jwt_audience=AUD, jwt_hs256_secret_file=secret_path,
               jwt_tenant_claim="tenants")
srv = srv_http = srv_ops = sender = rcv = None
# A second server as ./run-local configures it: http:// endpoints allowed.
env_http = h.Env("ui-http", allow_http_endpoints="yes")
# A third one with a sender and a receiver on 127.0.0.1, for the delivery operations.
env_ops = h.Env("ui-ops", allow_http_endpoints="yes", allow_private_targets="yes",
                retry_schedule="1s,1s", delivery_timeout="5")
try:
    if have_tools:
        srv = h.lighttpd(env, docroot=WWW)
        srv_http = h.lighttpd(env_http, docroot=WWW)
        srv_ops = h.lighttpd(env_ops, docroot=WWW)
        rcv = Receiver()
        os.makedirs(env_ops.spool, exist_ok=True)
        sender_log = open(os.path.join(env_ops.dir, "sender.log"), "ab")
        sender = subprocess.Popen([os.path.join(h.BUILD, "hookspool-sender"), "--foreground",
                                   "--config", env_ops.conf], stdout=sender_log, stderr=subprocess.STDOUT)
        ops = ops_setup(srv_ops, env_ops, rcv)
        ops["base"] = srv_ops.url
        key_http = env_http.apikey("acme-http")
        tenant = "acme-ui"
        key = env.apikey(tenant)
        now = int(time.time())
        claims = {"iss": ISS, "aud": AUD, "sub": "ui-admin", "iat": now, "exp": now + 900,
                  "scope": "openid Webhook.Read Webhook.Write", "tenants": [tenant]}
        good = hs256(secret, claims)
        forged = hs256(b"not-the-server-secret-at-all-0123456789", claims)
        shutil.rmtree(SHOTS, ignore_errors=True)
        try:
            run = subprocess.run([node, os.path.join(E2E, "ui.test.mjs"), srv.url, key, tenant, SHOTS],
                                 capture_output=True, text=True, timeout=360, cwd=E2E,
                                 env=dict(os.environ, HOOKSPOOL_E2E_TOKEN=good,
                                          HOOKSPOOL_E2E_BAD_TOKEN=forged,
                                          HOOKSPOOL_E2E_AUDIENCE=AUD,
                                          HOOKSPOOL_E2E_HTTP_BASE=srv_http.url,
                                          HOOKSPOOL_E2E_HTTP_KEY=key_http,
                                          HOOKSPOOL_E2E_HTTP_TENANT="acme-http",
                                          HOOKSPOOL_E2E_OPS=json.dumps(ops)))
            out, err, rc = run.stdout, run.stderr, run.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            err, rc = "timed out after 360 s", -1
        checks = 0
        summary = None
        for line in out.splitlines():
            if line.startswith("ok - "):
                suite.check(True, line[5:])
                checks += 1
            elif line.startswith("not ok - "):
                name, _, detail = line[9:].partition(": ")
                suite.check(False, "browser: " + name, detail)
                checks += 1
            elif line.startswith("done "):
                summary = line
        suite.check(summary is not None, "the browser test ran to the end",
                    "exit %s; stderr: %s" % (rc, err[-2000:]))
        suite.check(checks >= 60, "the browser test made its checks", "only %d" % checks)
        if summary is not None and summary.endswith(" 0 failed"):
            suite.eq(rc, 0, "the browser test exits 0 when nothing failed")
        for name in ("list-desktop", "list-phone", "server-validation", "client-validation",
                     "deliveries-desktop", "delivery-dialog", "rotate-dialog", "sender-disabled",
                     "deliveries-phone"):
            p = os.path.join(SHOTS, name + ".png")
            suite.check(os.path.isfile(p) and os.path.getsize(p) > 5000, "screenshot %s saved" % name)
finally:
    if sender is not None:
        sender.terminate()
        try:
            sender.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sender.kill()
            sender.wait()
        sender_log.close()
    for server in (srv, srv_http, srv_ops, rcv):
        if server:
            server.stop()
    env.cleanup()
    env_http.cleanup()
    env_ops.cleanup()
suite.done()
