"""README.md as a newcomer follows it: in a scratch copy of the source tree (its own
build/, db/ and run/, so nothing of the checkout's ./run-local is touched), run
./run-local, then every ```sh block of README in order in one bash session, and check
that each exits 0 and that the demo receiver verified the first delivery. Then the
commands ./run-local's banner prints, pasted into a new shell started in / with an
empty environment; a second ./run-local (the demo key is reused); ./run-local stop.

Only the ports change: README's 127.0.0.1:8080 and :8081 become two free ports
(HOOKSPOOL_PORT), since another ./run-local may hold 8080 on this machine. curl is
run with --fail-with-body, so an HTTP error (a 404 for a wrong id) fails the block."""

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

s = h.Suite("readme")
README = os.path.join(h.SRC, "README.md")
with open(README, encoding="utf-8") as f:
    readme = f.read()


def sh_blocks(text):
    return re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)


def free_pair():
    """Two consecutive free loopback ports: the API's and the demo receiver's."""
    for _ in range(100):
        p = h.free_port()
        if p >= 65535:
            continue
        with socket.socket() as t:
            try:
                t.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
        return p, p + 1
    raise RuntimeError("no two consecutive free ports")


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(pred, timeout):
    return h.wait_for(pred, timeout, step=0.02)


# --- What a reader sees before running anything.
blocks = sh_blocks(readme)
s.check(len(blocks) >= 2, "README has the two commands and at least one more sh block", len(blocks))
top = [line.split("#")[0].strip() for line in blocks[0].strip().splitlines()] if blocks else []
s.eq(top, ["./run-local", "tests/run"], "README's first block is the two commands")
s.check(readme.index("```sh") < readme.index("\n## "), "the two commands come before any section")
links = re.findall(r"\]\(([^)]+)\)", readme)
outside = [u for u in links if u.startswith("../") or u.startswith("/") or "shared/" in u]
s.eq(outside, [], "README links to nothing outside the repository")
for u in links:
    if not re.match(r"^[a-z]+:", u):
        s.check(os.path.exists(os.path.join(h.SRC, u.split("#")[0])), "README's link %s exists" % u)
with open(os.path.join(h.SRC, "docs", "receivers.md"), encoding="utf-8") as f:
    receivers = f.read()
fence = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
shared = [b[:60] for b in fence.findall(readme) if len(b) > 80 and b in fence.findall(receivers)]
s.eq(shared, [], "README repeats no block of docs/receivers.md")
s.check("aZ3k9" not in "".join(blocks), "README's commands use no fixed webhook id")

# --- A scratch copy of the source tree, as a fresh clone has it (plus the generated
# configure, so that autogen.sh need not run again).
tmp_root = h.TMP_ROOT
os.makedirs(tmp_root, exist_ok=True)
scratch_parent = tempfile.mkdtemp(prefix="readme-", dir=tmp_root)
tree = os.path.join(scratch_parent, "hookspool")


def ignore(directory, names):
    rel = os.path.relpath(directory, h.SRC)
    skip = {"node_modules", "__pycache__", ".git"}
    if rel == ".":
        skip |= {n for n in names if n == "run" or n == "build"
                 or (n.startswith("build-") and n != "build-aux")}
    if rel == "tests":
        skip.add("tmp")
    if rel == "db":
        skip |= {n for n in names if n != "README.md"}
    return [n for n in names if n in skip]


shutil.copytree(h.SRC, tree, ignore=ignore, symlinks=True)
port, rport = free_pair()
base_env = {k: v for k, v in os.environ.items()
            if not k.startswith("HOOKSPOOL_") and k not in ("ASAN_OPTIONS", "UBSAN_OPTIONS")}
base_env["HOOKSPOOL_PORT"] = str(port)
run_dir = os.path.join(tree, "run")
conf = os.path.join(run_dir, "hookspool.conf")


class _Conf:
    conf = conf


def run_local(*args, timeout=900):
    t0 = time.time()
    r = subprocess.run([os.path.join(tree, "run-local")] + list(args), cwd=tree, env=base_env,
                       capture_output=True, text=True, timeout=timeout)
    return r, time.time() - t0


def receiver_lines():
    try:
        with open(os.path.join(run_dir, "receiver.log"), errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


try:
    # --- ./run-local, cold: packages checked, a fresh build, everything started.
    r, cold = run_local()
    print("readme: ./run-local (cold, building a fresh tree) took %.1f s" % cold, flush=True)
    started = s.eq(r.returncode, 0, "./run-local exits 0 (%s)" % (r.stdout[-1500:] + r.stderr[-1500:]))
    out = r.stdout
    s.check(re.search(r"^\[\s*\d+s\] building into build/ for the first time", out, re.M),
            "./run-local says it is building, before it builds", out[:500])
    s.check(re.search(r"^\[\s*\d+s\] ready$", out, re.M), "./run-local reports progress up to ready")
    s.check("hookspool is running on http://127.0.0.1:%d" % port in out, "the banner names the port")
    s.check(listening(port) and listening(rport), "the API and the demo receiver listen")
    keyfile = os.path.join(run_dir, "demo-key")
    key = open(keyfile).read().strip() if os.path.exists(keyfile) else ""
    s.check(re.match(r"^hs_[A-Za-z0-9]{12}_[A-Za-z0-9]{40}$", key), "run/demo-key holds an API key")
    if key:
        s.eq(stat.S_IMODE(os.stat(keyfile).st_mode), 0o600, "run/demo-key is mode 0600")
        s.check(key in out, "the banner shows the demo key")
    s.check(os.path.join(run_dir, "receiver.log") in out, "the banner names the receiver's log")

    if started:
        # --- README's blocks after the two commands, in order, in one bash session.
        script = ["set -eo pipefail",
                  "curl() { command curl --fail-with-body \"$@\"; }"]
        for i, block in enumerate(blocks[1:], 1):
            block = block.replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
            block = block.replace("127.0.0.1:8081", "127.0.0.1:%d" % rport)
            script += ["echo '@@block %d start'" % i, block, "echo '@@block %d ok'" % i]
        script.append('echo "@@ID=${ID:-}"')
        t0 = time.time()
        r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tree, env=base_env,
                           capture_output=True, text=True, timeout=120)
        for i in range(1, len(blocks)):
            s.check("@@block %d ok" % i in r.stdout, "README sh block %d exits 0" % i,
                    "stdout:\n%s\nstderr:\n%s" % (r.stdout[-1500:], r.stderr[-1500:]))
        m = re.search(r"^@@ID=([A-Za-z0-9]{5})$", r.stdout, re.M)
        s.check(m, "README's create captured a webhook id in $ID", r.stdout[-500:])
        hook_id = m.group(1) if m else "?????"
        line = wait_for(lambda: next((x for x in receiver_lines()
                                      if "webhook=%s " % hook_id in x), None), 10)
        s.check(line and " verified Pass:Created " in line and '"passId":"p-1"' in line,
                "the demo receiver verified README's first delivery", receiver_lines()[-5:])
        s.eq([x for x in receiver_lines() if "NOT VERIFIED" in x], [],
             "the demo receiver refused nothing")
        first_block = blocks[1] if len(blocks) > 1 else ""
        if "tail" in first_block:
            seen = re.search(r"verified Pass:Created webhook=%s " % hook_id, r.stdout)
            print("readme: the first block's own tail %s the verified delivery (%.1f s for all blocks)"
                  % ("showed" if seen else "did not yet show", time.time() - t0), flush=True)

        # --- The banner's numbered commands, pasted into a new shell in / with no
        # exports at all: the second delivery is verified too.
        cmds = re.findall(r"^  \d\. .*\n((?:    .*\n)+)", out, re.M)
        s.eq(len(cmds), 3, "the banner numbers three commands")
        bare_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root"}
        before = len([x for x in receiver_lines() if " verified " in x])
        for i, cmd in enumerate(cmds, 1):
            text = cmd.replace("\\\n", " ")
            r = subprocess.run(["bash", "-c", "set -o pipefail; " + text], cwd="/",
                               env=bare_env, capture_output=True, text=True, timeout=60)
            s.eq(r.returncode, 0, "banner command %d works in a new shell (%s)" % (i, r.stderr))
        got = wait_for(lambda: len([x for x in receiver_lines() if " verified " in x]) > before, 10)
        s.check(got, "the banner's example delivery is verified by the demo receiver",
                receiver_lines()[-3:])

        # --- A second ./run-local reuses the key; stop stops everything.
        r, warm = run_local()
        print("readme: ./run-local (warm) took %.1f s" % warm, flush=True)
        s.eq(r.returncode, 0, "a second ./run-local exits 0 (%s)" % r.stderr[-1000:])
        s.check("reusing the demo API key" in r.stdout, "a second ./run-local says it reuses the key")
        s.eq(r.stderr, "", "a second ./run-local writes nothing to stderr (no database noise)")
        s.eq(open(keyfile).read().strip(), key, "run/demo-key is unchanged")
        lst = subprocess.run([os.path.join(tree, "build", "hookspool"), "apikey", "list",
                              "--tenant", "demo"], cwd="/", env=bare_env, capture_output=True,
                             text=True, timeout=60)
        s.check(len(re.findall(r"\brun-local$", lst.stdout, re.M)) == 1,
                "the database holds one run-local key after two runs", lst.stdout)
        s.check(listening(port) and listening(rport), "everything listens again after a restart")
finally:
    r, _ = run_local("stop", timeout=60)
    s.eq(r.returncode, 0, "./run-local stop exits 0")
    s.check(not listening(port) and not listening(rport), "./run-local stop closes both ports")
    left = h.reap_env_processes(_Conf(), timeout=10)
    s.eq(left, [], "./run-local stop leaves no process behind (sender, lighttpd, FastCGI, receiver)")
    if os.environ.get("HOOKSPOOL_KEEP_TMP") != "1":
        shutil.rmtree(scratch_parent, ignore_errors=True)
s.done()
