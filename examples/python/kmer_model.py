"""A function with setup(): the model is loaded once per interpreter, not once per task.

    shoal run python --fn examples/python/kmer_model.py:score \
        --inputs examples/python/sequences.txt --params '{"model": "examples/python/model.json"}'

setup(params) runs once in each interpreter before its first task (here: reading a small
model file; a real one would load ESM weights onto the interpreter's GPU). Standard library
only, so it runs with any python3.
"""
import json
import os

MODEL = {}


def setup(params):
    with open(params["model"]) as f:
        MODEL.update(json.load(f))
    MODEL["loaded_by"] = os.getpid()


def score(sequence, params):
    w = MODEL["weights"]
    s = MODEL["bias"] + sum(w.get(ch, 0.0) for ch in sequence.lower())
    return {"length": len(sequence), "score": round(s / max(1, len(sequence)), 6), "model_pid": MODEL["loaded_by"]}
