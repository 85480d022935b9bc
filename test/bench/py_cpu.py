"""Runs a command and writes the CPU time of everything it started, for the `py` bench (py-run.ts).

The bench cannot count the CPU of processes whose parent exits before waiting for them (shoal's
interpreters outlive it by a moment: their wrapper sees shoal's end and kills them). So this
process becomes their child subreaper (Linux prctl): every descendant that is orphaned is
handed to it, it waits for them all, and its children's rusage then holds them all.

Writes {"seconds": wall seconds of COMMAND, "cpu": user + system seconds of it and all its
descendants, "code": its exit status} to OUT; exits with COMMAND's status. SIGTERM is passed on.

usage: py_cpu.py OUT COMMAND [ARGS...]
"""
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"py_cpu.py: prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    code = child.wait()
    seconds = time.perf_counter() - t0
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        json.dump({"seconds": seconds, "cpu": r.ru_utime + r.ru_stime, "code": code}, f)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
