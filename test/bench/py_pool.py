"""The `py` bench's peer (test/bench/py.ts): a function of py_fns.py over every record of an inputs
file through a ProcessPoolExecutor, as users write it without shoal, each result written as a
JSON line (the file fsynced at the end).

  MODE submit   one pool.submit per record, the futures' results taken in order
  MODE map:N    pool.map(fn, records, chunksize=N)

Records are read as shoal reads them: a .txt line is a string, a .smi line {"smiles", "name"}.
Prints {"tasks": n, "seconds": s, "errors": e} (seconds from the start of this script's main).

usage: py_pool.py FN INPUTS PARAMS_JSON WORKERS MODE OUT
"""
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import py_fns  # noqa: E402


def records(path):
    with open(path) as f:
        lines = f.read().splitlines()
    if path.endswith(".smi"):
        out = []
        for line in lines:
            smiles, _, name = line.partition(" ")
            out.append({"smiles": smiles, "name": name})
        return out
    return lines


def results(pool, fn, recs, params, mode):
    if mode == "submit":
        futures = [pool.submit(fn, r, params) for r in recs]
        for f in futures:
            yield f.result()
    elif mode.startswith("map:"):
        yield from pool.map(fn, recs, repeat(params), chunksize=int(mode[4:]))
    else:
        sys.exit(f"py_pool.py: MODE is submit or map:N, not {mode!r}")


def main():
    name, inputs, params, workers, mode, out = sys.argv[1:7]
    t0 = time.time()
    fn = getattr(py_fns, name)
    params = json.loads(params)
    recs = records(inputs)
    width = len(str(len(recs) - 1))
    with ProcessPoolExecutor(int(workers)) as pool, open(out, "w") as f:
        for i, value in enumerate(results(pool, fn, recs, params, mode)):
            f.write(json.dumps({"task": f"in_{i:0{width}d}", "status": "ok", "value": value}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print(json.dumps({"tasks": len(recs), "seconds": time.time() - t0}))


if __name__ == "__main__":
    main()
