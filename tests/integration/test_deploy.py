"""The shipped web server configurations (deploy/, cgi-bin/.htaccess): the
same API checks through lighttpd mod_fastcgi, Apache mod_fcgid, Apache
mod_proxy_fcgi + spawn-fcgi, Apache CGI with the .htaccess, and nginx +
spawn-fcgi, each started on a loopback port with its own configuration,
then a look through every log they wrote for the keys and secrets used."""

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time

import harness as h

DEPLOY = os.path.join(h.SRC, "deploy")
FCGI = os.path.join(h.BUILD, "cgi-bin", "webhooks.fcgi")   # staged by main() for RUN_USER
# The unprivileged user the servers and the program run as, as in production.
RUN_USER = "www-data"
# A bearer token that is not valid but must reach the program, and an API key
# that does not exist: neither may show up in a log.
BOGUS_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXBsb3ktdGVzdCJ9.bm90LWEtcmVhbC1zaWduYXR1cmU"
BOGUS_KEY = "hsk_notarealkey0123456789abcdefABCDEF"

suite = h.Suite("deploy")
secrets = [BOGUS_TOKEN, BOGUS_KEY]   # every key, token and signature secret used
logs = {}                            # every log a server or program wrote: name -> text


def hand_to_run_user(path):
    """Gives the scratch tree to the web server user, as the hookspool group
    would in production, so the program can open the database."""
    subprocess.run(["chown", "-R", "%s:%s" % (RUN_USER, RUN_USER), path], check=True)


def wait_socket(path, proc, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("exited with status %s" % proc.returncode)
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s" % path)


class SpawnFcgi:
    """webhooks.fcgi on a Unix socket, started by spawn-fcgi with the
    configuration path in its environment, as deploy/ documents."""

    def __init__(self, env, run):
        self.socket = os.path.join(run, "webhooks.sock")
        self.log_path = os.path.join(run, "spawn-fcgi.log")
        self.log = open(self.log_path, "ab")
        environ = dict(os.environ, HOOKSPOOL_CONF=env.conf)
        self.proc = subprocess.Popen(
            ["spawn-fcgi", "-n", "-s", self.socket, "-M", "0660", "-u", RUN_USER,
             "-g", RUN_USER, "-U", RUN_USER, "-G", RUN_USER, "--", FCGI, "--workers", "2"],
            stdout=self.log, stderr=subprocess.STDOUT, env=environ, start_new_session=True)
        try:
            wait_socket(self.socket, self.proc)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError("spawn-fcgi: %s; log:\n%s" % (e, open(self.log_path).read()))

    def stop(self):
        h.end_process(self.proc)
        self.log.close()


def apache(run, modules, body):
    """Apache httpd in the foreground (harness.apache) as RUN_USER, with one of the
    shipped snippets in body."""
    return h.apache(run, modules, body, RUN_USER)


def start_lighttpd(env, run):
    return h.lighttpd(env, procs=2), []


def start_fcgid(env, run):
    srv = apache(run, ["fcgid"], """
FcgidIPCDir "%(run)s/fcgid"
FcgidProcessTableFile "%(run)s/fcgid.shm"
Define HOOKSPOOL_CGIBIN %(cgibin)s
Define HOOKSPOOL_CONF %(conf)s
Include "%(deploy)s/apache/fcgid.conf"
""" % {"run": run, "cgibin": os.path.dirname(FCGI), "conf": env.conf, "deploy": DEPLOY})
    return srv, []


def start_proxy_fcgi(env, run):
    backend = SpawnFcgi(env, run)
    try:
        srv = apache(run, ["proxy", "proxy_fcgi"], """
Define HOOKSPOOL_SOCKET %(sock)s
Include "%(deploy)s/apache/proxy_fcgi.conf"
""" % {"sock": backend.socket, "deploy": DEPLOY})
    except Exception:
        backend.stop()
        raise
    return srv, [backend]


def start_cgi(env, run):
    """Shared hosting: cgi-bin/ uploaded as the document root's api/ folder,
    with the .htaccess's one line to edit (the configuration path) edited."""
    api = os.path.join(run, "htdocs", "api")
    os.makedirs(api)
    shutil.copy2(FCGI, os.path.join(api, "webhooks.fcgi"))
    with open(os.path.join(h.SRC, "cgi-bin", ".htaccess")) as f:
        htaccess = f.read()
    edited = htaccess.replace("/home/USER/hookspool/hookspool.conf", env.conf)
    suite.check(edited != htaccess, "cgi-bin/.htaccess has the HOOKSPOOL_CONF line to edit")
    with open(os.path.join(api, ".htaccess"), "w") as f:
        f.write(edited)
    hand_to_run_user(run)
    srv = apache(run, ["cgi", "rewrite"], """
<Directory "%(run)s/htdocs">
    AllowOverride FileInfo AuthConfig Options
    Require all granted
</Directory>
""" % {"run": run})
    return srv, []


def start_nginx(env, run):
    backend = SpawnFcgi(env, run)
    try:
        srv = h.nginx(run, backend.socket, user=RUN_USER)
    except Exception:
        backend.stop()
        raise
    return srv, [backend]


# (label, starter, whether the server can carry a Location header on a 200)
SERVERS = [
    ("lighttpd mod_fastcgi", start_lighttpd, True),
    ("apache mod_fcgid", start_fcgid, False),
    ("apache mod_proxy_fcgi + spawn-fcgi", start_proxy_fcgi, True),
    ("apache CGI + .htaccess", start_cgi, False),
    ("nginx + spawn-fcgi", start_nginx, True),
]


def problem(data):
    doc = h.as_json(data)
    return doc if isinstance(doc, dict) else {}


def api_checks(label, url, key, other_key, location_passes):
    """The same user-visible API behaviour through any server."""
    auth = {"X-API-KEY": key}
    base = url + "/api/acme/webhooks"
    what = lambda s: "%s: %s" % (label, s)

    st, hd, body = h.request("POST", base, {"description": "deploy test",
                                            "endpoint": "https://example.com/hook",
                                            "events": ["Pass:Created"]}, auth)
    created = h.as_json(body) or {}
    if not suite.eq(st, 200, what("POST creates a webhook")):
        print("  body: %r" % body[:300])
        return
    wid = created.get("id", "")
    secrets.append(created.get("signatureSecret", ""))
    suite.eq(len(created.get("signatureSecret", "")), 64, what("the new webhook has its secret"))
    if location_passes:
        suite.eq(hd.get("location"), "/api/acme/webhooks/" + wid,
                 what("POST answers with the Location of the new webhook"))
    else:
        # Apache's CGI and mod_fcgid turn "200 + Location: /path" into an
        # internal GET of that path: the client still gets 200 and the
        # webhook, without the header (documented in docs/deploy.md).
        suite.check("location" not in hd and created.get("endpoint") == "https://example.com/hook",
                    what("POST answers 200 with the webhook (Apache drops Location on a 200)"),
                    hd)

    st, _, body = h.request("GET", base, None, auth)
    items = h.as_json(body)
    suite.check(st == 200 and isinstance(items, list) and [w.get("id") for w in items] == [wid],
                what("GET lists the tenant's webhooks"), (st, body[:300]))

    st, _, body = h.request("GET", base + "/" + wid, None, auth)
    suite.check(st == 200 and (h.as_json(body) or {}).get("id") == wid,
                what("GET reads one webhook"), (st, body[:300]))
    # Routing from PATH_INFO or REQUEST_URI alike: percent-decoded, query ignored.
    st, _, body = h.request("GET", url + "/api/ac%6De/webhooks/" + wid + "?pretty=1", None, auth)
    suite.check(st == 200 and (h.as_json(body) or {}).get("id") == wid,
                what("a percent-encoded path with a query string routes the same"), (st, body[:300]))

    st, _, body = h.request("PUT", base + "/" + wid, {"endpoint": "https://example.com/put",
                                                      "events": ["Customer:*"]}, auth)
    suite.check(st == 200 and body == b"", what("PUT answers 200 with no body"), (st, body[:300]))
    st, _, body = h.request("GET", base + "/" + wid, None, auth)
    doc = h.as_json(body) or {}
    suite.check(doc.get("endpoint") == "https://example.com/put" and doc.get("events") == ["Customer:*"]
                and doc.get("description") is None, what("PUT replaced the fields"), body[:300])

    st, _, body = h.request("PATCH", base + "/" + wid, '{"enabled": false}',
                            dict(auth, **{"Content-Type": "application/merge-patch+json"}))
    doc = h.as_json(body) or {}
    suite.check(st == 200 and doc.get("enabled") is False and doc.get("endpoint") == "https://example.com/put",
                what("PATCH merges and answers with the webhook"), (st, body[:300]))

    st, hd, body = h.request("GET", base)
    suite.check(st == 401 and hd.get("www-authenticate", "").startswith("Bearer")
                and "error=" not in hd.get("www-authenticate", ""),
                what("no credentials: 401 with a bare Bearer challenge"), (st, hd))

    st, hd, body = h.request("GET", base, None, {"X-API-KEY": BOGUS_KEY})
    suite.check(st == 401 and 'error="invalid_token"' in hd.get("www-authenticate", ""),
                what("unknown API key: 401 invalid_token"), (st, hd))

    # The Authorization header must reach the program: its own answer to a bad
    # token is "invalid_token"; a server that drops the header makes the
    # request look anonymous ("Credentials are required.").
    st, hd, body = h.request("GET", base, None, {"Authorization": "Bearer " + BOGUS_TOKEN})
    challenge = hd.get("www-authenticate", "")
    suite.check(st == 401 and 'error="invalid_token"' in challenge
                and problem(body).get("detail") != "Credentials are required.",
                what("the Authorization header reaches the program"), (st, challenge, body[:200]))

    st, hd, body = h.request("GET", base, None, {"X-API-KEY": other_key})
    suite.check(st == 403 and "insufficient_scope" in hd.get("www-authenticate", ""),
                what("another tenant's key: 403"), (st, hd))
    st, _, body = h.request("GET", url + "/api/other/webhooks/" + wid, None, {"X-API-KEY": other_key})
    suite.eq(st, 404, what("the other tenant cannot see the webhook"))

    st, _, body = h.request("GET", url + "/api/acme/nothing-here", None, auth)
    suite.check(st == 404 and problem(body).get("status") == 404,
                what("unknown route: 404 problem from the program"), (st, body[:200]))

    st, hd, body = h.request("DELETE", base, None, auth)
    allow = [m.strip() for m in hd.get("allow", "").split(",")]
    suite.check(st == 405 and "GET" in allow and "POST" in allow,
                what("DELETE on the collection: 405 with Allow"), (st, hd))

    # A body over max_body_bytes (64 KiB): the program's own 413, even though
    # it stops reading early (CGI: more than a pipe buffer left unread).
    big = '{"description": "%s"}' % ("x" * 200000)
    st, _, body = h.request("POST", base, big, auth)
    suite.check(st == 413 and problem(body).get("status") == 413,
                what("a 200 KB body: 413 problem from the program"), (st, body[:200]))

    st, hd, body = h.request("HEAD", base + "/" + wid, None, auth)
    suite.check(st == 200 and body == b"", what("HEAD answers like GET without a body"), (st, body[:100]))

    st, _, body = h.request("DELETE", base + "/" + wid, None, auth)
    suite.check(st == 200 and body == b"", what("DELETE answers 200"), (st, body[:200]))
    st, _, _ = h.request("GET", base + "/" + wid, None, auth)
    suite.eq(st, 404, what("the deleted webhook is gone"))
    return wid


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def main():
    if os.geteuid() != 0:
        suite.check(False, "the deploy suite runs as root (servers switch to %s)" % RUN_USER)
        suite.done()
    # The servers run the program as RUN_USER: it and the scratch trees must be in reach.
    global FCGI
    h.scratch_reachable_by(RUN_USER)
    staged = tempfile.mkdtemp(prefix="cgi-bin-", dir=h.TMP_ROOT)
    os.chmod(staged, 0o755)
    atexit.register(shutil.rmtree, staged, True)
    FCGI = shutil.copy2(FCGI, os.path.join(staged, "webhooks.fcgi"))
    for label, start, location_passes in SERVERS:
        name = label.split()[0] + "-" + label.split()[1].replace("+", "").strip(".")
        env = h.Env("deploy-" + name, log_level="debug")
        run = os.path.join(env.dir, "run")
        os.makedirs(run)
        procs = []
        srv = None
        try:
            key = env.apikey("acme")
            other = env.apikey("other")
            secrets.extend([key, other])
            hand_to_run_user(env.dir)
            try:
                srv, procs = start(env, run)
            except Exception as e:   # a server that does not start fails its checks
                suite.check(False, "%s: the server starts" % label, e)
                continue
            wid = api_checks(label, srv.url, key, other, location_passes)
            # webhooks.fcgi logs to stderr, which the server puts in its error log.
            # (lighttpd keeps FastCGI programs' stderr in its breakage log.)
            errlog = getattr(srv, "errorlog", "")
            text = read(errlog) + read(os.path.join(os.path.dirname(errlog), "breakage.log")) + \
                read(srv.log_path) + "".join(read(p.log_path) for p in procs)
            suite.check(wid and ("created webhook %s" % wid) in text,
                        "%s: the program's log lines reach the server's error log" % label,
                        text[-1500:])
        finally:
            if srv is not None:
                srv.stop()
            for p in procs:
                p.stop()
            scan_and_cleanup(env)
    leaks = [(s[:6] + "...", p) for p, text in logs.items() for s in secrets if s and s in text]
    suite.check(len(logs) >= len(SERVERS) and not leaks,
                "no API key, token or signature secret in any of the %d logs" % len(logs), leaks)
    reports = [p for p, text in logs.items()
               if "AddressSanitizer" in text or "runtime error:" in text or "LeakSanitizer" in text]
    suite.check(not reports, "no sanitizer report in any log", reports)
    suite.done()


def scan_and_cleanup(env):
    """Reads every log under the scratch directory before it goes away."""
    for root, _, files in os.walk(env.dir):
        for f in files:
            if f.endswith(".log"):
                path = os.path.join(root, f)
                logs[os.path.relpath(path, h.TMP_ROOT)] = read(path)
    env.cleanup()


if __name__ == "__main__":
    main()
