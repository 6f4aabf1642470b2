"""Task functions the worker-pool tests send to real worker processes."""

import os
import signal
import time


def square(x):
    return x * x


def segfault():
    os.kill(os.getpid(), signal.SIGSEGV)


def oom_killed():
    os.kill(os.getpid(), signal.SIGKILL)


def raise_value_error(msg):
    raise ValueError(msg)


def sleep(seconds):
    time.sleep(seconds)
    return seconds


def pid():
    return os.getpid()
