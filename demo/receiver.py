#!/usr/bin/env python3
"""The demo receiver ./run-local starts: a webhook endpoint on 127.0.0.1 that
checks the X-NEOSTORE-SIGNATURE of every delivery and writes one line per
delivery to its log (standard output; ./run-local sends it to run/receiver.log).

    demo/receiver.py --port 8081 --api http://127.0.0.1:8080/api --key-file run/demo-key

A real receiver keeps its webhook's signatureSecret in its own configuration.
This one does not know the secrets in advance, so it asks the API for the
webhook named in X-NEOSTORE-WEBHOOK (GET /api/{tenantId}/webhooks/{id} with the
API key in --key-file) and keeps the answer. It then verifies the signature the
way docs/receivers.md describes: HMAC-SHA256 over the raw body bytes, keyed with
the secret, compared in constant time, in X-NEOSTORE-SIGNATURE or (during a
secret rotation's overlap) X-NEOSTORE-SIGNATURE-PREVIOUS. 204 when one matches,
401 when none does (the sender then retries). Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def signature_valid(secret: str, body: bytes, presented: str) -> bool:
    mac = hmac.new(secret.encode("ascii"), body, hashlib.sha256).digest()
    presented = presented.strip()
    if len(presented) == 64:
        expected, presented = mac.hex(), presented.lower()
    else:
        expected = base64.b64encode(mac).decode("ascii")
    return hmac.compare_digest(expected.encode("ascii"), presented.encode("ascii", "replace"))


class Secrets:
    """signatureSecret by (tenant, webhook id), fetched from the API once."""

    def __init__(self, api, key_file):
        self.api = api.rstrip("/")
        self.key_file = key_file
        self.cache = {}
        self.lock = threading.Lock()

    def get(self, tenant, webhook, refresh=False):
        with self.lock:
            if not refresh and (tenant, webhook) in self.cache:
                return self.cache[(tenant, webhook)], None
        try:
            with open(self.key_file) as f:
                key = f.read().strip()
        except OSError as e:
            return None, "cannot read the API key: %s" % e
        url = "%s/%s/webhooks/%s" % (self.api, urllib.parse.quote(tenant, safe=""),
                                     urllib.parse.quote(webhook, safe=""))
        req = urllib.request.Request(url, headers={"X-API-KEY": key})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                secret = json.load(resp)["signatureSecret"]
        except urllib.error.HTTPError as e:
            return None, "GET %s answered %d (the demo key reads only its own tenant)" % (url, e.code)
        except (OSError, ValueError, KeyError) as e:
            return None, "GET %s failed: %s" % (url, e)
        with self.lock:
            self.cache[(tenant, webhook)] = secret
        return secret, None


def make_handler(secrets, out):
    write_lock = threading.Lock()

    def log(line):
        with write_lock:
            out.write(line + "\n")
            out.flush()

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "hookspool-demo-receiver"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)            # the raw bytes, before any parsing
            # During a secret rotation the previous secret signs too: either header may match.
            sigs = [self.headers[h] for h in ("X-NEOSTORE-SIGNATURE",
                                              "X-NEOSTORE-SIGNATURE-PREVIOUS")
                    if self.headers.get(h) is not None]
            webhook = self.headers.get("X-NEOSTORE-WEBHOOK", "?")
            delivery = self.headers.get("X-NEOSTORE-DELIVERY", "?")
            attempt = self.headers.get("X-NEOSTORE-ATTEMPT", "?")
            try:
                event = json.loads(body)
                tenant = str(event.get("tenantId", ""))
            except ValueError:
                event, tenant = None, ""
            secret, why = secrets.get(tenant, webhook)
            ok = secret is not None and any(signature_valid(secret, body, s) for s in sigs)
            if secret is not None and not ok:
                # The secret may have been rotated (or the id reused): ask once more.
                secret, why = secrets.get(tenant, webhook, refresh=True)
                ok = secret is not None and any(signature_valid(secret, body, s) for s in sigs)
            verdict = "verified" if ok else "NOT VERIFIED"
            if not ok and why is None:
                why = "no signature header matches the webhook's signatureSecret"
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            etype = event.get("eventType", "?") if isinstance(event, dict) else "?"
            data = json.dumps(event.get("data"), separators=(",", ":")) \
                if isinstance(event, dict) else body[:200].decode("utf-8", "replace")
            log("%s %s %s webhook=%s tenant=%s delivery=%s attempt=%s data=%s%s"
                % (stamp, verdict, etype, webhook, tenant or "?", delivery, attempt, data,
                   "" if ok else "  (" + why + ")"))
            self.send_response(204 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, fmt, *args):
            pass                                      # one line per delivery is enough

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--api", required=True, help="the API's base URL, e.g. http://127.0.0.1:8080/api")
    p.add_argument("--key-file", required=True, help="a file holding an API key with Webhook.Read")
    args = p.parse_args()
    secrets = Secrets(args.api, args.key_file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port),
                                             make_handler(secrets, sys.stdout))
    print("%s demo receiver listening on http://127.0.0.1:%d/hook"
          % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), args.port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
