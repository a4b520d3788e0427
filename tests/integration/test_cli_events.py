"""hookspool emit, sign, verify and requeue against the real binary and a real
spool directory; signatures checked by Python's hmac and by the receiver
examples tests/receivers/verify.py and verify.js."""

import base64
import calendar
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HOOKSPOOL = os.path.join(h.BUILD, "hookspool")
RECEIVERS = os.path.join(h.SRC, "tests", "receivers")
NAME_RE = re.compile(r"^[0-9]+\.[0-9]+\.[A-Za-z0-9]+\.json$")
ALNUM = string.ascii_letters + string.digits


def run(*args, input=None, env=None):
    """Runs build/hookspool ARGS exactly as given (bytes in, text out)."""
    full_env = dict(os.environ)
    full_env.pop("HOOKSPOOL_CONF", None)
    full_env.update(env or {})
    return subprocess.run([HOOKSPOOL] + list(args), input=input, capture_output=True,
                          env=full_env, timeout=60)


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return None


def hmac_hex(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hmac_b64(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_emit(s, env):
    new, tmp = os.path.join(env.spool, "new"), os.path.join(env.spool, "tmp")
    s.eq(listdir(env.spool), None, "the spool does not exist before the first emit")

    before = int(time.time())
    r = env.cli("emit", "--tenant", "acme", "--type", "Pass:Created",
                "--data", '{"passId": "p-1", "n": [1, 2.5], "url": "https://x/y", "s": "caf\u00e9"}')
    s.eq(r.returncode, 0, "emit exits 0 (%s)" % r.stderr)
    event_id = r.stdout.strip()
    s.check(re.fullmatch(r"evt_[A-Za-z0-9]{24}", event_id), "emit prints a generated id", event_id)
    s.eq(listdir(env.spool), ["active", "deferred", "failed", "new", "tmp"],
         "emit creates the spool's directories")
    files = listdir(new)
    s.eq(len(files or []), 1, "one file in new/")
    s.eq(listdir(tmp), [], "nothing left in tmp/")
    if not files:
        return
    s.check(NAME_RE.match(files[0]), "file name is EPOCH.PID.RANDOM.json", files[0])
    with open(os.path.join(new, files[0]), "rb") as f:
        raw = f.read()
    ev = json.loads(raw)
    s.eq(list(ev), ["eventId", "eventType", "tenantId", "timestamp", "data"],
         "the file holds the complete event in body order")
    s.eq(ev["eventId"], event_id, "the file's eventId is the printed id")
    s.eq(ev["eventType"], "Pass:Created", "eventType")
    s.eq(ev["tenantId"], "acme", "tenantId")
    s.eq(ev["data"], {"passId": "p-1", "n": [1, 2.5], "url": "https://x/y", "s": "caf\u00e9"},
         "data kept")
    s.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ev["timestamp"]),
            "timestamp is RFC 3339 UTC", ev["timestamp"])
    stamp = calendar.timegm(time.strptime(ev["timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
    s.check(before - 1 <= stamp <= time.time() + 1, "timestamp is now", ev["timestamp"])
    s.check(b" " not in raw.replace(b'"caf\xc3\xa9"', b"") and b"\n" not in raw,
            "compact JSON, exactly the bytes a receiver will get", raw)
    s.check(b"https://x/y" in raw and "café".encode() in raw,
            "no escaped slashes, UTF-8 kept as is", raw)

    # --id, --data-file, stdin, non-object data
    r = env.cli("emit", "--tenant", "t_1-x", "--type", "store.product.updated", "--id", "ord-42:v1")
    s.eq((r.returncode, r.stdout), (0, "ord-42:v1\n"), "emit --id prints the given id")
    data_file = os.path.join(env.dir, "data.json")
    with open(data_file, "w") as f:
        f.write('[1, {"a": null}]\n')
    r = env.cli("emit", "--tenant", "acme", "--type", "A:B", "--id", "from-file",
                "--data-file", data_file)
    s.eq(r.returncode, 0, "emit --data-file (%s)" % r.stderr)
    r = env.cli("emit", "--tenant", "acme", "--type", "A:B", "--id", "from-stdin",
                "--data-file", "-", input='"just a string"')
    s.eq(r.returncode, 0, "emit --data-file - reads stdin (%s)" % r.stderr)
    r = env.cli("emit", "--tenant", "acme", "--type", "A:B", "--id", "no-data")
    for i, (text, value) in enumerate([("null", None), ("0", 0), ("-1.5e3", -1500.0),
                                       (" true ", True)]):
        r = env.cli("emit", "--tenant", "acme", "--type", "A:B", "--id", "bare-%d" % i,
                    "--data", text)
        s.eq(r.returncode, 0, "a bare JSON value %r is data (%s)" % (text, r.stderr))
    by_id = {}
    for name in listdir(new) or []:
        with open(os.path.join(new, name)) as f:
            e = json.load(f)
        by_id[e["eventId"]] = e
    s.eq(len(by_id), 9, "nine events in new/")
    for i, value in enumerate([None, 0, -1500.0, True]):
        s.eq(by_id.get("bare-%d" % i, {}).get("data", "absent"), value, "bare data %r" % value)
    s.eq(by_id.get("ord-42:v1", {}).get("tenantId"), "t_1-x", "--id event stored")
    s.eq(by_id.get("from-file", {}).get("data"), [1, {"a": None}], "data from a file")
    s.eq(by_id.get("from-stdin", {}).get("data"), "just a string", "data from stdin")
    s.eq(by_id.get("no-data", {}).get("data"), {}, "absent data is {}")
    s.eq(listdir(tmp), [], "tmp/ still empty")

    # Refusals leave nothing behind.
    big = os.path.join(env.dir, "big.json")
    with open(big, "w") as f:
        f.write('"' + "x" * 3000 + '"')
    not_dir = os.path.join(env.dir, "plain-file")
    with open(not_dir, "w") as f:
        f.write("x")
    bad_conf = os.path.join(env.dir, "bad.conf")
    with open(bad_conf, "w") as f:
        f.write("no_such_key = 1\n")
    small_conf = os.path.join(env.dir, "small.conf")
    with open(small_conf, "w") as f:
        f.write("spool_dir = %s\nmax_event_bytes = 1024\n" % env.spool)
    bad_spool_conf = os.path.join(env.dir, "badspool.conf")
    with open(bad_spool_conf, "w") as f:
        f.write("spool_dir = %s/spool\n" % not_dir)
    cases = [
        (2, "no arguments", []),
        (2, "missing --type", ["--tenant", "acme"]),
        (2, "missing --tenant", ["--type", "A:B"]),
        (2, "tenant with a space", ["--tenant", "ac me", "--type", "A:B"]),
        (2, "tenant with a dot", ["--tenant", "acme.corp", "--type", "A:B"]),
        (2, "65-character tenant", ["--tenant", "a" * 65, "--type", "A:B"]),
        (2, "type with a star", ["--tenant", "acme", "--type", "Pass:*"]),
        (2, "type with a space", ["--tenant", "acme", "--type", "Pass Created"]),
        (2, "129-character type", ["--tenant", "acme", "--type", "a" * 129]),
        (2, "id with a slash", ["--tenant", "acme", "--type", "A:B", "--id", "../x"]),
        (2, "malformed --data", ["--tenant", "acme", "--type", "A:B", "--data", "{"]),
        (2, "--data with trailing bytes", ["--tenant", "acme", "--type", "A:B", "--data", "{} x"]),
        (2, "NaN in --data", ["--tenant", "acme", "--type", "A:B", "--data", '{"x": NaN}']),
        (2, "a comment in --data", ["--tenant", "acme", "--type", "A:B", "--data", "[1 /* c */]"]),
        (2, "an integer beyond 64 bits", ["--tenant", "acme", "--type", "A:B",
                                          "--data", "123456789012345678901"]),
        (2, "--data and --data-file", ["--tenant", "acme", "--type", "A:B", "--data", "{}",
                                       "--data-file", data_file]),
        (2, "unknown option", ["--tenant", "acme", "--type", "A:B", "--tennant", "x"]),
        (2, "stray argument", ["--tenant", "acme", "--type", "A:B", "extra"]),
        (1, "missing data file", ["--tenant", "acme", "--type", "A:B", "--data-file",
                                  os.path.join(env.dir, "nope.json")]),
        (1, "malformed data file", ["--tenant", "acme", "--type", "A:B", "--data-file", not_dir]),
        (1, "bad configuration", ["--config", bad_conf, "--tenant", "acme", "--type", "A:B"]),
        (1, "event over max_event_bytes", ["--config", small_conf, "--tenant", "acme",
                                           "--type", "A:B", "--data-file", big]),
        (1, "data over max_event_bytes", ["--config", small_conf, "--tenant", "acme",
                                          "--type", "A:B", "--data", '"' + "x" * 1100 + '"']),
        (1, "spool under a plain file", ["--config", bad_spool_conf, "--tenant", "acme",
                                         "--type", "A:B"]),
    ]
    for want, what, args in cases:
        r = env.cli("emit", *args)
        s.eq(r.returncode, want, "emit with %s exits %d" % (what, want))
        s.eq(r.stdout, "", "emit with %s prints no id" % what)
        s.check(r.stderr.strip() != "", "emit with %s explains on stderr" % what)
        s.eq(len(listdir(new) or []), 9, "emit with %s adds nothing to new/" % what)
        s.eq(listdir(tmp), [], "emit with %s leaves nothing in tmp/" % what)
    # The limit is on the event file: just under it is accepted.
    r = env.cli("emit", "--config", small_conf, "--tenant", "acme", "--type", "A:B",
                "--id", "e1", "--data", '"' + "x" * 900 + '"')
    s.eq(r.returncode, 0, "an event under max_event_bytes is accepted (%s)" % r.stderr)
    r = env.cli("emit", "--help")
    s.check(r.returncode == 0 and r.stdout.startswith("usage: hookspool emit"), "emit --help")


def test_sign_verify(s, env):
    secret = "".join(secrets.choice(ALNUM) for _ in range(64))
    body = ('{"eventId":"evt_1","eventType":"Pass:Created","tenantId":"acme",'
            '"timestamp":"2026-11-28T18:00:00Z","data":{"name":"Zo\u00eb","q":"\\"x\\""}}\n').encode()
    body_file = os.path.join(env.dir, "body.json")
    with open(body_file, "wb") as f:
        f.write(body)
    want_hex, want_b64 = hmac_hex(secret, body), hmac_b64(secret, body)

    r = run("sign", "--secret", secret, body_file)
    s.eq((r.returncode, r.stdout.decode()), (0, want_hex + "\n"), "sign FILE prints lowercase hex")
    r = run("sign", "--secret", secret, input=body)
    s.eq(r.stdout.decode(), want_hex + "\n", "sign reads stdin")
    r = run("sign", "--secret", secret, "-", input=body)
    s.eq(r.stdout.decode(), want_hex + "\n", "sign - reads stdin")
    r = run("sign", "--secret", secret, "--encoding", "base64", body_file)
    s.eq(r.stdout.decode(), want_b64 + "\n", "sign --encoding base64")
    r = run("sign", "--secret", secret, "--encoding", "hex", body_file)
    s.eq(r.stdout.decode(), want_hex + "\n", "sign --encoding hex")
    r = run("sign", "--secret", "", body_file)
    s.eq(r.returncode, 2, "an empty secret is a usage error")
    r = run("sign", "--secret", secret, input=b"")
    s.eq(r.stdout.decode(), hmac_hex(secret, b"") + "\n", "an empty body is signed")

    b64_conf = os.path.join(env.dir, "b64.conf")
    with open(b64_conf, "w") as f:
        f.write("signature_encoding = base64\n")
    r = run("sign", "--config", b64_conf, "--secret", secret, body_file)
    s.eq(r.stdout.decode(), want_b64 + "\n", "sign takes signature_encoding from --config")
    r = run("sign", "--secret", secret, body_file, env={"HOOKSPOOL_CONF": b64_conf})
    s.eq(r.stdout.decode(), want_b64 + "\n", "sign takes signature_encoding from $HOOKSPOOL_CONF")
    r = run("sign", "--config", b64_conf, "--encoding", "hex", "--secret", secret, body_file)
    s.eq(r.stdout.decode(), want_hex + "\n", "--encoding overrides the configuration")
    r = run("sign", "--secret", secret, body_file, env={"HOOKSPOOL_CONF": "/nonexistent.conf"})
    s.eq(r.returncode, 1, "a missing configuration named by $HOOKSPOOL_CONF is a failure")

    secret_file = os.path.join(env.dir, "secret.txt")
    with open(secret_file, "w") as f:
        f.write(secret + "\n")
    r = run("sign", "--secret-file", secret_file, body_file)
    s.eq(r.stdout.decode(), want_hex + "\n", "sign --secret-file ignores the trailing newline")

    for code, what, args in [
        (2, "no secret", ["sign", body_file]),
        (2, "two secrets", ["sign", "--secret", secret, "--secret-file", secret_file, body_file]),
        (2, "bad encoding", ["sign", "--secret", secret, "--encoding", "base32", body_file]),
        (2, "two files", ["sign", "--secret", secret, body_file, body_file]),
        (1, "missing file", ["sign", "--secret", secret, body_file + ".nope"]),
        (1, "missing secret file", ["sign", "--secret-file", secret_file + ".nope", body_file]),
    ]:
        r = run(*args)
        s.eq(r.returncode, code, "sign with %s exits %d" % (what, code))
        s.eq(r.stdout, b"", "sign with %s prints no signature" % what)

    r = run("sign", "--help")
    s.check(r.returncode == 0 and r.stdout.startswith(b"usage: hookspool sign"), "sign --help")
    s.check(secret.encode() not in r.stdout + r.stderr, "help never shows the secret")

    # verify
    tampered = os.path.join(env.dir, "tampered.json")
    with open(tampered, "wb") as f:
        f.write(body.replace(b"Pass:Created", b"Pass:Deleted"))
    other = "".join(secrets.choice(ALNUM) for _ in range(64))
    wrong_digit = want_hex[:-1] + ("0" if want_hex[-1] != "0" else "1")
    for code, what, args, stdin in [
        (0, "hex", ["--secret", secret, "--signature", want_hex, body_file], None),
        (0, "upper-case hex", ["--secret", secret, "--signature", want_hex.upper(), body_file],
         None),
        (0, "base64", ["--secret", secret, "--signature", want_b64, body_file], None),
        (0, "a copied header value with blanks",
         ["--secret", secret, "--signature", " %s\n" % want_hex, body_file], None),
        (0, "stdin", ["--secret", secret, "--signature", want_hex], body),
        (0, "--secret-file", ["--secret-file", secret_file, "--signature", want_hex, body_file],
         None),
        (1, "another secret", ["--secret", other, "--signature", want_hex, body_file], None),
        (1, "a changed body", ["--secret", secret, "--signature", want_hex, tampered], None),
        (1, "a body missing its last byte", ["--secret", secret, "--signature", want_hex],
         body[:-1]),
        (1, "a wrong digit", ["--secret", secret, "--signature", wrong_digit, body_file], None),
        (1, "a truncated signature", ["--secret", secret, "--signature", want_hex[:32], body_file],
         None),
        (1, "a prefixed signature",
         ["--secret", secret, "--signature", "sha256=" + want_hex, body_file], None),
        (1, "an empty signature", ["--secret", secret, "--signature", "", body_file], None),
        (1, "a missing file", ["--secret", secret, "--signature", want_hex, body_file + ".x"],
         None),
        (2, "no --signature", ["--secret", secret, body_file], None),
        (2, "no secret", ["--signature", want_hex, body_file], None),
    ]:
        r = run("verify", *args, input=stdin if stdin is not None else b"")
        s.eq(r.returncode, code, "verify with %s exits %d (%s)" % (what, code, r.stderr.decode()))
    r = run("verify", "--help")
    s.check(r.returncode == 0 and r.stdout.startswith(b"usage: hookspool verify"), "verify --help")

    # The receiver examples agree with the C code on many bodies, both encodings.
    node = shutil.which("node") or ("/usr/bin/node" if os.path.exists("/usr/bin/node") else None)
    s.check(node is not None, "node is installed for the Node.js receiver example")
    bodies = [b"", b"{}", body, "\u00e9\u4e2d\U0001F600".encode(), bytes(range(256)),
              json.dumps({"k": "v" * 5000}).encode()]
    for i, b in enumerate(bodies):
        key = "".join(secrets.choice(ALNUM) for _ in range(64))
        path = os.path.join(env.dir, "recv-%d.bin" % i)
        with open(path, "wb") as f:
            f.write(b)
        for enc in ("hex", "base64"):
            sig = run("sign", "--secret", key, "--encoding", enc, path).stdout.decode().strip()
            s.eq(sig, hmac_hex(key, b) if enc == "hex" else hmac_b64(key, b),
                 "body %d %s: C matches Python's hmac" % (i, enc))
            # One character changed, still a well-formed hex or base64 string.
            bad_sig = ("1" if sig[0] != "1" else "2") + sig[1:]
            verifiers = [("verify.py", [sys.executable, os.path.join(RECEIVERS, "verify.py")])]
            if node:
                verifiers.append(("verify.js", [node, os.path.join(RECEIVERS, "verify.js")]))
            for name, cmd in verifiers:
                ok = subprocess.run(cmd + [key, sig, path], capture_output=True, timeout=30)
                s.eq(ok.returncode, 0, "body %d %s: %s accepts the C signature (%s)"
                     % (i, enc, name, ok.stderr.decode()))
                bad = subprocess.run(cmd + [key, bad_sig, path], capture_output=True, timeout=30)
                s.eq(bad.returncode, 1, "body %d %s: %s refuses a wrong signature" % (i, enc, name))
                other_key = subprocess.run(cmd + [other, sig, path], capture_output=True,
                                           timeout=30)
                s.eq(other_key.returncode, 1,
                     "body %d %s: %s refuses another secret" % (i, enc, name))


def test_requeue(s, env):
    new, failed = os.path.join(env.spool, "new"), os.path.join(env.spool, "failed")
    for name in os.listdir(new):
        os.unlink(os.path.join(new, name))
    r = env.cli("requeue")
    s.eq((r.returncode, r.stdout), (0, "requeued 0\n"), "requeue with no dead letters")

    # Dead letters as the sender leaves them: the file and NAME.reason beside it.
    letters = {}
    for i in range(3):
        name = "1764352800.%d.dead%d.json" % (100 + i, i)
        content = '{"eventId":"d%d","eventType":"A:B","tenantId":"acme","data":{}}' % i
        letters[name] = content
        with open(os.path.join(failed, name), "w") as f:
            f.write(content)
        with open(os.path.join(failed, name + ".reason"), "w") as f:
            f.write("attempt 8: HTTP 500\n")
    names = sorted(letters)
    r = env.cli("requeue", names[0])
    s.eq((r.returncode, r.stdout), (0, "requeued 1\n"), "requeue NAME moves one")
    s.eq(listdir(new), [names[0]], "the named dead letter is back in new/")
    s.eq(listdir(failed), sorted([names[1], names[1] + ".reason", names[2],
                                  names[2] + ".reason"]), "the others stay in failed/")
    r = env.cli("requeue", names[0])
    s.eq(r.returncode, 1, "requeue of a name not in failed/ exits 1")
    s.check("not in failed/" in r.stderr, "and says why", r.stderr)
    r = env.cli("requeue")
    s.eq((r.returncode, r.stdout), (0, "requeued 2\n"), "requeue moves the rest")
    s.eq(listdir(failed), [], "failed/ is empty, .reason files removed")
    s.eq(listdir(new), names, "every dead letter is in new/")
    for name in names:
        with open(os.path.join(new, name)) as f:
            s.eq(f.read(), letters[name], "%s requeued unchanged" % name)
    # A reason whose file is gone is left alone (an operator may be looking at it).
    with open(os.path.join(failed, "orphan.json.reason"), "w") as f:
        f.write("x\n")
    r = env.cli("requeue")
    s.eq((r.returncode, r.stdout), (0, "requeued 0\n"), "an orphan reason is not a dead letter")

    missing_conf = os.path.join(env.dir, "missing-spool.conf")
    with open(missing_conf, "w") as f:
        f.write("spool_dir = %s\n" % os.path.join(env.dir, "no-spool"))
    r = env.cli("requeue", "--config", missing_conf)
    s.eq(r.returncode, 1, "requeue on a missing spool exits 1")
    s.check(r.stderr.strip() != "", "and explains", r.stderr)
    r = env.cli("requeue", "--bogus")
    s.eq(r.returncode, 2, "requeue with an unknown option exits 2")
    r = env.cli("requeue", "--help")
    s.check(r.returncode == 0 and r.stdout.startswith("usage: hookspool requeue"), "requeue --help")


def test_doc_producers(s, env):
    """The shell and Python producers of docs/receivers.md publish correctly."""
    with open(os.path.join(h.SRC, "docs", "receivers.md")) as f:
        doc = f.read()
    shell = re.search(r"```sh\n(#!/bin/sh\n.*?)```", doc, re.S)
    python = re.search(r"```python\n(import json, os, secrets, time\n.*?)```", doc, re.S)
    s.check(shell and python, "docs/receivers.md has the shell and Python producers")
    if not (shell and python):
        return
    spool = os.path.join(env.dir, "doc-spool")
    for d in ("tmp", "new"):
        os.makedirs(os.path.join(spool, d))
    r = subprocess.run(["sh", "-c", shell.group(1).replace("/var/spool/hookspool", spool)],
                       capture_output=True, text=True, timeout=30)
    s.eq(r.returncode, 0, "the shell producer runs (%s)" % r.stderr)
    r = subprocess.run([sys.executable, "-c", python.group(1).replace("/var/spool/hookspool",
                                                                      spool)],
                       capture_output=True, text=True, timeout=30)
    s.eq(r.returncode, 0, "the Python producer runs (%s)" % r.stderr)
    s.eq(listdir(os.path.join(spool, "tmp")), [], "the producers leave nothing in tmp/")
    names = listdir(os.path.join(spool, "new")) or []
    s.eq(len(names), 2, "each producer published one file")
    for name in names:
        s.check(NAME_RE.match(name), "producer file name %s" % name)
        with open(os.path.join(spool, "new", name)) as f:
            ev = json.load(f)
        s.check(ev.get("eventType") == "Pass:Created" and ev.get("tenantId") == "acme",
                "producer file %s is an event" % name, ev)


def main():
    s = h.Suite("cli_events")
    env = h.Env("cli_events")
    try:
        test_emit(s, env)
        test_sign_verify(s, env)
        test_requeue(s, env)
        test_doc_producers(s, env)
    finally:
        env.cleanup()
    s.done()


if __name__ == "__main__":
    main()
