"""W0's peer: no-op tasks through a ProcessPoolExecutor, one task per round trip (chunksize 1, as a
pool that gives each row its own future), each result written as a JSON line, the file fsynced.

usage: python-pool.py TASKS OUT WORKERS
"""
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def noop(i):
    return {"ms": 0}


if __name__ == "__main__":
    n, out, workers = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    t0 = time.time()
    width = len(str(n - 1))
    with ProcessPoolExecutor(workers) as pool, open(out, "w") as f:
        for i, value in enumerate(pool.map(noop, range(n))):
            f.write(json.dumps({"task": f"spin_{i:0{width}d}", "status": "ok", "value": value}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print(json.dumps({"tasks": n, "seconds": time.time() - t0}))
