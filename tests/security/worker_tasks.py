"""Task functions the worker-isolation tests send to real worker processes."""

import os
import signal
import sys
from pathlib import Path

from edgegate.recipes.interface import BuiltCandidate


def environment():
    """What a model loaded in this worker could read: its variables, cwd, /proc/self/environ."""
    raw = Path("/proc/self/environ").read_bytes() if Path("/proc/self/environ").exists() else b""
    return dict(os.environ), os.getcwd(), raw


def raise_with(text):
    raise ValueError(f"bad model: {text}")


def tf_assert(secret):
    """The attack's error path: a tf.debugging.Assert whose message carries a value."""
    import tensorflow as tf

    tf.debugging.Assert(tf.constant(False), [tf.constant(secret)])


def candidate_noting(text):
    return BuiltCandidate(
        "int8", Path(f"/tmp/{text}.tflite"), error=f"failed: {text}", notes=(f"note {text}",)
    )


def print_then_crash(text):
    print(f"converter says: {text}", flush=True)
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSEGV)
