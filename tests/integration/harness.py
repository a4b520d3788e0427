"""Shared by the integration suites: counting checks, a scratch environment
(config, database, spool), the hookspool CLI, real servers on loopback ports,
and a plain HTTP client. Standard library only."""

import atexit
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HOOKSPOOL_BUILD", os.path.join(SRC, "build"))
TMP_ROOT = os.environ.get("HOOKSPOOL_TEST_TMP", os.path.join(SRC, "tests", "tmp"))


class Suite:
    """Counts checks; done() prints 'NAME: N passed, N failed' and exits."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            msg = "FAIL [%s] %s" % (self.name, what)
            if detail:
                msg += ": " + str(detail)[:2000]
            print(msg, flush=True)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want, what, "got %r, want %r" % (got, want))

    def no_sanitizer_report(self, text, what):
        """A check that text (a log, a program's stderr) holds no ASan/UBSan report."""
        bad = [l for l in text.splitlines() if "Sanitizer" in l or "runtime error" in l]
        self.check(not bad, what + ": no sanitizer report", bad[:5])

    def done(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


def run_flows(suite, flows, only_var):
    """Runs each flow(suite) in order (each returns its Env, or None) and cleans up their
    scratch environments, then ends the suite. only_var names the environment variable
    that narrows the run to some flows while working on one: NAME=trust,main runs
    trust_flow and main_flow only."""
    only = [f for f in os.environ.get(only_var, "").split(",") if f]
    envs = []
    try:
        for flow in flows:
            if not only or flow.__name__[:-len("_flow")] in only:
                envs.append(flow(suite))
    finally:
        for e in envs:
            if e is not None:
                e.cleanup()
    suite.done()


def wait_for(pred, timeout, step=0.05):
    """Polls pred until it returns something true or timeout seconds pass; returns its
    last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


_ports = random.Random()  # its own generator: a suite that seeds random must not pick ports in step


def free_port():
    """A free loopback port below the kernel's ephemeral range (32768 and up on
    Linux), so that no outgoing connection of any process can take it between
    now and the moment the server under test binds it."""
    for _ in range(200):
        port = _ports.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on 127.0.0.1:%d after %.0fs" % (port, timeout))


def scratch_reachable_by(user):
    """Servers that switch to an unprivileged user must reach the scratch trees. When the
    checkout's tests/tmp is out of that user's reach (a clone under a 0700 directory such
    as mktemp -d or /root), the scratch trees go under a fresh directory in /tmp instead."""
    global TMP_ROOT
    os.makedirs(TMP_ROOT, exist_ok=True)
    if subprocess.run(["runuser", "-u", user, "--", "test", "-x", TMP_ROOT]).returncode == 0:
        return
    TMP_ROOT = tempfile.mkdtemp(prefix="hookspool-tests-")
    os.chmod(TMP_ROOT, 0o755)
    atexit.register(shutil.rmtree, TMP_ROOT, True)


class Env:
    """A scratch directory with hookspool.conf, db/ and spool/."""

    def __init__(self, name, **settings):
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=TMP_ROOT)
        self.db = os.path.join(self.dir, "db")
        self.spool = os.path.join(self.dir, "spool")
        self.conf = os.path.join(self.dir, "hookspool.conf")
        self.settings = {"db_home": self.db, "spool_dir": self.spool, "durability": "nosync",
                         "allow_http_endpoints": "yes", "log_level": "info"}
        self.settings.update(settings)
        self.write_conf()

    def write_conf(self, **changes):
        self.settings.update(changes)
        with open(self.conf, "w") as f:
            for k, v in self.settings.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))

    def cli(self, *args, input=None, check=False):
        """Runs build/hookspool ARGS --config CONF; returns CompletedProcess (text)."""
        cmd = [os.path.join(BUILD, "hookspool")] + list(args)
        if "--config" not in args:
            cmd[2:2] = ["--config", self.conf] if len(args) else []
        return subprocess.run(cmd, input=input, capture_output=True, text=True, check=check,
                              timeout=60)

    def apikey(self, tenant, scopes="Webhook.Read,Webhook.Write", label="test"):
        r = self.cli("apikey", "create", "--tenant", tenant, "--scopes", scopes, "--label", label)
        if r.returncode != 0:
            raise RuntimeError("apikey create failed: " + r.stderr)
        return r.stdout.strip()

    def spool_dirs(self, names=("tmp", "new")):
        """Makes the spool's state directories named (a producer needs tmp/ and new/)."""
        for d in names:
            os.makedirs(os.path.join(self.spool, d), exist_ok=True)

    def cleanup(self):
        if os.environ.get("HOOKSPOOL_KEEP_TMP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


class Server:
    """A process started with its own config; stop() ends it and its children."""

    def __init__(self, argv, port, log_path, env=None):
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        try:
            wait_port(port)
        except RuntimeError:
            self.stop()
            raise RuntimeError("server %s did not start; log:\n%s" % (argv[0], self.log_text()))

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            end_process(self.proc, group=True)
        self.log.close()


def lighttpd(env, procs=2, docroot=None, extra="", run_name="lighttpd"):
    """Starts lighttpd in the foreground with deploy/lighttpd/hookspool.conf; its files go
    in env.dir/run_name (a second server on the same database needs another name)."""
    port = free_port()
    run = os.path.join(env.dir, run_name)
    os.makedirs(run, exist_ok=True)
    docroot = docroot or os.path.join(SRC, "www")
    conf = os.path.join(run, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write("""
server.document-root = "%(docroot)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.pid-file = "%(run)s/lighttpd.pid"
server.errorlog = "%(run)s/error.log"
server.breakagelog = "%(run)s/breakage.log"
server.max-request-size = 4096
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html; charset=utf-8", ".css" => "text/css",
                    ".js" => "text/javascript", ".json" => "application/json",
                    ".png" => "image/png", ".svg" => "image/svg+xml" )
var.hookspool_fcgi = "%(fcgi)s"
var.hookspool_conf = "%(conf)s"
var.hookspool_socket = "%(run)s/hookspool.sock"
var.hookspool_procs = %(procs)d
include "%(deploy)s"
%(extra)s
""" % {"docroot": docroot, "port": port, "run": run, "procs": procs,
       "fcgi": os.path.join(BUILD, "cgi-bin", "webhooks.fcgi"), "conf": env.conf,
       "deploy": os.path.join(SRC, "deploy", "lighttpd", "hookspool.conf"), "extra": extra})
    srv = Server(["lighttpd", "-D", "-f", conf], port, os.path.join(run, "stdout.log"))
    srv.errorlog = os.path.join(run, "error.log")
    wait_fastcgi(srv.url)
    return srv


def nginx(run, socket_path, user="root"):
    """Starts nginx in the foreground with deploy/nginx/hookspool.conf inside its server
    block, proxying to the FastCGI program on socket_path; its files go in run."""
    port = free_port()
    shutil.copy("/etc/nginx/fastcgi_params", run)   # the stock file, as in /etc/nginx
    conf = os.path.join(run, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""
daemon off;
master_process on;
worker_processes 1;
user %(user)s;
pid %(run)s/nginx.pid;
error_log %(run)s/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %(run)s/body;
    fastcgi_temp_path %(run)s/fastcgi;
    proxy_temp_path %(run)s/proxy;
    scgi_temp_path %(run)s/scgi;
    uwsgi_temp_path %(run)s/uwsgi;
    upstream hookspool_api { server unix:%(sock)s; }
    server {
        listen 127.0.0.1:%(port)d;
        server_name localhost;
        root %(run)s;
        include %(deploy)s;
    }
}
""" % {"user": user, "run": run, "sock": socket_path, "port": port,
       "deploy": os.path.join(SRC, "deploy", "nginx", "hookspool.conf")})
    srv = Server(["nginx", "-p", run, "-c", conf, "-e", os.path.join(run, "error.log")],
                 port, os.path.join(run, "stdout.log"))
    srv.errorlog = os.path.join(run, "error.log")
    return srv


def wait_fastcgi(url, timeout=15.0):
    """Waits until webhooks.fcgi itself answers (a problem+json 404 for /api/), not
    lighttpd's own 503 while its FastCGI processes are still starting."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            _, headers, _ = request("GET", url + "/api/", timeout=5)
            if "problem+json" in headers.get("content-type", ""):
                return
        except OSError:
            pass
        time.sleep(0.05)


def request(method, url, body=None, headers=None, timeout=30):
    """One HTTP request on a new connection: (status, {lowercased header: value}, body bytes)."""
    assert url.startswith("http://")
    hostport, _, path = url[len("http://"):].partition("/")
    host, _, port = hostport.partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        hdrs = dict(headers or {})
        if body is not None and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "application/json"
        conn.request(method, "/" + path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def as_json(data):
    try:
        return json.loads(data)
    except (ValueError, TypeError):
        return None


def env_processes(env):
    """Pids of the processes still running with HOOKSPOOL_CONF naming env's config."""
    want = ("HOOKSPOOL_CONF=" + env.conf).encode()
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open("/proc/%s/environ" % pid, "rb") as f:
                    if want in f.read().split(b"\0"):
                        pids.append(int(pid))
            except OSError:
                pass
    return pids


def reap_env_processes(env, timeout=10.0):
    """Waits for env's processes to exit; SIGKILLs and returns those still there."""
    deadline = time.time() + timeout
    left = env_processes(env)
    while left and time.time() < deadline:
        time.sleep(0.1)
        left = env_processes(env)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def end_process(proc, sig=signal.SIGTERM, timeout=10, group=False):
    """Sends sig to proc unless it has exited or, with group, to its whole process group
    (a session it leads) even when proc itself has gone; waits up to timeout seconds for
    proc, then SIGKILLs it (or the group); returns its exit status."""
    try:
        if group:
            os.killpg(proc.pid, sig)
        elif proc.poll() is None:
            proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()
    return proc.returncode


class Sender:
    """hookspool-sender --foreground (with once, --once) with its log in a file of its own
    in env.dir; stop() ends it with a signal and returns its exit status."""

    def __init__(self, env, conf=None, once=False, environ=None):
        self.log_path = os.path.join(env.dir, "sender-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "ab")
        argv = [os.path.join(BUILD, "hookspool-sender"), "--foreground", "--config",
                conf or env.conf]
        if once:
            argv.append("--once")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=environ)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        rc = end_process(self.proc, sig, timeout)
        self.log.close()
        return rc


def stop_all(*things):
    """Stops every sender, server and receiver given that is not None."""
    for thing in things:
        if thing is not None:
            thing.stop()


class Receiver:
    """A recording HTTP/1.1 server on 127.0.0.1 for what a sender delivers. Each POST is
    kept in `requests` as a dict: method, path, body, headers (lowercased names),
    header_names (in the order sent), peer (the client's port: one per connection), time
    (its arrival), inflight (the requests in progress when it arrived, itself included),
    and, once answered, status and answered (the time its answer was about to be sent).
    answer() decides the answer, 200 "ok" here; suites subclass it. A request is listed as
    it arrives or, with record_answered set, only once answer() has returned. With tls (an
    ssl.SSLContext) it speaks HTTPS."""

    record_answered = False

    def __init__(self, tls=None):
        self.requests = []
        self.listed = {}        # path -> how many requests to it are in self.requests
        self.inflight = 0
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                rec._serve(self)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass            # a SIGKILLed sender resets its connections: expected

        self.port = free_port()
        self.server = Server(("127.0.0.1", self.port), Handler)
        if tls is not None:
            # The handshake happens in the connection's own thread, at its first read, so
            # a client that fails it (or never finishes it) holds up no other connection.
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "%s://127.0.0.1:%d" % ("https" if tls is not None else "http", self.port)

    def answer(self, entry, seen):
        """(status, {header: value}, body bytes) for one request; seen is how many requests
        to the same path were listed when it arrived. It may sleep, and add to entry."""
        return 200, {}, b"ok"

    def _list(self, entry):
        self.requests.append(entry)
        self.listed[entry["path"]] = self.listed.get(entry["path"], 0) + 1

    def _serve(self, handler):
        arrived = time.time()
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        entry = {"method": handler.command, "path": handler.path, "body": body,
                 "headers": {k.lower(): v for k, v in handler.headers.items()},
                 "header_names": [k.lower() for k in handler.headers.keys()],
                 "time": arrived, "peer": handler.client_address[1]}
        with self.lock:
            seen = self.listed.get(handler.path, 0)
            self.inflight += 1
            entry["inflight"] = self.inflight
            if not self.record_answered:
                self._list(entry)
        status, extra, payload = self.answer(entry, seen)
        entry["status"], entry["answered"] = status, time.time()
        with self.lock:
            if self.record_answered:
                self._list(entry)
            self.inflight -= 1
        try:
            handler.send_response(status)
            for k, v in extra.items():
                handler.send_header(k, v)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass

    def on(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def all(self):
        with self.lock:
            return list(self.requests)

    def wait(self, path, count, timeout):
        return bool(wait_for(lambda: len(self.on(path)) >= count, timeout))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Api:
    """Requests to one server for one tenant with one API key."""

    def __init__(self, url, tenant, key):
        self.url, self.tenant, self.key = url, tenant, key

    def path(self, suffix=""):
        return "/api/%s/webhooks%s" % (self.tenant, suffix)

    def call(self, method, path, body=None, headers=None, key=True, timeout=30):
        """One request to path (from the root); key True sends the client's key, a false
        one none, a string that key. (status, {lowercased header: value}, body bytes)."""
        hdrs = {}
        if key is True:
            key = self.key
        if key:
            hdrs["X-API-KEY"] = key
        hdrs.update(headers or {})
        return request(method, self.url + path, body, hdrs, timeout=timeout)

    def webhooks(self, method, suffix="", body=None, ctype="application/json", key=True,
                 timeout=30):
        """call() under /api/TENANT/webhooks with a body of Content-Type ctype;
        (status, headers, the body parsed as JSON or None)."""
        hdrs = {"Content-Type": ctype} if body is not None else {}
        st, headers, data = self.call(method, self.path(suffix), body, hdrs, key, timeout)
        return st, headers, as_json(data)

    def list(self):
        st, _, data = self.call("GET", self.path())
        if st != 200:
            raise RuntimeError("list %s: %d %r" % (self.tenant, st, data[:300]))
        return json.loads(data)

    def create_body(self, body=None, **fields):
        """POSTs body (or a valid webhook with fields); (the webhook, headers)."""
        body = body or dict({"events": ["Pass:Created"], "endpoint": "https://example.com/h"},
                            **fields)
        st, hdrs, data = self.call("POST", self.path(), body)
        if st != 200:
            raise RuntimeError("create %s: %d %r" % (self.tenant, st, data[:300]))
        return json.loads(data), hdrs

    def create(self, endpoint, events, **members):
        """A webhook to endpoint for events (and other members); the created webhook."""
        return self.create_body(dict({"endpoint": endpoint, "events": list(events)},
                                     **members))[0]

    def get(self, wid):
        st, _, data = self.call("GET", self.path("/" + wid))
        return st, as_json(data)

    def patch(self, wid, changes):
        """A merge-patch of one webhook; the status code."""
        return self.webhooks("PATCH", "/" + wid, changes, "application/merge-patch+json")[0]


FCGI = os.path.join(BUILD, "cgi-bin", "webhooks.fcgi")


def cgi_environ(env_conf, method, uri, headers=None):
    """The environment of webhooks.fcgi run as a CGI program for one request: the CGI
    variables, the configuration, the sanitizer options of this run, and headers (more
    CGI variables: HTTP_X_API_KEY...)."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOOKSPOOL_CONF": env_conf,
         "REQUEST_METHOD": method, "REQUEST_URI": uri, "GATEWAY_INTERFACE": "CGI/1.1",
         "SCRIPT_NAME": "/cgi-bin/webhooks.fcgi", "SERVER_PROTOCOL": "HTTP/1.1"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(headers or {})
    return e


def cgi(env_conf, method, uri, body=b"", headers=None, path_info=None, keep_open=False,
        timeout=30):
    """Runs webhooks.fcgi as a CGI program with REQUEST_URI (and PATH_INFO if given) and
    the CGI variables in headers (HTTP_X_API_KEY...); with keep_open its stdin stays open
    after the body until it exits. (status, {lowercased header: value}, body bytes, exit
    status, stderr bytes, seconds it took with keep_open)."""
    e = cgi_environ(env_conf, method, uri)
    if path_info is not None:
        e["PATH_INFO"] = path_info
    if body or method in ("POST", "PUT", "PATCH"):
        e["CONTENT_LENGTH"] = str(len(body))
        e["CONTENT_TYPE"] = "application/json"
    e.update(headers or {})     # last: a test may set CONTENT_LENGTH itself
    p = subprocess.Popen([FCGI], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e)
    if keep_open:
        p.stdin.write(body)
        p.stdin.flush()
        t0 = time.time()
        try:
            out = p.stdout.read()
            p.wait(timeout)
        finally:
            p.stdin.close()
            if p.poll() is None:
                p.kill()
        err = p.stderr.read()
        elapsed = time.time() - t0
    else:
        out, err = p.communicate(body, timeout=timeout)
        elapsed = 0
    head, _, payload = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    status = int(hdrs.get("status", "0").split()[0] or 0)
    return status, hdrs, payload, p.returncode, err, elapsed


APACHE_MODULES = "/usr/lib/apache2/modules"


def apache(run, modules, body, user, docroot=None):
    """Apache httpd (prefork) in the foreground on a free loopback port, as user, with an
    httpd.conf written in run: the base modules and those named, everything denied below
    /, then body. The document root is docroot, or run/htdocs (made here)."""
    port = free_port()
    if docroot is None:
        docroot = os.path.join(run, "htdocs")
        os.makedirs(docroot, exist_ok=True)
    loads = "\n".join("LoadModule %s_module %s/mod_%s.so" % (m, APACHE_MODULES, m)
                      for m in ["mpm_prefork", "authz_core", "mime", "alias", "env", "dir"]
                      + modules)
    conf = os.path.join(run, "httpd.conf")
    with open(conf, "w") as f:
        f.write("""
ServerRoot "%(run)s"
ServerName 127.0.0.1
Listen 127.0.0.1:%(port)d
PidFile "%(run)s/httpd.pid"
ErrorLog "%(run)s/error.log"
LogLevel warn
DefaultRuntimeDir "%(run)s"
Mutex file:%(run)s default
User %(user)s
Group %(user)s
StartServers 2
%(loads)s
TypesConfig /etc/mime.types
DocumentRoot "%(docroot)s"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
%(body)s
""" % {"run": run, "port": port, "user": user, "loads": loads, "docroot": docroot,
       "body": body})
    srv = Server(["apache2", "-DFOREGROUND", "-f", conf], port, os.path.join(run, "stdout.log"))
    srv.errorlog = os.path.join(run, "error.log")
    return srv
