"""The management UI (www/) end to end: lighttpd serves www/ and the API on one
origin, and tests/e2e/ui.test.mjs drives Debian's headless Chromium through
sign-in, create, edit, disable, delete, validation errors (client- and
server-side), the secret, 401/403, phone width and the OAuth2 return. Each of
its lines becomes one check here. Screenshots go to tests/tmp/ui-screenshots/.
Also checks that www/ is self-contained (no CDN, CSP present)."""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
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

ISS, AUD = "https://idp.ui.test/", "https://hookspool.test/api"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(secret, claims):
    """A compact HS256 JWS, as the stand-in identity provider of the browser test hands out."""
    signing = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + \
        b64u(json.dumps(claims).encode())
    return signing + "." + b64u(hmac.new(secret, signing.encode(), hashlib.sha256).digest())


env = h.Env("ui", allow_http_endpoints="no")
secret = os.urandom(32).hex().encode()
secret_path = os.path.join(env.dir, "hs256.secret")
with open(secret_path, "wb") as f:
    f.write(secret + b"\n")
env.write_conf(jwt_issuer=ISS, jwt_audience=AUD, jwt_hs256_secret_file=secret_path,
               jwt_tenant_claim="tenants")
srv = srv_http = None
# A second server as ./run-local configures it: http:// endpoints allowed.
env_http = h.Env("ui-http", allow_http_endpoints="yes")
try:
    if have_tools:
        srv = h.lighttpd(env, docroot=WWW)
        srv_http = h.lighttpd(env_http, docroot=WWW)
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
                                 capture_output=True, text=True, timeout=240, cwd=E2E,
                                 env=dict(os.environ, HOOKSPOOL_E2E_TOKEN=good,
                                          HOOKSPOOL_E2E_BAD_TOKEN=forged,
                                          HOOKSPOOL_E2E_AUDIENCE=AUD,
                                          HOOKSPOOL_E2E_HTTP_BASE=srv_http.url,
                                          HOOKSPOOL_E2E_HTTP_KEY=key_http,
                                          HOOKSPOOL_E2E_HTTP_TENANT="acme-http"))
            out, err, rc = run.stdout, run.stderr, run.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            err, rc = "timed out after 240 s", -1
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
        for name in ("list-desktop", "list-phone", "server-validation", "client-validation"):
            p = os.path.join(SHOTS, name + ".png")
            suite.check(os.path.isfile(p) and os.path.getsize(p) > 5000, "screenshot %s saved" % name)
finally:
    for server in (srv, srv_http):
        if server:
            server.stop()
    env.cleanup()
    env_http.cleanup()
suite.done()
