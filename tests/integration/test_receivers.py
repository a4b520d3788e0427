"""The PHP receiver of docs/receivers.md, exactly as printed there, served by PHP's
built-in web server (Debian's php-cli, tests/deps.d/php.sh) and fed real deliveries by
hookspool-sender: it must answer 204 to deliveries signed with its secret, in hex and in
base64, and 401 to deliveries signed with another webhook's secret and to a tampered
body. (The Python and Node.js checks run in the cli_events and sender suites; the C#
example is not run anywhere: .NET is not in Debian's archive.)"""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

s = h.Suite("receivers")
SENDER = os.path.join(h.BUILD, "hookspool-sender")


def php_snippet():
    with open(os.path.join(h.SRC, "docs", "receivers.md"), encoding="utf-8") as f:
        doc = f.read()
    m = re.search(r"^#### PHP\n\n```php\n(.*?)^```", doc, re.S | re.M)
    return m.group(1) if m else None


def deliveries(env, tenant):
    r = env.cli("deliveries", "--tenant", tenant, "--json")
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


def statuses(env, tenant, webhook):
    """HTTP status of each attempt to webhook, oldest first."""
    return [d.get("status") for d in reversed(deliveries(env, tenant))
            if d.get("webhookId") == webhook]


php = shutil.which("php")
snippet = php_snippet()
s.check(snippet and "hash_equals" in snippet, "docs/receivers.md has the PHP receiver")
s.check(php is not None, "php is installed (tests/deps.d/php.sh)")

env = h.Env("receivers", allow_private_targets="yes", retry_schedule="1h")
srv = php_srv = sender = None
try:
    if php and snippet:
        srv = h.lighttpd(env)
        key = env.apikey("acme")

        def create(events):
            st, _, body = h.request("POST", srv.url + "/api/acme/webhooks",
                                    {"events": events, "endpoint": endpoint},
                                    {"X-API-KEY": key})
            if st != 200:
                raise RuntimeError("create: %d %s" % (st, body))
            return json.loads(body)

        php_port = h.free_port()
        endpoint = "http://127.0.0.1:%d/hooks" % php_port
        mine = create(["Php:*"])            # the secret the PHP receiver is given
        other = create(["Php:*"])           # same endpoint, another secret: refused
        script = os.path.join(env.dir, "receiver.php")
        with open(script, "w") as f:
            f.write(snippet)
        php_env = dict(os.environ, HOOKSPOOL_WEBHOOK_SECRET=mine["signatureSecret"])
        # The script is the router: it answers every request, as a front controller would.
        php_srv = h.Server([php, "-S", "127.0.0.1:%d" % php_port, script], php_port,
                           os.path.join(env.dir, "php.log"), env=php_env)

        # Direct requests first: the snippet's answers on bodies we sign ourselves.
        body = b'{"eventId":"e-1","eventType":"Php:Direct","tenantId":"acme","data":{"x":"\xc3\xa9"}}'
        mac = hmac.new(mine["signatureSecret"].encode(), body, hashlib.sha256).digest()
        for what, sig, payload, want in [
                ("hex", mac.hex(), body, 204),
                ("uppercase hex", mac.hex().upper(), body, 204),
                ("base64", base64.b64encode(mac).decode(), body, 204),
                ("a tampered body", mac.hex(), body.replace(b"e-1", b"e-2"), 401),
                ("no signature", None, body, 401)]:
            hdrs = {"Content-Type": "application/json"}
            if sig is not None:
                hdrs["X-NEOSTORE-SIGNATURE"] = sig
            st, _, _ = h.request("POST", endpoint, payload, hdrs)
            s.eq(st, want, "PHP receiver, direct request with %s: %d" % (what, want))

        # A rotation's overlap: either header may carry the signature of the secret it holds.
        other_mac = hmac.new(other["signatureSecret"].encode(), body, hashlib.sha256).hexdigest()
        for what, current, previous, want in [
                ("its secret as the previous one", other_mac, mac.hex(), 204),
                ("its secret as the current one", mac.hex(), other_mac, 204),
                ("its secret in neither header", other_mac, other_mac, 401)]:
            st, _, _ = h.request("POST", endpoint, body, {
                "Content-Type": "application/json", "X-NEOSTORE-SIGNATURE": current,
                "X-NEOSTORE-SIGNATURE-PREVIOUS": previous})
            s.eq(st, want, "PHP receiver, a request with %s: %d" % (what, want))

        # Real deliveries, in both encodings the sender can be configured for.
        for encoding in ("hex", "base64"):
            env.write_conf(signature_encoding=encoding)
            sender = subprocess.Popen([SENDER, "--foreground", "--config", env.conf],
                                      stdout=open(os.path.join(env.dir, "sender.log"), "ab"),
                                      stderr=subprocess.STDOUT)
            r = env.cli("emit", "--tenant", "acme", "--type", "Php:Created",
                        "--data", '{"passId":"p-%s","name":"caf\u00e9"}' % encoding)
            s.eq(r.returncode, 0, "emit (%s)" % r.stderr)
            n = 1 if encoding == "hex" else 2
            done = h.wait_for(lambda: len(statuses(env, "acme", mine["id"])) >= n and
                            len(statuses(env, "acme", other["id"])) >= n, 15)
            s.check(done, "%s: both deliveries were attempted" % encoding, deliveries(env, "acme"))
            s.eq(statuses(env, "acme", mine["id"])[n - 1:n], [204],
                 "%s: the PHP receiver accepts a real delivery signed with its secret" % encoding)
            s.eq(statuses(env, "acme", other["id"])[n - 1:n], [401],
                 "%s: and refuses one signed with another webhook's secret" % encoding)
            sender.terminate()
            sender.wait(timeout=30)
            sender = None

        # A real delivery during a rotation's overlap: the receiver still holds the old secret.
        st, _, _ = h.request("POST", srv.url + "/api/acme/webhooks/%s/rotate-secret" % mine["id"],
                             {"overlapSeconds": 3600}, {"X-API-KEY": key})
        s.eq(st, 200, "rotate the PHP receiver's webhook's secret")
        sender = subprocess.Popen([SENDER, "--foreground", "--config", env.conf],
                                  stdout=open(os.path.join(env.dir, "sender.log"), "ab"),
                                  stderr=subprocess.STDOUT)
        env.cli("emit", "--tenant", "acme", "--type", "Php:Rotated", "--data", "{}")
        s.check(h.wait_for(lambda: len(statuses(env, "acme", mine["id"])) >= 3, 15),
                "rotated: the delivery was attempted", deliveries(env, "acme"))
        s.eq(statuses(env, "acme", mine["id"])[2:3], [204],
             "during the overlap the PHP receiver, holding only the old secret, accepts a real "
             "delivery (X-NEOSTORE-SIGNATURE-PREVIOUS)")
        sender.terminate()
        sender.wait(timeout=30)
        sender = None
finally:
    if sender:
        sender.kill()
        sender.wait()
    for server in (php_srv, srv):
        if server:
            server.stop()
    env.cleanup()
s.done()
