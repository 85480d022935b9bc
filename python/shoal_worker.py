"""The Python side of shoal's `python` kind: one long-lived interpreter per agent slot.

The agent starts `python3 -m shoal_worker` with this directory on PYTHONPATH and talks to it
over two pipes, one JSON object per line (UTF-8):

  fd 3 (agent -> interpreter)
    {"op": "init", "fn": "score.py:score" | "pkg.mod:fn", "cwd": "/abs", "params": {...},
     "tail": 4096}
    {"op": "run", "tasks": [{"id": "in_0001", "input": <JSON value>}, ...]}
    {"op": "exit"}                                (or end of file: exit cleanly)

  fd 4 (interpreter -> agent)
    {"op": "ready", "pid": 123, "python": "3.11.2", "setup": true}   after init
    {"op": "fatal", "error": {...}}                the function or setup() failed; then exit 1
    {"op": "done", "id": ..., "value": <JSON>}     one line per task, in the order sent
    {"op": "done", "id": ..., "records": [...], "error": {...}?}   a generator's records
    {"op": "error", "id": ..., "error": {"type", "message", "traceback"}}
  A done/error line may carry "stdout" and "stderr" (the ends of what the task printed) and
  "ms" (the task's own time, which sizes the next chunks).

Answers come in batches: they are written when the run request's tasks are done, when a task
took 1 ms or more (its answer goes at once, with those before it), or when many have gathered.
So that the agent knows which task was running if the interpreter dies, it may name a file in
SHOAL_PROGRESS (8 bytes): before each task the interpreter stores there, little-endian, how many
tasks it has begun since init. A worker without that file must write each answer as its task
ends (the agent then takes the first task sent without an answer as the one running).

stdout and stderr (fds 1 and 2) stay the user's; while a task runs, sys.stdout and sys.stderr
are replaced by buffers that keep the last `tail` characters. Standard library only.
"""

import importlib
import importlib.util
import json
import math
import mmap
import os
import signal
import sys
import time
import traceback
import types

REQUESTS = 3
REPLIES = 4
TRACEBACK_LINES = 12
# An answer goes at once after a task this slow (s); faster ones wait for the batch's end.
SLOW_TASK_S = 0.001
# Answers gathered before they are written anyway.
MAX_GATHERED = 512


class Tail:
    """A text stream keeping the last `limit` characters written to it."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, limit):
        self.limit = limit
        self.parts = []
        self.size = 0

    def write(self, s):
        if not isinstance(s, str):
            s = str(s)
        self.parts.append(s)
        self.size += len(s)
        if self.size > 2 * self.limit:
            text = "".join(self.parts)[-self.limit:]
            self.parts = [text]
            self.size = len(text)
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def take(self):
        if not self.parts:
            return ""
        text = "".join(self.parts)[-self.limit:] if self.limit > 0 else ""
        self.parts = []
        self.size = 0
        return text


def describe(exc):
    """An exception as the agent reports it: type, message and the end of its traceback (the
    user's frames: this module's own are left out)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    text = "".join(lines).rstrip("\n").split("\n")
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "\n".join(text[-TRACEBACK_LINES:]),
    }


def plain(o):
    """json.dumps' fallback: numpy scalars and arrays, and anything else with tolist() or item()."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"a {type(o).__name__} is not JSON-serialisable")


def finite(v):
    """v with NaN and infinities as None (JSON has neither)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    return v


def dumps(obj):
    try:
        return json.dumps(obj, allow_nan=False, default=plain, separators=(",", ":"))
    except ValueError:
        # NaN or an infinity somewhere: plain() first, then finite(), then again.
        return json.dumps(finite(json.loads(json.dumps(obj, default=plain))), allow_nan=False, separators=(",", ":"))


def load_function(spec, cwd):
    """`path/to/file.py:fn` (relative to cwd) or `package.module:fn` (on sys.path plus cwd)."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise ValueError(f"--fn {spec!r}: expected FILE.py:FUNCTION or MODULE:FUNCTION")
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    if where.endswith(".py"):
        path = where if os.path.isabs(where) else os.path.join(cwd, where)
        mod_name = os.path.splitext(os.path.basename(path))[0]
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module
        loader_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    fn = getattr(module, name, None)
    if fn is None or not callable(fn):
        raise AttributeError(f"{where} has no function {name!r}")
    return module, fn


class Worker:
    def __init__(self):
        self.out = os.fdopen(REPLIES, "wb", buffering=0)
        self.gathered = []
        self.begun = 0
        self.progress = None
        path = os.environ.get("SHOAL_PROGRESS")
        if path:
            with open(path, "r+b") as f:
                self.progress = mmap.mmap(f.fileno(), 8)
        self.fn = None
        self.params = None
        self.stdout = Tail(4096)
        self.stderr = Tail(4096)

    def send(self, msg):
        """Writes one message now."""
        self.gathered.append(msg)
        self.flush()

    def gather(self, msg, slow):
        """Keeps a task's answer for the batch's write (at once after a slow task, or without a progress file)."""
        self.gathered.append(msg)
        if slow or self.progress is None or len(self.gathered) >= MAX_GATHERED:
            self.flush()

    def flush(self):
        if self.gathered:
            self.out.write(("\n".join(self.gathered) + "\n").encode("utf-8"))
            self.gathered = []

    def begin(self):
        self.begun += 1
        if self.progress is not None:
            self.progress[0:8] = self.begun.to_bytes(8, "little")

    def init(self, req):
        limit = int(req.get("tail", 4096))
        self.stdout, self.stderr = Tail(limit), Tail(limit)
        cwd = req.get("cwd") or os.getcwd()
        os.chdir(cwd)
        self.params = req.get("params") or {}
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.stdout, self.stderr
        try:
            module, self.fn = load_function(req["fn"], cwd)
            setup = getattr(module, "setup", None)
            if callable(setup):
                setup(self.params)
        except BaseException as exc:  # the job cannot run here: say why and stop
            error = describe(exc)
            out, err = self.stdout.take(), self.stderr.take()
            if out:
                error["stdout"] = out
            if err:
                error["stderr"] = err
            self.send(dumps({"op": "fatal", "error": error}))
            return False
        finally:
            sys.stdout, sys.stderr = saved
        self.stdout.take()
        self.stderr.take()
        info = {"op": "ready", "pid": os.getpid(), "python": sys.version.split()[0], "setup": callable(getattr(module, "setup", None))}
        self.send(dumps(info))
        return True

    def run_one(self, task):
        tid = task["id"]
        self.begin()
        t0 = time.perf_counter()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.stdout, self.stderr
        records = None
        try:
            value = self.fn(task["input"], self.params)
            if isinstance(value, types.GeneratorType):
                records = []
                for record in value:
                    records.append(record)
                reply = {"op": "done", "id": tid, "records": records}
            else:
                reply = {"op": "done", "id": tid, "value": value}
        except Exception as exc:
            if records is not None and records:
                reply = {"op": "done", "id": tid, "records": records, "error": describe(exc)}
            else:
                reply = {"op": "error", "id": tid, "error": describe(exc)}
        finally:
            sys.stdout, sys.stderr = saved
        out, err = self.stdout.take(), self.stderr.take()
        if out:
            reply["stdout"] = out
        if err:
            reply["stderr"] = err
        took = time.perf_counter() - t0
        reply["ms"] = round(took * 1000, 4)
        try:
            line = dumps(reply)
        except (TypeError, ValueError) as exc:
            line = dumps({"op": "error", "id": tid, "error": {"type": "TypeError", "message": f"the value is not JSON-serialisable: {exc}", "traceback": ""}})
        self.gather(line, took >= SLOW_TASK_S)


def stop(_signum, _frame):
    # SIGTERM (the agent is going away): leave cleanly, running finally blocks and atexit.
    raise SystemExit(0)


def main():
    signal.signal(signal.SIGTERM, stop)
    requests = os.fdopen(REQUESTS, "rb")
    worker = Worker()
    for raw in requests:
        req = json.loads(raw)
        op = req.get("op")
        if op == "run":
            for task in req["tasks"]:
                worker.run_one(task)
            worker.flush()
        elif op == "init":
            if not worker.init(req):
                sys.exit(1)
        elif op == "exit":
            break
    sys.exit(0)


if __name__ == "__main__":
    main()
