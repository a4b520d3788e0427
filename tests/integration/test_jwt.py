"""OAuth2 bearer tokens (SPEC section 2, issue 4) through the real API behind
lighttpd: RSA and EC keys generated here with the openssl CLI, tokens signed
here (RS256, ES256 via DER -> r||s, HS256 with hmac), keys from a JWKS file,
an HS256 secret file and a JWKS URL served by a local HTTP server (rotation,
scheduled refresh, rate-limited refetch for an unknown kid, URL down)."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import threading
import time

import harness as h

suite = h.Suite("jwt")
ISS = "https://idp.test/"
AUD = "hookspool-api"
TENANTS = "https://hookspool.test/tenants"   # a namespaced claim, as Auth0 requires


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def run(*argv, data=None):
    return subprocess.run(argv, input=data, capture_output=True, check=True, timeout=60).stdout


class Key:
    """A private key made with the openssl CLI, and its public JWK."""

    def __init__(self, directory, kind, kid):
        self.kind, self.kid = kind, kid
        self.path = os.path.join(directory, kid + ".pem")
        if kind == "RSA":
            run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", self.path)
            modulus = run("openssl", "rsa", "-in", self.path, "-noout", "-modulus").decode()
            n = bytes.fromhex(modulus.strip().split("=", 1)[1])
            self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                        "n": b64u(n), "e": b64u((65537).to_bytes(3, "big"))}
            self.alg = "RS256"
        else:
            run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", self.path)
            der = run("openssl", "pkey", "-in", self.path, "-pubout", "-outform", "DER")
            point = der[-65:]
            assert point[0] == 4
            self.jwk = {"kty": "EC", "kid": kid, "crv": "P-256",
                        "x": b64u(point[1:33]), "y": b64u(point[33:])}
            self.alg = "ES256"
        self.public_pem = run("openssl", "pkey", "-in", self.path, "-pubout")

    def sign(self, data):
        sig = run("openssl", "dgst", "-sha256", "-sign", self.path, data=data)
        return der_to_raw(sig) if self.kind == "EC" else sig


def der_to_raw(der):
    """ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) to JOSE r || s, 32 bytes each."""
    assert der[0] == 0x30
    pos = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b""
    for _ in range(2):
        assert der[pos] == 0x02
        length = der[pos + 1]
        value = der[pos + 2:pos + 2 + length]
        out += value.lstrip(b"\0").rjust(32, b"\0")
        pos += 2 + length
    return out


def claims(**changes):
    now = int(time.time())
    c = {"iss": ISS, "aud": AUD, "sub": "user-1", "iat": now, "exp": now + 600,
         "scope": "openid Webhook.Read Webhook.Write", TENANTS: ["acme"]}
    for k, v in changes.items():
        k = TENANTS if k == "tenants" else k
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def token(key, header=None, body=None, sign_with=None):
    """A compact JWS. key is a Key, or bytes for HS256; header defaults from the key."""
    if header is None:
        header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"} if isinstance(key, Key) else \
                 {"alg": "HS256", "typ": "JWT"}
    body = claims() if body is None else body
    signing = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(body).encode())).encode()
    if sign_with is not None:
        sig = hmac.new(sign_with, signing, hashlib.sha256).digest()
    elif isinstance(key, Key):
        sig = key.sign(signing)
    else:
        sig = hmac.new(key, signing, hashlib.sha256).digest()
    return signing.decode() + "." + b64u(sig)


def call(url, tok, method="GET", tenant="acme", body=None, headers=None):
    hdrs = {"Authorization": "Bearer " + tok} if tok is not None else {}
    hdrs.update(headers or {})
    return h.request(method, url + "/api/%s/webhooks" % tenant, body, hdrs)


def expect(url, tok, status, what, method="GET", tenant="acme", error=None, says=None,
           body=None, headers=None):
    st, hdrs, data = call(url, tok, method, tenant, body, headers)
    ok = suite.eq(st, status, what)
    challenge = hdrs.get("www-authenticate", "")
    if error is not None:
        suite.check('error="%s"' % error in challenge, what + ": challenge names " + error,
                    challenge)
    if says is not None:
        suite.check(says.lower() in challenge.lower(), what + ": description says " + says,
                    challenge)
    if ok and status >= 400:
        problem = h.as_json(data) or {}
        suite.eq(problem.get("status"), status, what + ": problem+json status")
        suite.check(hdrs.get("content-type", "").startswith("application/problem+json"),
                    what + ": problem+json", hdrs.get("content-type"))
    return st, hdrs, data


def cgi(env, tok):
    """Runs webhooks.fcgi once as a CGI program; returns (status line, stderr)."""
    e = h.cgi_environ(env.conf, "GET", "/api/acme/webhooks",
                      {"HTTP_AUTHORIZATION": "Bearer " + tok})
    r = subprocess.run([h.FCGI], env=e, capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return r.stdout.split(b"\r\n", 1)[0].decode(errors="replace"), r.stderr.decode(errors="replace")


def server_log(srv):
    """What the FastCGI processes wrote to stderr, wherever lighttpd put it."""
    text = srv.log_text()
    logdir = os.path.dirname(srv.errorlog)
    for name in ("error.log", "breakage.log"):
        try:
            with open(os.path.join(logdir, name), errors="replace") as f:
                text += f.read()
        except OSError:
            pass
    return text


class JwksServer:
    """Serves a JWK Set on 127.0.0.1 from a variable; counts the fetches. With tls (an
    ssl.SSLContext) it speaks HTTPS, under the host name given."""

    def __init__(self, tls=None, host="127.0.0.1"):
        self.doc = {"keys": []}
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                body = json.dumps(outer.doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = h.free_port()
        self.url = "%s://%s:%d/.well-known/jwks.json" % ("https" if tls else "http", host,
                                                         self.port)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
            self.httpd.handle_error = lambda request, client_address: None
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def file_suite(keydir, rsa1, ec1, rsa2):
    """Keys from jwt_jwks_file and jwt_hs256_secret_file."""
    secret = b"an-hs256-secret-of-more-than-32-bytes!"
    jwks_path = os.path.join(keydir, "jwks.json")
    secret_path = os.path.join(keydir, "hs256.secret")
    with open(jwks_path, "w") as f:
        json.dump({"keys": [rsa1.jwk, ec1.jwk]}, f)
    with open(secret_path, "wb") as f:
        f.write(secret + b"\n")
    os.chmod(secret_path, 0o600)
    env = h.Env("jwt", jwt_issuer=ISS, jwt_audience=AUD, jwt_jwks_file=jwks_path,
                jwt_hs256_secret_file=secret_path, jwt_tenant_claim=TENANTS, jwt_leeway=30)
    srv = h.lighttpd(env, procs=2, extra="server.max-request-field-size = 65535")
    try:
        url = srv.url
        now = int(time.time())
        # One valid token per algorithm; a write works as well as a read.
        st, _, data = expect(url, token(rsa1), 200, "RS256 token lists webhooks")
        suite.eq(h.as_json(data), [], "RS256: empty list for a new tenant")
        expect(url, token(ec1), 200, "ES256 token lists webhooks")
        expect(url, token(secret), 200, "HS256 token (secret file, no kid) lists webhooks")
        st, _, data = expect(url, token(ec1), 200, "ES256 token creates a webhook", "POST",
                             body={"events": ["Pass:Created"], "endpoint": "https://e.test/h"})
        created = h.as_json(data) or {}
        st, _, data = expect(url, token(rsa1), 200, "RS256 token sees the new webhook")
        suite.eq([w.get("id") for w in h.as_json(data) or []], [created.get("id")],
                 "the webhook created with a token is listed")
        expect(url, token(rsa1, body=claims(aud=["other", AUD])), 200, "aud array containing ours")
        expect(url, token(rsa1, body=claims(scope=None, scp=["Webhook.Read"])), 200,
               "scp array grants Webhook.Read")
        expect(url, token(rsa1, body=claims(scope=None, permissions=["Webhook.Read"])), 200,
               "permissions array grants Webhook.Read")
        expect(url, token(rsa1, body=claims(exp=now - 20)), 200, "expired 20 s ago, within leeway")

        # Bad tokens: 401 invalid_token with a reason.
        expect(url, token(rsa1, body=claims(exp=now - 120)), 401, "expired token",
               error="invalid_token", says="expired")
        expect(url, token(rsa1, body=claims(exp=None)), 401, "token without exp",
               error="invalid_token", says="exp")
        expect(url, token(ec1, body=claims(nbf=now + 600)), 401, "token not yet valid",
               error="invalid_token", says="not valid yet")
        expect(url, token(rsa1, body=claims(iss="https://evil.test/")), 401, "wrong iss",
               error="invalid_token", says="issuer")
        expect(url, token(rsa1, body=claims(aud="other-api")), 401, "wrong aud",
               error="invalid_token", says="audience")
        good = token(rsa1)
        head, payload, sig = good.split(".")
        forged = b64u(json.dumps(claims(tenants="*")).encode())
        expect(url, ".".join([head, forged, sig]), 401, "tampered payload",
               error="invalid_token", says="signature")
        flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        expect(url, ".".join([head, payload, flipped]), 401, "tampered signature",
               error="invalid_token", says="signature")
        es = token(ec1)
        expect(url, es[:-4] + ("AAAA" if not es.endswith("AAAA") else "BBBB"), 401,
               "tampered ES256 signature", error="invalid_token")
        none = b64u(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + \
            b64u(json.dumps(claims()).encode()) + "."
        expect(url, none, 401, "alg none, empty signature", error="invalid_token", says="none")
        expect(url, none + "c2ln", 401, "alg none with a signature", error="invalid_token")
        confused = token(rsa1, header={"alg": "HS256", "kid": rsa1.kid}, sign_with=rsa1.public_pem)
        expect(url, confused, 401, "HS256 signed with the RSA public key (algorithm confusion)",
               error="invalid_token", says="does not match")
        expect(url, token(rsa1, header={"alg": "RS256", "kid": ec1.kid}), 401,
               "RS256 token naming the EC key", error="invalid_token", says="does not match")
        expect(url, token(rsa2), 401, "unknown kid", error="invalid_token", says="unknown")
        expect(url, token(rsa1, header={"alg": "RS256", "kid": rsa1.kid, "crit": ["exp"]}), 401,
               "unknown crit header", error="invalid_token", says="critical")
        expect(url, token(secret, sign_with=b"another-secret-of-more-than-32-bytes"), 401,
               "HS256 with the wrong secret", error="invalid_token", says="signature")
        expect(url, good.replace(".", "=.", 1), 401, "padded base64url", error="invalid_token")
        expect(url, "not-a-jwt", 401, "not a JWT", error="invalid_token")
        big = token(rsa1, body=claims(pad="x" * 8200))
        expect(url, big, 401, "token over 8 KiB (%d characters)" % len(big),
               error="invalid_token", says="8192")

        # Valid token, not enough: 403 insufficient_scope.
        read_only = token(rsa1, body=claims(scope="Webhook.Read"))
        expect(url, read_only, 200, "read-only token reads")
        expect(url, read_only, 403, "read-only token cannot create", "POST",
               error="insufficient_scope", says="Webhook.Write",
               body={"events": ["Pass:Created"], "endpoint": "https://e.test/h"})
        expect(url, token(rsa1, body=claims(scope="openid profile")), 403,
               "token without hookspool scopes", error="insufficient_scope")
        expect(url, token(rsa1), 403, "token for acme on tenant globex", tenant="globex",
               error="insufficient_scope", says="tenant")
        expect(url, token(rsa1, body=claims(tenants=None)), 403, "token without tenant claim",
               error="insufficient_scope")
        expect(url, token(ec1, body=claims(tenants="*")), 200, "tenant * reaches globex",
               tenant="globex")
        expect(url, token(ec1, body=claims(tenants=["globex", "acme"])), 200,
               "tenant array reaches globex", tenant="globex")

        # hookspool token check: the same verdicts without a web server.
        r = env.cli("token", "check", input=token(rsa1) + "\n")
        suite.eq((r.returncode, r.stdout.strip()),
                 (0, "accepted: tenants acme; scopes Webhook.Read,Webhook.Write"),
                 "token check: accepted token and its grant")
        r = env.cli("token", "check", input="Bearer " + token(ec1, body=claims(tenants="*")))
        suite.eq((r.returncode, r.stdout.strip()),
                 (0, "accepted: tenants * (every tenant); scopes Webhook.Read,Webhook.Write"),
                 "token check: Bearer prefix, every tenant")
        r = env.cli("token", "check", input=token(rsa1, body=claims(exp=now - 120)))
        suite.check(r.returncode == 1 and "refused: The token has expired." in r.stderr,
                    "token check: expired token refused with the reason", r.stderr)
        r = env.cli("token", "check", "--bogus")
        suite.eq(r.returncode, 2, "token check: usage error exits 2")

        # Both credential kinds at once: refused as ambiguous (docs/oauth.md).
        key = env.apikey("acme")
        expect(url, None, 200, "API key alone still works", headers={"X-API-KEY": key})
        expect(url, token(rsa1), 400, "X-API-KEY plus a bearer token",
               error="invalid_request", says="not both", headers={"X-API-KEY": key})
        expect(url, None, 400, "X-API-KEY plus an invalid bearer token",
               error="invalid_request",
               headers={"X-API-KEY": key, "Authorization": "Bearer x.y.z"})
        expect(url, None, 200, "X-API-KEY plus Basic credentials of a proxy in front",
               headers={"X-API-KEY": key, "Authorization": "Basic dXNlcjpwYXNz"})
        expect(url, None, 401, "Basic credentials alone", error="invalid_token",
               headers={"Authorization": "Basic dXNlcjpwYXNz"})
        expect(url, "", 401, "Bearer without a token", error="invalid_token")
        expect(url, None, 200, "lowercase bearer scheme",
               headers={"Authorization": "bearer " + token(rsa1)})

        # Rotation of the JWKS file without a restart: rsa2 added, rsa1 removed.
        with open(jwks_path + ".new", "w") as f:
            json.dump({"keys": [rsa2.jwk, ec1.jwk]}, f)
        os.rename(jwks_path + ".new", jwks_path)
        codes = [call(url, token(rsa2))[0] for _ in range(4)]
        suite.eq(codes, [200] * 4, "new key in the JWKS file accepted by every process")
        codes = [call(url, token(rsa1))[0] for _ in range(4)]
        suite.eq(codes, [401] * 4, "key removed from the JWKS file refused by every process")
        # A broken JWKS file keeps the keys loaded before.
        with open(jwks_path, "w") as f:
            f.write("{not json")
        codes = [call(url, token(rsa2))[0] for _ in range(4)]
        suite.eq(codes, [200] * 4, "a broken JWKS file keeps the last good keys")
        log = server_log(srv)
        suite.check("cannot load keys" in log, "a broken JWKS file is logged", log[-2000:])
        suite.check(good not in log and sig not in log and secret.decode() not in log,
                    "no token, signature or secret in the error log")
        suite.no_sanitizer_report(log, "file keys")
        # The same binary as a CGI program loads the keys for its one request.
        line, err = cgi(env, token(ec1))
        suite.eq(line, "Status: 401 Unauthorized", "CGI mode: broken JWKS file, no EC key")
        with open(jwks_path, "w") as f:
            json.dump({"keys": [rsa2.jwk, ec1.jwk]}, f)
        line, err = cgi(env, token(ec1))
        suite.eq(line, "Status: 200 OK", "CGI mode: ES256 token accepted")
        line, err = cgi(env, token(ec1, body=claims(exp=now - 3600)))
        suite.eq(line, "Status: 401 Unauthorized", "CGI mode: expired token refused")
        suite.no_sanitizer_report(err, "CGI mode")
    finally:
        srv.stop()
        env.cleanup()


def url_suite(rsa1, ec1, rsa2):
    """Keys from jwt_jwks_url: rotation, refresh, refetch limits, the URL down."""
    jwks = JwksServer()
    env = h.Env("jwt-url", jwt_issuer=ISS, jwt_audience=AUD, jwt_jwks_url=jwks.url,
                jwt_tenant_claim=TENANTS, jwt_jwks_refresh=3, jwt_jwks_min_refetch=1)
    srv = None
    try:
        jwks.doc = {"keys": [rsa1.jwk]}
        srv = h.lighttpd(env, procs=2)
        url = srv.url
        expect(url, token(rsa1), 200, "URL: key fetched on first use")
        cache = os.path.join(env.db, "jwks.json")
        cached = {}
        if suite.check(os.path.exists(cache), "URL: key set cached under db_home"):
            with open(cache) as f:
                cached = json.load(f)
        suite.eq(cached.get("url"), jwks.url, "URL: cache names the URL")
        suite.check(abs(cached.get("fetched", 0) - time.time()) < 30, "URL: cache has fetch time",
                    cached.get("fetched"))
        suite.eq([k.get("kid") for k in cached.get("jwks", {}).get("keys", [])], ["rsa1"],
                 "URL: cache holds the fetched keys")

        # Rotation: the provider now publishes rsa2 only; a token naming it triggers a refetch.
        jwks.doc = {"keys": [rsa2.jwk]}
        time.sleep(1.2)
        codes = [call(url, token(rsa2))[0] for _ in range(4)]
        suite.eq(codes, [200] * 4, "URL: rotated-in key accepted without a restart")
        # After the refresh period the old key is gone everywhere.
        time.sleep(3.5)
        codes = [call(url, token(rsa1))[0] for _ in range(4)]
        suite.eq(codes, [401] * 4, "URL: rotated-out key refused after the scheduled refresh")

        # The URL goes down: the last good set stays in use past the refresh period.
        jwks.stop()
        time.sleep(3.5)
        codes = [call(url, token(rsa2))[0] for _ in range(4)]
        suite.eq(codes, [200] * 4, "URL down: last good key set still used")
        srv.stop()
        log = server_log(srv)
        suite.check("JWKS fetch failed" in log and "keeping the last good key set" in log,
                    "URL down: the failed fetch is logged", log[-2000:])
        # A restart with the URL still down uses the cache under db_home.
        srv = h.lighttpd(env, procs=2)
        expect(srv.url, token(rsa2), 200, "URL down after a restart: cached key set used")
        line, _ = cgi(env, token(rsa2))
        suite.eq(line, "Status: 200 OK", "URL down, CGI mode: cached key set used")
        srv.stop()
        suite.no_sanitizer_report(log + server_log(srv), "URL keys")
    finally:
        jwks.stop()
        if srv is not None:
            srv.stop()
        env.cleanup()

    # Default intervals: an unknown kid refetches at most once a minute, across processes.
    jwks = JwksServer()
    jwks.doc = {"keys": [ec1.jwk]}
    env = h.Env("jwt-rate", jwt_issuer=ISS, jwt_audience=AUD, jwt_jwks_url=jwks.url,
                jwt_tenant_claim=TENANTS)
    srv = None
    try:
        srv = h.lighttpd(env, procs=2)
        expect(srv.url, token(ec1), 200, "rate: key fetched")
        codes = [call(srv.url, token(rsa1))[0] for _ in range(10)]
        suite.eq(codes, [401] * 10, "rate: unknown kid refused")
        suite.eq(jwks.hits, 1, "rate: 11 requests, one fetch (unknown kids within a minute)")
    finally:
        jwks.stop()
        if srv is not None:
            srv.stop()
        env.cleanup()

    # No key at all (URL down, nothing cached): 503, the token cannot be checked.
    port = h.free_port()
    env = h.Env("jwt-down", jwt_issuer=ISS, jwt_audience=AUD,
                jwt_jwks_url="http://127.0.0.1:%d/jwks.json" % port, jwt_tenant_claim=TENANTS)
    srv = h.lighttpd(env, procs=1)
    try:
        st, hdrs, _ = call(srv.url, token(ec1))
        suite.eq(st, 503, "URL down and nothing cached: 503")
        suite.check("retry-after" in hdrs, "URL down and nothing cached: Retry-After")
    finally:
        srv.stop()
        env.cleanup()


def main():
    env = h.Env("jwt-keys")
    keydir = os.path.join(env.dir, "keys")
    os.makedirs(keydir)
    try:
        rsa1 = Key(keydir, "RSA", "rsa1")
        ec1 = Key(keydir, "EC", "ec1")
        rsa2 = Key(keydir, "RSA", "rsa2")
        file_suite(keydir, rsa1, ec1, rsa2)
        url_suite(rsa1, ec1, rsa2)
    finally:
        env.cleanup()
    suite.done()


if __name__ == "__main__":
    main()
