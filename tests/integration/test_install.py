"""make install: the layout under --prefix and DESTDIR, paths substituted into
the installed examples and units, a hookspool.conf that an upgrade never
overwrites, a sample that documents every key and loads, the state directories'
modes, the systemd service's way of running the program (a listening socket on
standard input), make uninstall, and make distcheck."""

import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import harness as h

suite = h.Suite("install")
TMP = tempfile.mkdtemp(prefix="install-", dir=(os.makedirs(h.TMP_ROOT, exist_ok=True), h.TMP_ROOT)[1])
MANS = ["man1/hookspool.1", "man8/hookspool-sender.8", "man8/webhooks.fcgi.8", "man5/hookspool.conf.5"]
SPOOL_DIRS = ["tmp", "new", "active", "deferred", "failed"]


def sh(argv, cwd=None, timeout=600, env=None):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def make_install(build, destdir):
    r = sh(["make", "-C", build, "install", "DESTDIR=" + destdir])
    suite.check(r.returncode == 0, "make install DESTDIR=%s succeeds" % destdir,
                (r.stdout + r.stderr)[-3000:])
    return r


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def mode(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def config_keys():
    """The keys the programs accept, from the settings table in config.c."""
    text = read(os.path.join(h.SRC, "src", "domain", "config.c"))
    table = text[text.index("settings[] = {"):]
    table = table[:table.index("};")]
    return re.findall(r'\{\s*"([a-z0-9_]+)"', table)


def check_layout(root, prefix, sysconfdir, localstatedir, cgibindir, unitdir, label):
    """The files make install wrote under DESTDIR root."""
    p = lambda *parts: os.path.join(root + parts[0], *parts[1:])
    bins = [p(prefix, "bin", "hookspool"), p(cgibindir, "webhooks.fcgi")]
    if os.path.exists(os.path.join(h.SRC, "src", "sender", "sender.c")):
        bins.append(p(prefix, "sbin", "hookspool-sender"))
    for b in bins:
        suite.check(os.access(b, os.X_OK), "%s: %s is installed and executable" % (label, b))
    for m in MANS:
        page = p(prefix, "share", "man", m)
        suite.check(read(page).startswith(".TH "), "%s: man page %s" % (label, m))
    conf = p(sysconfdir, "hookspool.conf")
    sample = p(sysconfdir, "hookspool.conf.sample")
    suite.check(os.path.isfile(conf) and read(conf) == read(sample),
                "%s: hookspool.conf installed from the sample" % label)
    suite.check(("#db_home = %s/lib/hookspool" % localstatedir) in read(sample),
                "%s: the sample names the configured db_home default" % label)
    for unit in ["webhooks-fcgi.socket", "webhooks-fcgi.service"]:
        suite.check(os.path.isfile(p(unitdir, unit)), "%s: systemd unit %s" % (label, unit))
    service = read(p(unitdir, "webhooks-fcgi.service"))
    suite.check(re.search(r"^ExecStart=%s/webhooks\.fcgi --workers \d+$" % re.escape(cgibindir),
                          service, re.M)
                and ("Environment=HOOKSPOOL_CONF=%s/hookspool.conf" % sysconfdir) in service,
                "%s: the API unit runs the installed program with the installed config" % label,
                service)
    if os.path.exists(os.path.join(h.SRC, "deploy", "systemd", "hookspool-sender.service")):
        sender = read(p(unitdir, "hookspool-sender.service"))
        settings = "\n".join(l for l in sender.splitlines() if not l.startswith("#"))
        suite.check(prefix in settings and "/usr/local" not in settings.replace(prefix, ""),
                    "%s: the sender unit is installed with the configured paths" % label, sender)
    examples = p(prefix, "share", "doc", "hookspool", "deploy")
    fcgid = read(os.path.join(examples, "apache", "fcgid.conf"))
    suite.check(("Define HOOKSPOOL_CGIBIN %s" % cgibindir) in fcgid
                and ("Define HOOKSPOOL_CONF %s/hookspool.conf" % sysconfdir) in fcgid,
                "%s: the installed Apache example names the installed paths" % label)
    suite.check(("SetEnv HOOKSPOOL_CONF %s/hookspool.conf\n" % sysconfdir)
                in read(os.path.join(examples, "htaccess")),
                "%s: the installed .htaccess names the installed config" % label)
    for f in ["apache/proxy_fcgi.conf", "nginx/hookspool.conf", "lighttpd/hookspool.conf", "htaccess"]:
        suite.check(os.path.isfile(os.path.join(examples, f)), "%s: example %s installed" % (label, f))
    check_examples_parse(examples, label)
    db = p(localstatedir, "lib", "hookspool")
    spool = p(localstatedir, "spool", "hookspool")
    for d in [db] + [os.path.join(spool, s) for s in SPOOL_DIRS]:
        suite.eq(mode(d), 0o2770, "%s: %s is setgid, group-writable, closed to others" % (label, d))
    suite.eq(mode(spool), 0o2771, "%s: %s lets producers pass through to tmp/ and new/ only"
             % (label, spool))
    # A DESTDIR install changes no ownership: everything belongs to the installer.
    suite.eq(os.stat(db).st_gid, os.getgid(), "%s: DESTDIR install does not chgrp" % label)


def check_examples_parse(examples, label):
    """The installed web server examples, with their installed paths, are
    accepted by the servers' own configuration checks."""
    work = tempfile.mkdtemp(prefix="examples-", dir=TMP)
    mods = "\n".join("LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so" % (m, m)
                     for m in ["mpm_prefork", "authz_core", "alias", "fcgid", "proxy", "proxy_fcgi"])
    for name in ["fcgid.conf", "proxy_fcgi.conf"]:
        conf = os.path.join(work, "httpd-" + name)
        with open(conf, "w") as f:
            f.write('ServerRoot "%s"\nServerName localhost\nListen 127.0.0.1:1\nPidFile %s/p\n'
                    'ErrorLog %s/e.log\n%s\nInclude "%s/apache/%s"\n'
                    % (work, work, work, mods, examples, name))
        r = sh(["apache2", "-t", "-f", conf])
        suite.check(r.returncode == 0, "%s: apache2 -t accepts the installed %s" % (label, name),
                    r.stdout + r.stderr)
    shutil.copy("/etc/nginx/fastcgi_params", work)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write("pid %s/nginx.pid;\nerror_log %s/e.log;\nevents {}\nhttp {\n"
                "upstream hookspool_api { server unix:/run/hookspool/webhooks.sock; }\n"
                "server { listen 127.0.0.1:1; include %s/nginx/hookspool.conf; }\n}\n"
                % (work, work, examples))
    r = sh(["nginx", "-t", "-p", work, "-c", conf, "-e", os.path.join(work, "e.log")])
    suite.check(r.returncode == 0, "%s: nginx -t accepts the installed snippet" % label, r.stderr)
    conf = os.path.join(work, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write('server.document-root = "%s"\nserver.port = 1\nvar.hookspool_fcgi = "/bin/true"\n'
                'var.hookspool_conf = "/dev/null"\nvar.hookspool_socket = "%s/s"\n'
                'var.hookspool_procs = 1\ninclude "%s/lighttpd/hookspool.conf"\n' % (work, work, examples))
    r = sh(["lighttpd", "-t", "-f", conf])
    suite.check(r.returncode == 0, "%s: lighttpd -t accepts the installed include" % label,
                r.stdout + r.stderr)


def check_sample_and_docs(sample_path):
    """Every key the programs know is documented with a default that loads."""
    sample = read(sample_path)
    manpage = read(os.path.join(h.SRC, "man", "hookspool.conf.5"))
    keys = config_keys()
    suite.check(len(keys) >= 23, "config.c's settings table is found", keys)
    missing = [k for k in keys if not re.search(r"^#%s =" % k, sample, re.M)]
    suite.check(not missing, "the sample documents every key", missing)
    undocumented = [k for k in keys if not re.search(r"^\.BR %s " % k, manpage, re.M)]
    suite.check(not undocumented, "hookspool.conf(5) documents every key", undocumented)
    # Every hookspool subcommand has its entry in hookspool(1).
    table = read(os.path.join(h.SRC, "src", "cli", "hookspool.c"))
    commands = re.findall(r'\{\s*"([a-z]+)",\s*cmd_', table)
    page = read(os.path.join(h.SRC, "man", "hookspool.1"))
    suite.check(len(commands) >= 6, "hookspool's command table is found", commands)
    absent = [c for c in commands if not re.search(r"^\.B %s\b" % c, page, re.M)]
    suite.check(not absent, "hookspool(1) describes every subcommand", absent)
    # Uncommenting every line gives a configuration the programs accept.
    work = os.path.join(TMP, "sample-check")
    os.makedirs(work)
    text = re.sub(r"^#([a-z0-9_]+ =)", r"\1", sample, flags=re.M)
    text = re.sub(r"^db_home = .*$", "db_home = " + os.path.join(work, "db"), text, flags=re.M)
    text = re.sub(r"^spool_dir = .*$", "spool_dir = " + os.path.join(work, "spool"), text, flags=re.M)
    os.makedirs(os.path.join(work, "db"))
    conf = os.path.join(work, "all-keys.conf")
    with open(conf, "w") as f:
        f.write(text)
    r = sh([os.path.join(h.BUILD, "hookspool"), "apikey", "list", "--config", conf])
    suite.check(r.returncode == 0, "the sample with every key uncommented loads", r.stderr)


def check_socket_activation(root, cgibindir):
    """What webhooks-fcgi.service does: the program gets a listening socket as
    standard input (StandardInput=socket) and serves FastCGI requests on it."""
    env = h.Env("install-socket")
    try:
        key = env.apikey("acme")
        path = os.path.join(env.dir, "webhooks.sock")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen(16)
        prog = root + cgibindir + "/webhooks.fcgi"
        proc = subprocess.Popen([prog], stdin=listener.fileno(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=dict(os.environ, HOOKSPOOL_CONF=env.conf),
                                start_new_session=True)
        listener.close()
        try:
            def fcgi(method, uri, extra=None):
                e = dict(os.environ, REQUEST_METHOD=method, REQUEST_URI=uri, SERVER_PROTOCOL="HTTP/1.1",
                         CONTENT_LENGTH="0", **(extra or {}))
                r = subprocess.run(["cgi-fcgi", "-bind", "-connect", path], env=e,
                                   capture_output=True, timeout=30)
                return r.stdout.decode(errors="replace")
            out = fcgi("GET", "/api/acme/webhooks", {"HTTP_X_API_KEY": key})
            suite.check(out.startswith("Status: 200") and out.rstrip().endswith("[]"),
                        "the installed program serves FastCGI on a socket given as stdin", out[:500])
            out = fcgi("GET", "/api/acme/webhooks")
            suite.check(out.startswith("Status: 401"), "... and keeps serving (401 without a key)", out[:300])
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        env.cleanup()


def check_group_writable(root, cgibindir, bindir):
    """Database files the programs create are writable by group hookspool
    (shared by the web server user and the sender) even under umask 022."""
    for label, run in [
        ("webhooks.fcgi (CGI)", lambda env: subprocess.run(
            [root + cgibindir + "/webhooks.fcgi"], capture_output=True, timeout=30,
            stdin=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o022),
            env=dict(os.environ, HOOKSPOOL_CONF=env.conf, REQUEST_METHOD="GET",
                     REQUEST_URI="/api/acme/webhooks"))),
        ("hookspool apikey create", lambda env: subprocess.run(
            [root + bindir + "/hookspool", "apikey", "create", "--config", env.conf, "--tenant", "acme",
             "--scopes", "Webhook.Read"], capture_output=True, timeout=30,
            preexec_fn=lambda: os.umask(0o022))),
    ]:
        env = h.Env("install-modes")
        try:
            os.makedirs(env.db)
            r = run(env)
            files = sorted(os.listdir(env.db))
            closed = [(f, oct(mode(os.path.join(env.db, f)))) for f in files
                      if mode(os.path.join(env.db, f)) & 0o060 != 0o060]
            suite.check(r.returncode == 0 and len(files) >= 3 and not closed,
                        "%s under umask 022 creates group-writable database files" % label,
                        (r.returncode, r.stdout[:200], r.stderr[-300:], closed or files))
        finally:
            env.cleanup()


def main():
    build = h.BUILD
    try:
        # 1. The build the suite runs against, configured with the default
        # --prefix=/usr/local, installed into a DESTDIR.
        root = os.path.join(TMP, "root")
        if make_install(build, root).returncode == 0:
            check_layout(root, "/usr/local", "/usr/local/etc", "/usr/local/var",
                         "/usr/local/libexec/hookspool/cgi-bin", "/usr/local/lib/systemd/system",
                         "default prefix")
            check_sample_and_docs(root + "/usr/local/etc/hookspool.conf.sample")
            check_socket_activation(root, "/usr/local/libexec/hookspool/cgi-bin")
            check_group_writable(root, "/usr/local/libexec/hookspool/cgi-bin", "/usr/local/bin")

            # 2. An upgrade keeps the operator's hookspool.conf, refreshes the sample.
            conf = root + "/usr/local/etc/hookspool.conf"
            sample = conf + ".sample"
            with open(conf, "a") as f:
                f.write("log_level = debug  # edited by the operator\n")
            edited = read(conf)
            os.remove(sample)
            r = make_install(build, root)
            suite.eq(read(conf), edited, "make install again keeps the edited hookspool.conf")
            suite.check("keeping the existing" in r.stdout, "make install says it kept it", r.stdout[-500:])
            suite.check(os.path.isfile(sample) and read(sample) != edited,
                        "make install again puts the new sample beside it")

        # 3. Another prefix and every directory option, from a fresh configure.
        other = os.path.join(TMP, "build-prefix")
        os.makedirs(other)
        opts = ["--prefix=/opt/hookspool", "--sysconfdir=/etc/opt/hookspool",
                "--localstatedir=/var/opt/hookspool", "--with-cgibindir=/srv/www/cgi-bin",
                "--with-systemdunitdir=/etc/systemd/system"]
        r = sh([os.path.join(h.SRC, "configure")] + opts, cwd=other)
        if suite.check(r.returncode == 0, "configure with custom directories", r.stdout[-2000:] + r.stderr):
            r = sh(["make", "-j%d" % (os.cpu_count() or 2)], cwd=other, timeout=900)
            if suite.check(r.returncode == 0, "make with custom directories", r.stderr[-3000:]):
                root2 = os.path.join(TMP, "root2")
                if make_install(other, root2).returncode == 0:
                    check_layout(root2, "/opt/hookspool", "/etc/opt/hookspool", "/var/opt/hookspool",
                                 "/srv/www/cgi-bin", "/etc/systemd/system", "custom prefix")
                    leaked = sh(["grep", "-rlE", "^[^#]*/usr/local", root2 + "/etc",
                                 root2 + "/opt/hookspool/share/doc/hookspool/deploy"])
                    suite.check(leaked.stdout == "", "no installed setting names /usr/local under a custom prefix",
                                leaked.stdout)
                    r = sh(["make", "-C", other, "uninstall", "DESTDIR=" + root2])
                    left = sh(["find", root2, "-type", "f"]).stdout.split()
                    suite.check(r.returncode == 0 and left == [],
                                "make uninstall removes every file (the unchanged config too)", left)

        # 4. make distcheck: the tarball builds, checks, installs and uninstalls
        # out of tree from a read-only source (about 15 s here).
        if os.path.exists(os.path.join(other, "Makefile")):
            t0 = time.time()
            r = sh(["make", "-C", other, "distcheck"], timeout=900)
            suite.check(r.returncode == 0 and "archives ready for distribution" in r.stdout,
                        "make distcheck passes", (r.stdout + r.stderr)[-3000:])
            print("install: make distcheck took %.0fs" % (time.time() - t0))
    finally:
        if os.environ.get("HOOKSPOOL_KEEP_TMP") != "1":
            shutil.rmtree(TMP, ignore_errors=True)
    suite.done()


if __name__ == "__main__":
    main()
