"""The libFuzzer targets (tests/fuzz/) built with clang and run for a bounded
time by tests/fuzz/run.sh: a target passes if it builds and no input makes it
crash, leak, hang or trip a sanitizer within its share of the time
(HOOKSPOOL_FUZZ_SECONDS, default 60 s for all targets together)."""

import os
import re
import shutil
import subprocess
import tempfile

import harness as h

suite = h.Suite("fuzz")
TARGETS = sorted(f[len("fuzz_"):-2] for f in os.listdir(os.path.join(h.SRC, "tests", "fuzz"))
                 if f.startswith("fuzz_") and f.endswith(".c"))
seconds = int(os.environ.get("HOOKSPOOL_FUZZ_SECONDS", "60"))
os.makedirs(h.TMP_ROOT, exist_ok=True)
work = tempfile.mkdtemp(prefix="fuzz-", dir=h.TMP_ROOT)   # kept only if something failed
env = dict(os.environ, HOOKSPOOL_FUZZ_DIR=work, HOOKSPOOL_BUILD=h.BUILD)
try:
    r = subprocess.run([os.path.join(h.SRC, "tests", "fuzz", "run.sh"), str(seconds)],
                       capture_output=True, text=True, env=env, timeout=seconds * 3 + 300)
    out = r.stdout + r.stderr
except subprocess.TimeoutExpired as e:
    out = "timed out: %s" % e
    r = None
for line in out.splitlines():
    if not line.startswith("PASS ") and not re.search(r"\d+ passed, \d+ failed", line):
        print(line)
for t in TARGETS:
    m = re.search(r"^PASS fuzz_%s: (\S+) inputs" % re.escape(t), out, re.M)
    if suite.check(m is not None, "fuzz_%s builds and survives %d s of fuzzing"
                   % (t, seconds // max(len(TARGETS), 1))):
        print("fuzz_%s: %s inputs" % (t, m.group(1)))
suite.check(len(TARGETS) >= 2, "fuzz targets found", TARGETS)
suite.check(r is not None and r.returncode == 0, "tests/fuzz/run.sh exits 0",
            r.returncode if r is not None else "timeout")
if suite.failed == 0 and os.environ.get("HOOKSPOOL_KEEP_TMP") != "1":
    shutil.rmtree(work, ignore_errors=True)
else:
    print("fuzz: work files (crash inputs, corpus) kept in %s" % work)
suite.done()
