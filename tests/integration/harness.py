"""Shared by the integration suites: counting checks, a scratch environment
(config, database, spool), the hookspool CLI, real servers on loopback ports,
and a plain HTTP client. Standard library only."""

import atexit
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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

    def done(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


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
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
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
