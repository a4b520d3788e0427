"""Deliveries and the JWKS fetch over TLS (SPEC section 4, issue 15), against real
TLS receivers on 127.0.0.1 (Python's ssl module) with certificates made here by the
openssl CLI: a private CA trusted through tls_ca_file, a good leaf, an expired leaf,
a leaf for another name, a leaf from a CA nobody trusts, and a server that accepts
TCP but never answers the TLS handshake. Host names reach 127.0.0.1 only through the
product's resolve pins (libcurl's CURLOPT_RESOLVE); nothing on this machine is
reconfigured, and every server here listens on 127.0.0.1 only."""

import os
import signal
import socket
import ssl
import subprocess
import threading
import time

import harness as h
import test_jwt as jwt
import test_sender as ts

SUITE = h.Suite("tls")


def openssl(*args):
    subprocess.run(("openssl",) + args, check=True, capture_output=True, timeout=60)


class Pki:
    """A private CA (trusted), another CA (not trusted) and leaves signed by them."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca = self._ca("ca", "hookspool test CA")
        self.rogue = self._ca("rogue", "a CA nobody trusts")

    def _ca(self, name, cn):
        key, pem = self.path(name + ".key"), self.path(name + ".pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", pem, "-days", "30", "-subj", "/CN=" + cn,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return key, pem

    def path(self, name):
        return os.path.join(self.dir, name)

    def leaf(self, name, dns_names, ca=None, days=30):
        """A server certificate for dns_names signed by ca (default the trusted one);
        days=-1 makes one whose notAfter is a day before its notBefore (expired)."""
        ca_key, ca_pem = ca or self.ca
        key, csr, pem, ext = (self.path(name + s) for s in (".key", ".csr", ".pem", ".ext"))
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                    "basicConstraints=CA:FALSE\n" % ",".join("DNS:" + d for d in dns_names))
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + dns_names[0])
        openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
                "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", str(days),
                "-extfile", ext, "-out", pem)
        return pem, key

    @staticmethod
    def context(leaf):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*leaf)
        return ctx


class StallServer:
    """Accepts TCP on 127.0.0.1 and never answers: the client's TLS handshake stalls.
    Counts the connections accepted, and those open (until the client closes them)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.open = self.accepted = 0
        self.conns = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
                self.accepted += 1
                self.open += 1
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn):
        try:
            while conn.recv(4096):      # the ClientHello arrives, and nothing is sent back
                pass
        except OSError:
            pass
        with self.lock:
            self.open -= 1

    def stop(self):
        self.running = False
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


def attempts(env, tenant, conf=None):
    """The delivery log's attempts of tenant, oldest first."""
    return list(reversed(ts.deliveries(env, tenant, conf=conf)))


def wait_attempts(env, tenant, count, timeout, conf=None):
    got = []

    def enough():
        got[:] = attempts(env, tenant, conf)
        return len(got) >= count
    h.wait_for(enough, timeout, step=0.2)
    return got


def conf_variant(env, name, **changes):
    """Another config file for env's database and spool, with changes (None removes a key)."""
    settings = dict(env.settings)
    settings.update(changes)
    path = os.path.join(env.dir, name)
    with open(path, "w") as f:
        for k, v in settings.items():
            if v is not None:
                f.write("%s = %s\n" % (k, v))
    return path


def delivery_flow(s, pki):
    ca_file = pki.ca[1]
    good = ts.Receiver(tls=Pki.context(pki.leaf("hooks", ["hooks.test"])))
    expired = ts.Receiver(tls=Pki.context(pki.leaf("expired", ["expired.test"], days=-1)))
    wrong = ts.Receiver(tls=Pki.context(pki.leaf("other", ["other.test"])))
    unknown = ts.Receiver(tls=Pki.context(pki.leaf("unknown", ["unknown.test"],
                                                   ca=pki.rogue)))
    stall = StallServer()
    pins = [("hooks.test", good.port), ("expired.test", expired.port),
            ("wrong.test", wrong.port), ("unknown.test", unknown.port),
            ("stall.test", stall.port)]
    timeout = 6     # long enough that the checks made while the handshakes hang are not a race
    env = h.Env("tls", allow_http_endpoints="no", allow_private_targets="yes",
                tls_ca_file=ca_file, retry_schedule="1h", delivery_timeout=str(timeout),
                max_connections_per_host="2", log_level="debug",
                resolve=", ".join("%s:%d:127.0.0.1" % p for p in pins))
    url = {name: "https://%s:%d/ok/%s" % (host, port, name.split(".")[0])
           for name, (host, port) in zip(("hooks", "expired", "wrong", "unknown", "stall"),
                                         pins)}
    sender = None
    try:
        srv = h.lighttpd(env, procs=1)
        try:
            api = ts.Api(srv, env, "plain")
            st, _, _ = api.webhooks("POST", "", {"endpoint": good.url.replace("https:", "http:") +
                                              "/ok/plain", "events": ["*"]})
            s.eq(st, 400, "allow_http_endpoints = no: an http:// endpoint is refused")
            hooks = {t: ts.Api(srv, env, t).create(url[u], ["*"]) for t, u in (
                ("acme", "hooks"), ("exp", "expired"), ("wrong", "wrong"),
                ("unknown", "unknown"), ("stall", "stall"), ("sys", "hooks"),
                ("ssrf", "hooks"))}
        finally:
            srv.stop()

        # Signed deliveries over TLS, on reused connections.
        sender = h.Sender(env)
        n = 20
        for i in range(n):
            ts.emit(env, "acme", "Pass:Created", {"n": i})
        s.check(good.wait("/ok/hooks", n, 30), "TLS: %d deliveries arrive" % n,
                len(good.on("/ok/hooks")))
        reqs = good.on("/ok/hooks")
        s.check(reqs and all(ts.sig_ok(hooks["acme"]["signatureSecret"], r) for r in reqs),
                "TLS: every delivery carries a valid HMAC-SHA256 X-NEOSTORE-SIGNATURE")
        if reqs:
            ts.check_request_shape(s, reqs[0], hooks["acme"], "TLS request")
            s.eq(reqs[0]["headers"].get("host"), "hooks.test:%d" % good.port,
                 "TLS: Host is the endpoint's name, not the pinned address")
        peers = {r["peer"] for r in reqs}
        s.check(len(peers) <= 2, "TLS: %d deliveries on at most max_connections_per_host = 2 "
                "connections (kept alive and reused)" % n, sorted(peers))
        ok = [a for a in attempts(env, "acme") if a["status"] == 200]
        s.eq(len(ok), n, "TLS: every delivery recorded as 200")

        # Certificate problems: failed attempts whose error says what was wrong.
        for tenant, rcv, says in (
                ("exp", expired, "certificate has expired"),
                ("wrong", wrong, "no alternative certificate subject name matches target host "
                 "name 'wrong.test'"),
                ("unknown", unknown, "unable to get local issuer certificate")):
            ts.emit(env, tenant, "Pass:Created")
            got = wait_attempts(env, tenant, 1, 20)
            first = got[0] if got else {}
            s.eq(first.get("status"), 0, "%s: a failed attempt with no HTTP status" % tenant)
            err = first.get("error", "")
            s.check(says in err, "%s: the delivery log says \"%s\"" % (tenant, says), err)
            s.check("(trusting %s)" % ca_file in err,
                    "%s: the error names the CA bundle trusted" % tenant, err)
            s.eq(rcv.all(), [], "%s: nothing was sent over the unverified connection" % tenant)
            s.check(says in sender.text(), "%s: the sender's log says why too" % tenant)

        # A handshake that never completes fails within delivery_timeout and holds only
        # its destination's connections; other receivers are served meanwhile.
        for _ in range(3):
            ts.emit(env, "stall", "Pass:Created")
        s.check(h.wait_for(lambda: stall.open >= 2, 10), "stall: the sender connects",
                stall.accepted)
        before = len(good.on("/ok/hooks"))
        ts.emit(env, "acme", "Pass:Created", {"during": "stall"})
        s.check(good.wait("/ok/hooks", before + 1, timeout), "stall: another receiver is "
                "served while the handshakes hang")
        with stall.lock:
            held = (stall.open, stall.accepted)
        s.eq(held, (2, 2), "stall: ...while its 2 stalled connections are held, and no more "
             "are opened to it (max_connections_per_host = 2; 3 deliveries wait)")
        got = wait_attempts(env, "stall", 3, 3 * timeout + 10)
        s.eq(len(got), 3, "stall: three failed attempts recorded")
        for a in got:
            s.check(a["status"] == 0 and "timed out" in a["error"].lower(),
                    "stall: the error says the attempt timed out", a)
            s.check(a["durationMs"] <= timeout * 1000 + 1000,
                    "stall: failed within delivery_timeout = %ds" % timeout, a["durationMs"])
        s.check(any("(no TLS session with 127.0.0.1 established)" in a["error"] for a in got),
                "stall: ...and that no TLS session was set up", got)
        s.check(stall.accepted <= 3, "stall: one connection per attempt at most",
                stall.accepted)
        s.eq(sender.stop(), 0, "sender exits 0")
        log = sender.text()
        reused = [line for line in log.splitlines() if "on reused connections" in line]
        count = int(reused[-1].split(" on reused")[0].rsplit(",", 1)[1].split()[0]) \
            if reused else 0
        s.check(count >= n - 1, "TLS: the sender reports its reused connections (at least "
                "%d of %d deliveries)" % (n - 1, n + 1), reused)
        sender = None

        # Without tls_ca_file, the system's bundle: the private CA is unknown there.
        conf = conf_variant(env, "system-ca.conf", tls_ca_file=None)
        sender = h.Sender(env, conf=conf)
        ts.emit(env, "sys", "Pass:Created")
        got = wait_attempts(env, "sys", 1, 20)
        err = got[0]["error"] if got else ""
        s.check("unable to get local issuer certificate (trusting the system's CA bundle)"
                in err, "no tls_ca_file: verified against the system's bundle", err)
        # tls_ca_file set and SIGHUP: the next delivery trusts the private CA.
        conf_variant(env, "system-ca.conf")
        before = len(good.on("/ok/hooks"))
        sender.proc.send_signal(signal.SIGHUP)
        s.check(h.wait_for(lambda: "sender: reloaded " in sender.text(), 10),
                "SIGHUP: the sender reloads", sender.text()[-1000:])
        ts.emit(env, "sys", "Pass:Created")
        s.check(good.wait("/ok/hooks", before + 1, 20),
                "SIGHUP with tls_ca_file now set: the next delivery is verified and arrives")
        s.eq(sender.stop(), 0, "no tls_ca_file: sender exits 0")
        log += sender.text()
        sender = None

        # A pinned address is still checked when connected: loopback is refused.
        conf = conf_variant(env, "no-private.conf", allow_private_targets="no")
        sender = h.Sender(env, conf=conf)
        before = len(good.on("/ok/hooks"))
        ts.emit(env, "ssrf", "Pass:Created")
        got = wait_attempts(env, "ssrf", 1, 20)
        err = got[0]["error"] if got else ""
        s.check("refused to connect to 127.0.0.1 (loopback" in err,
                "resolve pin to 127.0.0.1 with allow_private_targets = no: refused", err)
        s.eq(len(good.on("/ok/hooks")), before, "...and nothing was sent")
        s.eq(sender.stop(), 0, "allow_private_targets = no: sender exits 0")
        log += sender.text()
        sender = None
        s.no_sanitizer_report(log, "sender")
    finally:
        h.stop_all(sender, good, expired, wrong, unknown, stall)
    return env


def config_flow(s, pki):
    """tls_ca_file and resolve errors stop the programs at start, naming file and line."""
    env = h.Env("tls-conf")
    cases = (
        ("tls_ca_file", os.path.join(env.dir, "missing.pem"), "cannot read"),
        ("tls_ca_file", pki.path("ca.key"), "no PEM certificate"),
        ("resolve", "hooks.test:443:hooks.example", "is not host:port:address"),
    )
    for key, value, says in cases:
        env.write_conf(**{key: value})
        with open(env.conf) as f:
            line = next(i for i, text in enumerate(f, 1) if text.startswith(key + " ="))
        r = subprocess.run([ts.SENDER, "--foreground", "--once", "--config", env.conf],
                           capture_output=True, text=True, timeout=60)
        s.check(r.returncode != 0 and "%s:%d: %s" % (env.conf, line, key) in r.stderr and
                says in r.stderr, "sender refuses %s = %s: file, line, reason" % (key, value),
                (r.returncode, r.stderr))
        s.no_sanitizer_report(r.stderr, "sender with a bad " + key)
        r = env.cli("deliveries", "--tenant", "acme")
        s.check(r.returncode != 0 and says in r.stderr, "the CLI refuses it too", r.stderr)
        s.no_sanitizer_report(r.stderr, "CLI with a bad " + key)
        env.write_conf(**{key: None})
    return env


def jwks_flow(s, pki):
    """The API fetches jwt_jwks_url over TLS, trusting tls_ca_file, through a pin."""
    key = jwt.Key(pki.dir, "EC", "tls-ec")
    jwks = jwt.JwksServer(tls=Pki.context(pki.leaf("idp", ["idp.test"])), host="idp.test")
    jwks.doc = {"keys": [key.jwk]}
    env = h.Env("tls-jwt", jwt_issuer=jwt.ISS, jwt_audience=jwt.AUD, jwt_jwks_url=jwks.url,
                jwt_tenant_claim=jwt.TENANTS, tls_ca_file=pki.ca[1],
                resolve="idp.test:%d:127.0.0.1" % jwks.port)
    try:
        line, err = jwt.cgi(env, jwt.token(key))
        s.eq(line, "Status: 200 OK", "JWKS over TLS: token checked with the fetched key")
        s.eq(jwks.hits, 1, "JWKS over TLS: fetched once")
        s.no_sanitizer_report(err, "webhooks.fcgi")

        # The same URL trusting only the system's bundle: the fetch fails and says why.
        other = h.Env("tls-jwt-sys", jwt_issuer=jwt.ISS, jwt_audience=jwt.AUD,
                      jwt_jwks_url=jwks.url, jwt_tenant_claim=jwt.TENANTS,
                      resolve="idp.test:%d:127.0.0.1" % jwks.port)
        try:
            line, err = jwt.cgi(other, jwt.token(key))
            s.eq(line, "Status: 503 Service Unavailable",
                 "JWKS over TLS without tls_ca_file: no key, 503")
            s.check("JWKS fetch failed: SSL certificate problem: unable to get local issuer "
                    "certificate" in err, "JWKS over TLS without tls_ca_file: logged why", err)
            s.no_sanitizer_report(err, "webhooks.fcgi without tls_ca_file")
        finally:
            other.cleanup()
    finally:
        jwks.stop()
    return env


def main():
    s = SUITE
    envs = []
    work = h.Env("tls-pki")
    envs.append(work)
    try:
        pki = Pki(os.path.join(work.dir, "pki"))
        envs.append(config_flow(s, pki))
        envs.append(jwks_flow(s, pki))
        envs.append(delivery_flow(s, pki))
    finally:
        for e in envs:
            e.cleanup()
    s.done()


if __name__ == "__main__":
    main()
