"""A full disk is a clear error, not an outage.

db_home and spool_dir on a 3 MiB tmpfs made by the test, lighttpd with the
shipped include (2 workers), a sender delivering to a receiver on 127.0.0.1.
Fill the file system through the API (webhooks of about 6 KiB) and through
`hookspool emit`: while it is full, GET answers 200 and POST answers 507 with
Retry-After, each in under a second, emit fails saying why; then the file
system grows (remount) and POST answers 200 within two seconds with nothing
restarted, every acknowledged write is there, every acknowledged event is
delivered once, and a backup of the database verifies."""

import json
import os
import subprocess
import time

import harness as h
import test_sender as ts

suite = h.Suite("fulldisk")
SMALL, LARGE = "3m", "16m"


def mount(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path],
                   check=True)


def resize(path, size):
    subprocess.run(["mount", "-o", "remount,size=%s" % size, path], check=True)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def timed(fn):
    start = time.monotonic()
    out = fn()
    return out, time.monotonic() - start


def big_webhook(endpoint, n):
    """About 6 KiB of webhook: 40 patterns of 128 characters and a 1 KiB description."""
    return {"endpoint": endpoint, "description": ("d%d-" % n).ljust(1024, "x"),
            "events": ["Full:%02d%s" % (i, "x" * 120) for i in range(40)]}


def main():
    if os.geteuid() != 0:
        print("fulldisk: needs root to mount a tmpfs")
        suite.check(False, "run as root (tests/run is)")
        suite.done()
    env = h.Env("fulldisk", durability="sync", allow_private_targets="yes",
                max_webhooks_per_tenant=100000)
    fs = os.path.join(env.dir, "fs")
    mount(fs, SMALL)
    env.db, env.spool = os.path.join(fs, "db"), os.path.join(fs, "spool")
    env.write_conf(db_home=env.db, spool_dir=env.spool)
    srv = sender = receiver = None
    try:
        receiver = ts.Receiver()
        srv = h.lighttpd(env, procs=2)
        api = ts.Api(srv, env, "full")
        hook = api.create(receiver.url + "/ok/full", ["Full:*"])
        sender = h.Sender(env)
        launcher = ts_children_pids(srv)

        # Events before the disk is full are delivered.
        emitted = [ts.emit(env, "full", "Full:Before", {"n": n}) for n in range(20)]

        # Fill it through the API.
        acked, statuses, slow = [], [], []
        for n in range(2000):
            (st, _, doc), took = timed(lambda: api.webhooks("POST", "", big_webhook(
                receiver.url + "/ok/x", n)))
            statuses.append(st)
            if st == 200:
                acked.append(doc["id"])
            elif took >= 1.0:
                slow.append((st, round(took, 2)))
            if st != 200 and statuses[-3:] == [st] * 3:
                break
        refused = [s for s in statuses if s != 200]
        suite.check(acked and refused and set(refused) == {507},
                    "creates until the disk is full answer 200, then 507",
                    "%d acknowledged, refusals %r" % (len(acked), sorted(set(refused))))
        suite.eq(slow, [], "every refused write answered in under a second")

        # Fill what is left through the spool.
        emit_errors = []
        for n in range(2000):
            r = env.cli("emit", "--tenant", "full", "--type", "Full:Filler",
                        "--data", json.dumps({"pad": "p" * 4000}))
            if r.returncode == 0:
                emitted.append(r.stdout.strip())
            else:
                emit_errors.append((r.returncode, r.stderr.strip()))
                if len(emit_errors) >= 2:
                    break
        suite.check(emit_errors and emit_errors[0][0] == 1 and
                    "No space left on device" in emit_errors[0][1],
                    "hookspool emit on a full disk: exit 1, 'No space left on device'",
                    emit_errors[:1])
        print("fulldisk: %d webhooks and %d events acknowledged before the disk filled; "
              "%d bytes free" % (len(acked), len(emitted), free_bytes(fs)), flush=True)

        # While full: reads answer, writes are refused at once and say when to come back.
        (st, hdrs, data), took = timed(lambda: h.request(
            "GET", "%s/api/full/webhooks" % srv.url, headers={"X-API-KEY": api.key}))
        listed = {w["id"] for w in h.as_json(data) or []} if st == 200 else set()
        suite.check(st == 200 and took < 1.0, "full: GET answers 200 in under a second",
                    (st, round(took, 2)))
        suite.check(set(acked) <= listed, "full: GET lists every acknowledged webhook",
                    sorted(set(acked) - listed)[:5])
        (st, hdrs, data), took = timed(lambda: h.request(
            "POST", "%s/api/full/webhooks" % srv.url, big_webhook(receiver.url, 0),
            {"X-API-KEY": api.key}))
        doc = h.as_json(data) or {}
        suite.check(st == 507 and took < 1.0, "full: POST answers 507 in under a second",
                    (st, round(took, 2), data[:200]))
        suite.check(hdrs.get("retry-after", "").isdigit(), "full: 507 carries Retry-After",
                    hdrs)
        suite.check(hdrs.get("content-type", "").startswith("application/problem+json") and
                    doc.get("status") == 507 and "disk" in doc.get("detail", ""),
                    "full: 507 is problem+json that says the disk is full", doc)
        st2, _, _ = api.webhooks("PATCH", "/" + hook["id"], {"description": "while full"})
        suite.eq(st2, 507, "full: PATCH answers 507")

        # Space again: writes succeed within two seconds, nothing restarted.
        resize(fs, LARGE)
        deadline, st = time.monotonic() + 2.0, None
        while time.monotonic() < deadline:
            st, _, doc = api.webhooks("POST", "", big_webhook(receiver.url + "/ok/x", -1))
            if st == 200:
                acked.append(doc["id"])
                break
            time.sleep(0.1)
        suite.eq(st, 200, "room again: POST answers 200 within 2 s")
        suite.eq(ts_children_pids(srv), launcher, "room again: the same launcher (no restart)")
        suite.eq(api.patch(hook["id"], {"description": "after"}), 200, "room again: PATCH 200")
        r = env.cli("emit", "--tenant", "full", "--type", "Full:After", "--data", "{}")
        suite.eq(r.returncode, 0, "room again: hookspool emit succeeds (%s)" % r.stderr.strip())
        if r.returncode == 0:
            emitted.append(r.stdout.strip())

        # Nothing acknowledged was lost, every acknowledged event arrives, once.
        st, _, doc = api.webhooks("GET", "")
        listed = {w["id"] for w in doc or []}
        suite.check(set(acked) <= listed, "every acknowledged webhook is stored",
                    sorted(set(acked) - listed)[:5])

        suite.check(sender.proc.poll() is None, "the sender survived the full disk",
                    "exit status %s; log:\n%s" % (sender.proc.returncode,
                                                  "\n".join(sender.text().splitlines()[-30:])))

        def delivered():
            return {json.loads(r["body"])["eventId"] for r in receiver.on("/ok/full")}
        h.wait_for(lambda: set(emitted) <= delivered(), 60)
        got = delivered()
        suite.check(set(emitted) <= got, "every acknowledged event was delivered",
                    "%d of %d missing; spool: %s; sender log:\n%s" % (
                        len(set(emitted) - got), len(emitted),
                        {d: len(os.listdir(os.path.join(env.spool, d)))
                         for d in sorted(os.listdir(env.spool))
                         if os.path.isdir(os.path.join(env.spool, d))},
                        "\n".join(sender.text().splitlines()[-30:])))
        ids = [r["headers"].get("x-neostore-delivery") for r in receiver.on("/ok/full")]
        twice = len(ids) - len(set(ids))
        suite.eq(twice, 0, "no delivery sent twice")
        log = sender.text()
        suite.check(log.count("the file system is full") <= 1,
                    "the sender logs the full disk at most once",
                    log.count("the file system is full"))
        backup = os.path.join(env.dir, "backup")
        r = env.cli("db", "backup", backup)
        suite.eq(r.returncode, 0, "hookspool db backup (%s)" % r.stderr.strip())
        verify_conf = os.path.join(env.dir, "verify.conf")
        with open(verify_conf, "w") as f:
            f.write("db_home = %s\nspool_dir = %s\n" % (backup, env.spool))
        r = env.cli("db", "verify", "--config", verify_conf)
        suite.eq((r.returncode, r.stderr.strip()), (0, ""), "db verify on the backup is clean")
    finally:
        h.stop_all(sender, srv)
        if receiver is not None:
            receiver.stop()
        h.reap_env_processes(env)
        subprocess.run(["umount", "-l", fs])
        env.cleanup()
    suite.done()


def ts_children_pids(srv):
    """The launcher lighttpd started (its pid is the same as long as nothing restarted)."""
    out = subprocess.run(["pgrep", "-P", str(srv.proc.pid), "-f", "webhooks.fcgi"],
                         capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


if __name__ == "__main__":
    main()
