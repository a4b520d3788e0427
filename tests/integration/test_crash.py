"""A crashed worker never takes the API down (docs/recovery.md).

An operator's bad day, behind lighttpd with deploy/lighttpd/hookspool.conf
and behind nginx with webhooks.fcgi --workers under spawn-fcgi: 8 clients
write while API worker processes are SIGKILLed at random every 0.1-0.4 s
(any webhooks.fcgi under the supervisor, whatever it is doing). Afterwards
the API answers within 5 s, every write answered 2xx is there, and a backup
of the database verifies. Then the process running a recovery is killed, the
supervisor is killed, and the launcher above it is killed."""

import json
import os
import random
import socket
import subprocess
import threading
import time

import harness as h

suite = h.Suite("crash")
STORM_S = float(os.environ.get("HOOKSPOOL_CRASH_SECONDS", "30"))
CLIENTS = 8
WORKERS = 4
FCGI = os.path.join(h.BUILD, "cgi-bin", "webhooks.fcgi")


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def descendants(pid):
    out, todo = [], children(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


def launcher_of(srv):
    """The webhooks.fcgi the server started: lighttpd's child, or what spawn-fcgi became."""
    if srv.kind == "nginx":
        return srv.backend.pid
    kids = [p for p in children(srv.proc.pid) if "webhooks.fcgi" in cmdline(p)]
    return kids[0] if kids else None


def supervisor_of(srv):
    """The supervisor: the launcher's one child, parent of the workers."""
    launcher = launcher_of(srv)
    kids = children(launcher) if launcher else []
    return kids[0] if len(kids) == 1 else None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def workers_of(srv):
    sup = supervisor_of(srv)
    return [] if sup is None else [p for p in descendants(sup) if "webhooks.fcgi" in cmdline(p)]


def start_lighttpd(env):
    srv = h.lighttpd(env, procs=WORKERS, run_name="lighttpd-crash")
    srv.kind = "lighttpd"
    return srv


class SpawnedBackend:
    def __init__(self, env, run):
        self.socket = os.path.join(run, "webhooks.sock")
        self.log = open(os.path.join(run, "spawn-fcgi.log"), "ab")
        self.proc = subprocess.Popen(
            ["spawn-fcgi", "-n", "-s", self.socket, "-M", "0600", "--", FCGI,
             "--workers", str(WORKERS)],
            stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, HOOKSPOOL_CONF=env.conf), start_new_session=True)
        self.pid = self.proc.pid

    def stop(self):
        """SIGTERM to the whole session, as systemd stops a unit's cgroup: after the
        launcher was killed, its supervisor runs on without it."""
        h.end_process(self.proc, timeout=15, group=True)
        self.log.close()


def start_nginx(env):
    run = os.path.join(env.dir, "nginx-crash")
    os.makedirs(run, exist_ok=True)
    backend = SpawnedBackend(env, run)
    try:
        srv = h.nginx(run, backend.socket)
    except Exception:
        backend.stop()
        raise
    srv.kind, srv.backend = "nginx", backend
    h.wait_fastcgi(srv.url)
    return srv


class Writers:
    """CLIENTS threads creating, patching and deleting webhooks; remembers what was acknowledged."""

    def __init__(self, api):
        self.api = api
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.created, self.deleted, self.patched, self.unsure = set(), set(), {}, set()
        self.ok = 0
        self.failed = []                # (time, what)
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(CLIENTS)]

    def note(self, st, what):
        with self.lock:
            if st == 200:
                self.ok += 1
            else:
                self.failed.append((time.time(), "%s %s" % (what, st)))

    def call(self, method, suffix, body, what):
        try:
            st, _, data = self.api.call(method, self.api.path(suffix), body, timeout=20)
        except (socket.timeout, OSError) as e:
            st, data = type(e).__name__, b""
        self.note(st, what)
        return st, data

    def run(self, n):
        mine, i = [], 0
        while not self.stop.is_set():
            i += 1
            st, data = self.call("POST", "", {"events": ["k%d" % n],
                                 "endpoint": "https://e.example.com/%d" % i}, "create")
            if st == 200:
                wid = json.loads(data)["id"]
                mine.append(wid)
                with self.lock:
                    self.created.add(wid)
            if mine and i % 3 == 0:
                wid, desc = mine[0], "p%d" % i
                with self.lock:
                    self.unsure.add(wid)
                if self.call("PATCH", "/" + wid, {"description": desc}, "patch")[0] == 200:
                    with self.lock:
                        self.patched[wid] = desc
                        self.unsure.discard(wid)
            if len(mine) > 6:
                wid = mine.pop(1)
                with self.lock:
                    self.unsure.add(wid)
                if self.call("DELETE", "/" + wid, None, "delete")[0] == 200:
                    with self.lock:
                        self.deleted.add(wid)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def diagnose(label, srv, env):
    """Prints what every API process is doing, for a failure report: a wedge
    must be explainable from CI's output alone."""
    print("crash: %s: diagnosis" % label, flush=True)
    launcher = launcher_of(srv)
    for pid in ([launcher] if launcher else []) + descendants(launcher or 0):
        try:
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open("/proc/%d/wchan" % pid) as f:
                wchan = f.read()
        except OSError:
            continue
        print("  pid %d state %s wchan %s: %s" % (pid, state, wchan, cmdline(pid)), flush=True)
        if os.path.exists("/usr/bin/gdb"):
            r = subprocess.run(["gdb", "-batch", "-p", str(pid), "-ex", "bt"],
                               capture_output=True, text=True, timeout=30)
            for line in r.stdout.splitlines():
                if line.startswith("#"):
                    print("    " + line[:160], flush=True)
    lock = os.path.join(env.db, "store.lock")
    try:
        ino = os.stat(lock).st_ino
        with open("/proc/locks") as f:
            for line in f:
                if (":%d " % ino) in line:
                    print("  lock: " + line.strip(), flush=True)
    except OSError:
        pass
    backend = getattr(getattr(srv, "backend", None), "log", None)
    for path in [backend.name if backend else None, getattr(srv, "errorlog", None)]:
        if path is not None and os.path.exists(path):
            with open(path, errors="replace") as f:
                for line in f.readlines()[-40:]:
                    print("  log: " + line.rstrip(), flush=True)


def answers_within(api, seconds):
    """Seconds until a GET of the list answers 200, or None if not within seconds."""
    start = time.time()
    while time.time() - start < seconds:
        try:
            if api.call("GET", api.path(), timeout=max(0.5, seconds - (time.time() - start)))[0] == 200:
                return time.time() - start
        except OSError:
            pass
        time.sleep(0.05)
    return None


def check_nothing_lost(label, api, w):
    listed = {w["id"]: w for w in api.list()}
    # A delete whose answer was lost (its worker killed after the commit) is unsure.
    lost = sorted(w.created - w.deleted - w.unsure - set(listed))
    suite.check(not lost, "%s: every create answered 200 is there" % label, lost)
    back = sorted(w.deleted & set(listed))
    suite.check(not back, "%s: every delete answered 200 is gone" % label, back)
    stale = [x for x, d in w.patched.items()
             if x in listed and x not in w.unsure and listed[x]["description"] != d]
    suite.check(not stale, "%s: every acknowledged PATCH is what is stored" % label, stale)


def check_backup_verifies(env, label):
    backup = os.path.join(env.dir, "backup-" + label.split()[0])
    r = env.cli("db", "backup", backup)
    suite.eq(r.returncode, 0, "%s: hookspool db backup (%s)" % (label, r.stderr.strip()))
    conf = os.path.join(env.dir, "verify.conf")
    with open(conf, "w") as f:
        f.write("db_home = %s\nspool_dir = %s\n" % (backup, env.spool))
    r = env.cli("db", "verify", "--config", conf)
    suite.eq((r.returncode, r.stderr.strip()), (0, ""),
             "%s: hookspool db verify on the backup is clean" % label)


def storm(label, srv, api, env):
    """SIGKILLs random API workers every 0.1-0.4 s for STORM_S while CLIENTS write."""
    kills, kill_times = 0, []
    with Writers(api) as w:
        time.sleep(0.5)
        end = time.time() + STORM_S
        while time.time() < end:
            pids = workers_of(srv)
            if pids:
                try:
                    os.kill(random.choice(pids), 9)
                    kills += 1
                    kill_times.append(time.time())
                except ProcessLookupError:
                    pass
            time.sleep(random.uniform(0.1, 0.4))
        last_kill = time.time()
        took = answers_within(api, 5.0)
        if took is None:
            diagnose(label, srv, env)
    suite.check(took is not None, "%s: the API answers within 5 s after the last of %d kills"
                % (label, kills), "no 200 in 5 s")
    # Requests that failed long after the last kill were not in a killed worker.
    late = [what for t, what in w.failed if t > last_kill + 5]
    suite.check(not late, "%s: no request failed later than 5 s after the last kill" % label, late)
    print("crash: %s: %d kills in %.0f s, %d writes acknowledged, %d failed; answering %.2f s "
          "after the last kill" % (label, kills, STORM_S, w.ok, len(w.failed), took or -1),
          flush=True)
    suite.check(w.ok > 100, "%s: writes kept succeeding during the kills (%d)" % (label, w.ok))
    # The requests that fail are those in a killed worker, or those that met its
    # wreckage while it was being recovered: far fewer than the kills' share of all.
    suite.check(len(w.failed) <= 2 * kills,
                "%s: failed requests (%d) at most twice the kills (%d)"
                % (label, len(w.failed), kills), w.failed[:20])
    after = []
    for _ in range(20):
        try:
            after.append(api.call("POST", api.path(), {"events": ["after"],
                                                       "endpoint": "https://e.example.com/"},
                                  timeout=20)[0])
        except OSError as e:
            after.append(type(e).__name__)
    suite.eq(after, [200] * 20, "%s: after the kills, 20 creates all succeed" % label)
    check_nothing_lost(label, api, w)


def recovering(pids):
    """The pids among pids that hold the RECOVERING lock (byte 1 of store.lock, write)."""
    found = []
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fdinfo" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    info = f.read()
            except OSError:
                continue
            if any(line.split()[-2:] == ["1", "1"] and "OFDLCK" in line and "WRITE" in line
                   for line in info.splitlines() if line.startswith("lock:")):
                found.append(pid)
    return found


def kill_recoverer(label, srv, api, env):
    """Kills every worker mid-write, then the process that recovers the store, mid-recovery."""
    killed, answered = 0, []
    for round_ in range(5):
        with Writers(api) as w:
            time.sleep(0.3)
            for p in workers_of(srv):
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 3
            while time.time() < deadline:
                victims = recovering(workers_of(srv))
                if victims:
                    try:
                        os.kill(victims[0], 9)
                    except ProcessLookupError:
                        continue        # it finished between the look and the kill
                    killed += 1
                    break
                time.sleep(0.002)
            took = answers_within(api, 5.0)
        answered.append(-1 if took is None else round(took, 2))
        if took is None:
            diagnose("%s round %d" % (label, round_ + 1), srv, env)
        suite.check(took is not None, "%s: round %d: the API answers within 5 s after the "
                    "recovering process was killed" % (label, round_ + 1))
        check_nothing_lost("%s round %d" % (label, round_ + 1), api, w)
    print("crash: %s: killed %d processes in the middle of a recovery; answering after %s s"
          % (label, killed, answered), flush=True)
    suite.check(killed >= 1, "%s: at least one recovery was killed half way (%d)"
                % (label, killed))


def kill_supervisor(label, srv, api):
    sup = supervisor_of(srv)
    suite.check(sup is not None, "%s: found the supervisor" % label)
    if sup is None:
        return
    with Writers(api) as w:
        time.sleep(0.5)
        os.kill(sup, 9)
        time.sleep(1.0)
        took = answers_within(api, 10.0)
        time.sleep(1.0)
    suite.check(took is not None, "%s: supervisor killed: the API answers again" % label)
    print("crash: %s: supervisor killed: answering after %.2f s" % (label, took or -1),
          flush=True)
    deadline = time.time() + 5
    while supervisor_of(srv) in (None, sup) and time.time() < deadline:
        time.sleep(0.1)
    new = supervisor_of(srv)
    suite.check(new is not None and new != sup, "%s: a new supervisor runs" % label, new)
    check_nothing_lost(label + " (supervisor killed)", api, w)


def kill_launcher(label, srv, api):
    """The launcher (the process the web server started) killed: its supervisor serves on."""
    launcher, sup = launcher_of(srv), supervisor_of(srv)
    with Writers(api) as w:
        time.sleep(0.5)
        os.kill(launcher, 9)
        time.sleep(1.5)
        took = answers_within(api, 10.0)
        # A worker killed now is still replaced: the orphaned supervisor goes on.
        for p in workers_of(srv)[:2]:
            os.kill(p, 9)
        time.sleep(1.0)
        again = answers_within(api, 5.0)
    suite.check(took is not None and again is not None,
                "%s: launcher killed: the API answers, and again after two more worker kills"
                % label, (took, again))
    alive = [p for p in children(sup) if "webhooks.fcgi" in cmdline(p)]
    suite.eq(len(alive), WORKERS, "%s: the orphaned supervisor keeps %d workers" % (label, WORKERS))
    check_nothing_lost(label + " (launcher killed)", api, w)


def main():
    random.seed(int(os.environ.get("HOOKSPOOL_CRASH_SEED", str(int(time.time())))))
    only = os.environ.get("HOOKSPOOL_CRASH_SERVERS", "lighttpd nginx").split()
    for label, start in [("lighttpd", start_lighttpd), ("nginx + spawn-fcgi", start_nginx)]:
        if label.split()[0] not in only:
            continue
        env = h.Env("crash", durability="sync", max_webhooks_per_tenant=100000)
        srv = None
        try:
            srv = start(env)
            api = h.Api(srv.url, "storm", env.apikey("storm"))
            deadline = time.time() + 5
            while len(children(supervisor_of(srv) or 0)) != WORKERS and time.time() < deadline:
                time.sleep(0.1)
            suite.eq(len(children(supervisor_of(srv) or 0)), WORKERS,
                     "%s: %d workers under one supervisor" % (label, WORKERS))
            storm(label, srv, api, env)
            kill_recoverer(label, srv, api, env)
            kill_supervisor(label, srv, api)
            check_backup_verifies(env, label)
            kill_launcher(label, srv, api)
        finally:
            if srv is not None:
                srv.stop()
                if srv.kind == "nginx":
                    srv.backend.stop()
            left = h.reap_env_processes(env)
            suite.check(not left, "%s: no process left behind" % label, left)
            env.cleanup()
    suite.done()


if __name__ == "__main__":
    main()
