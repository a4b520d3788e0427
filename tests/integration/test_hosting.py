"""The shared-hosting walkthrough of docs/deploy.md, step by step, as one
unprivileged user: configure --prefix=$HOME/hookspool
--with-cgibindir=$HOME/public_html/api, make install, copy the installed
htaccess beside the program, create a key with the installed CLI, use the
API through Apache running the program as plain CGI, publish an event, and
let the cron line (hookspool-sender --once) deliver it, signed, to a receiver."""

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile

import harness as h

USER = "www-data"       # the hosting account: Apache's CGI, cron and the shell are all it
suite = h.Suite("hosting")


def as_user(argv, **kw):
    """Runs a command as the hosting account, as cron or its shell would."""
    return subprocess.run(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                           "--"] + argv, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": home}, **kw)


def apache_cgi(run, docroot):
    """Apache with mod_cgi and mod_rewrite as the hosting account, serving docroot with
    .htaccess files honoured, as a shared host does."""
    return h.apache(run, ["cgi", "rewrite"], """
<Directory "%s">
    AllowOverride All
    Require all granted
</Directory>
""" % docroot, USER, docroot)


def main():
    global home
    h.scratch_reachable_by(USER)
    top = tempfile.mkdtemp(prefix="hosting-", dir=h.TMP_ROOT)
    home = os.path.join(top, "home")
    build = os.path.join(top, "build")
    run = os.path.join(top, "apache")
    for d in (home, build, run):
        os.makedirs(d)
    srv = receiver = key = None
    hook = {}
    try:
        # 1. Build and install under the home directory.
        prefix = os.path.join(home, "hookspool")
        api_dir = os.path.join(home, "public_html", "api")
        r = subprocess.run([os.path.join(h.SRC, "configure"), "--prefix=" + prefix,
                            "--with-cgibindir=" + api_dir, "--with-systemdunitdir=no"],
                           cwd=build, capture_output=True, text=True, timeout=300)
        if not suite.check(r.returncode == 0, "configure --prefix=$HOME/hookspool", r.stderr[-2000:]):
            return
        r = subprocess.run(["make", "-j%d" % (os.cpu_count() or 2), "install"], cwd=build,
                           capture_output=True, text=True, timeout=900)
        if not suite.check(r.returncode == 0, "make install into the home directory",
                           (r.stdout + r.stderr)[-3000:]):
            return
        suite.check(not os.path.exists(os.path.join(prefix, "lib", "systemd")),
                    "--with-systemdunitdir=no installs no units")
        conf = os.path.join(prefix, "etc", "hookspool.conf")

        # 2. The .htaccess beside the program, as installed.
        shutil.copy(os.path.join(prefix, "share", "doc", "hookspool", "deploy", "htaccess"),
                    os.path.join(api_dir, ".htaccess"))
        # 3. Development settings so the receiver may be on loopback over http.
        with open(conf, "a") as f:
            f.write("allow_http_endpoints = yes\nallow_private_targets = yes\n"
                    "durability = nosync\nlog_level = debug\n")
        subprocess.run(["chown", "-R", "%s:%s" % (USER, USER), top], check=True)
        os.chmod(top, 0o755)
        cli = os.path.join(prefix, "bin", "hookspool")
        r = as_user([cli, "apikey", "create", "--config", conf, "--tenant", "acme",
                     "--scopes", "Webhook.Read,Webhook.Write"])
        key = r.stdout.strip()
        if not suite.check(r.returncode == 0 and key, "the installed CLI creates a key", r.stderr):
            return

        srv = apache_cgi(run, os.path.join(home, "public_html"))
        receiver = h.Receiver()
        st, _, body = h.request("POST", srv.url + "/api/acme/webhooks",
                                {"endpoint": "http://127.0.0.1:%d/hook" % receiver.port,
                                 "events": ["Pass:*"]}, {"X-API-KEY": key})
        hook = h.as_json(body) or {}
        if not suite.check(st == 200 and len(hook.get("signatureSecret", "")) == 64,
                           "the API answers through the .htaccess (CGI)", (st, body[:300])):
            return
        st, _, body = h.request("GET", srv.url + "/api/acme/webhooks/" + hook["id"], None,
                                {"X-API-KEY": key})
        suite.check(st == 200 and (h.as_json(body) or {}).get("id") == hook["id"],
                    "GET reads it back", (st, body[:200]))
        st, hd, _ = h.request("GET", srv.url + "/api/acme/webhooks", None,
                              {"Authorization": "Bearer not.a.token"})
        suite.check(st == 401 and 'error="invalid_token"' in hd.get("www-authenticate", ""),
                    "the Authorization header reaches the CGI program", hd)

        # 4. An event, then the cron line delivers it.
        r = as_user([cli, "emit", "--config", conf, "--tenant", "acme", "--type", "Pass:Created",
                     "--data", '{"passId":"p-1"}'])
        event_id = r.stdout.strip()
        suite.check(r.returncode == 0 and event_id, "hookspool emit publishes an event", r.stderr)
        sender = os.path.join(prefix, "sbin", "hookspool-sender")
        r = as_user([sender, "--once", "--config", conf])
        suite.eq(r.returncode, 0, "hookspool-sender --once exits 0 (%s)" % r.stderr[-500:])
        got = [(r["headers"], r["body"]) for r in receiver.all() if b"Pass:Created" in r["body"]]
        suite.eq(len(got), 1, "the receiver got the event once")
        if got:
            hd, b = got[0]
            want = hmac.new(hook["signatureSecret"].encode(), b, hashlib.sha256).hexdigest()
            suite.eq(hd.get("x-neostore-signature"), want, "signed with the webhook's secret")
            suite.eq((h.as_json(b) or {}).get("eventId"), event_id, "the event id is the emitted one")
        new = os.listdir(os.path.join(prefix, "var", "spool", "hookspool", "new"))
        suite.eq(new, [], "the spool's new/ is empty afterwards")
    finally:
        if srv is not None:
            srv.stop()
            text = open(srv.errorlog, errors="replace").read()
            leaked = [s[:6] for s in [key, hook.get("signatureSecret")] if s and s in text]
            suite.check(not leaked, "no key or secret in Apache's error log", leaked)
        if receiver is not None:
            receiver.stop()
        if os.environ.get("HOOKSPOOL_KEEP_TMP") != "1":
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        suite.done()
