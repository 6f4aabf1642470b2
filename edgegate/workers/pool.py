"""A small pool of long-lived worker processes with crash isolation.

Why not ``concurrent.futures.ProcessPoolExecutor``: one worker killed by the converter (a
segfault, or the kernel's OOM killer) breaks that whole executor and every pending task.
Here a dead worker fails only the task it was running, with a message saying how it died,
and is replaced. Workers import TensorFlow once and serve many tasks; they are recycled
after ``max_tasks`` because the converter leaks memory.

Workers load a pull request's models, so they start with an allow-listed environment, a
private HOME, TMPDIR and working folder (``workers/environment.py``), and every outcome they
send back is scrubbed of the parent's secret values before anyone sees it (``redaction.py``).

Why not ``multiprocessing``'s spawn either: it starts ``python -c ...`` in the parent's folder
(the repository), so ``''`` on ``sys.path`` lets a pull request's ``multiprocessing/`` run
before the child can move away, and it hands the child the parent's ``sys.path``. A worker
here is ``python -I`` started in its private folder (``python_child.py``); only the folders the
caller names in ``import_paths`` (tests) are added to its path, after everything else.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Iterable

from edgegate.python_child import start_python
from edgegate.redaction import Redactor
from edgegate.workers import lifetime
from edgegate.workers.environment import WorkerFolders, worker_environment
from edgegate.workers.interface import Task, TaskOutcome

# The worker's first instruction: edgegate comes from the installed package, never the folder.
_START = "from edgegate.workers.child import main; main()"


@dataclass
class _Worker:
    process: subprocess.Popen[Any]
    conn: Connection
    sentinel: int  # readable (end of file) once the worker has exited: it holds the only write end
    log: Path
    served: int = 0
    task: Task | None = None
    started: float = 0.0

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def join(self, timeout: float | None = None) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        sig = -exitcode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGKILL:
            return f"the worker process was killed ({name}; most often the system ran out of memory)"
        return f"the worker process crashed ({name})"
    return f"the worker process exited unexpectedly (exit code {exitcode})"


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    useful = [ln for ln in text if ln.strip()][-lines:]
    return "\n".join(useful)


@dataclass
class WorkerPool:
    size: int
    log_dir: Path
    max_tasks: int = 12
    _workers: list[_Worker] = field(default_factory=list)
    _spawned: int = 0
    _folders: WorkerFolders | None = None
    # Folders added to the end of each worker's sys.path: where the tasks of tests live. A real
    # run names none: its tasks are EdgeGate's, imported from the installed package.
    import_paths: tuple[Path, ...] = ()
    # Built once, from the environment the pool was made in: the secrets the parent holds.
    _redactor: Redactor = field(default_factory=lambda: Redactor.for_environment(os.environ))

    def _spawn(self) -> _Worker:
        if self._folders is None:
            self._folders = WorkerFolders.create()
            lifetime.temp_folder(self._folders.root)
        parent, child_conn = Pipe()
        sentinel, child_sentinel = os.pipe()
        self._spawned += 1
        log = self.log_dir / f"worker-{self._spawned}.log"
        # Native output (TensorFlow's C++ logging, the converter's prints) goes to the log from
        # the first byte; the parent quotes its tail when a worker dies.
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fds = (child_conn.fileno(), child_sentinel)
        args = [str(child_conn.fileno()), str(os.getpid()), *map(str, self.import_paths)]
        try:
            proc = start_python(
                ["-c", _START, *args],
                cwd=self._folders.work,
                env=worker_environment(os.environ, self._folders),
                pass_fds=fds,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        except BaseException:
            os.close(sentinel)
            parent.close()
            raise
        finally:
            os.close(out)
            os.close(child_sentinel)
            child_conn.close()
        lifetime.started(proc.pid)
        return _Worker(proc, parent, sentinel, log)

    def _retire(self, w: _Worker, kill: bool = False) -> None:
        if not kill:
            self._tell_to_exit(w)
        else:
            try:
                w.process.kill()
            except OSError:
                pass
        self._reap(w)

    @staticmethod
    def _tell_to_exit(w: _Worker) -> None:
        try:
            w.conn.send(None)
        except (OSError, BrokenPipeError):
            pass  # already gone: reaping notices

    @staticmethod
    def _reap(w: _Worker) -> None:
        w.join(timeout=5)
        if w.is_alive():
            w.process.kill()
            w.join()
        lifetime.ended(w.process.pid)
        w.conn.close()
        os.close(w.sentinel)

    def run(
        self,
        tasks: Iterable[Task],
        on_outcome: Callable[[TaskOutcome], Iterable[Task] | None],
        on_start: Callable[[Task], None] | None = None,
    ) -> None:
        """Run ``tasks`` and whatever ``on_outcome`` returns as follow-ups, until none are left."""
        queue: collections.deque[Task] = collections.deque(tasks)
        self.log_dir.mkdir(parents=True, exist_ok=True)

        def finish(w: _Worker, outcome: TaskOutcome) -> None:
            w.task = None
            # Every text from a worker (errors, notes, log tails) passes here before any use.
            queue.extend(on_outcome(self._redactor.scrub_value(outcome)) or ())

        while queue or any(w.task for w in self._workers):
            busy = [w for w in self._workers if w.task]
            exclusive_running = any(w.task.exclusive for w in self._workers if w.task)
            while queue and not exclusive_running:
                nxt = queue[0]
                if nxt.exclusive and busy:
                    break  # wait for the others to drain
                idle = [w for w in self._workers if w.task is None]
                if not idle:
                    if len(self._workers) >= self.size:
                        break
                    self._workers.append(self._spawn())
                    continue
                w = idle[0]
                queue.popleft()
                w.task, w.started, w.served = nxt, time.monotonic(), w.served + 1
                if on_start:
                    on_start(nxt)
                try:
                    w.conn.send((nxt.key, nxt.func, nxt.args))
                except (OSError, BrokenPipeError):
                    pass  # the death is noticed below
                busy.append(w)
                exclusive_running = nxt.exclusive

            running = [(w, w.task) for w in self._workers if w.task is not None]
            if not running:
                continue
            deadline = min((w.started + t.timeout_s for w, t in running if t.timeout_s), default=None)
            timeout = max(0.0, deadline - time.monotonic()) if deadline else None
            ready = wait([w.conn for w, _ in running] + [w.sentinel for w, _ in running], timeout)
            for w, task in running:
                if w.conn in ready:
                    try:
                        key, error, value = w.conn.recv()
                    except (EOFError, OSError):
                        pass  # died mid-send: handled as a death below
                    else:
                        finish(w, TaskOutcome(task, value=value, error=error))
                        if w.served >= self.max_tasks:
                            self._retire(w)
                            self._workers.remove(w)
                        continue
                if w.sentinel in ready or not w.is_alive():
                    w.join(timeout=1)
                    msg = _death(w.process.returncode)
                    tail = _tail(w.log)
                    self._retire(w, kill=True)
                    self._workers.remove(w)
                    finish(w, TaskOutcome(task, error=msg + (f"; last output:\n{tail}" if tail else "")))
                elif task.timeout_s and time.monotonic() - w.started > task.timeout_s:
                    self._retire(w, kill=True)
                    self._workers.remove(w)
                    finish(w, TaskOutcome(task, error=f"timed out after {task.timeout_s:.0f} s"))

    def close(self) -> None:
        for w in self._workers:  # all told first: they exit together
            self._tell_to_exit(w)
        for w in self._workers:
            self._reap(w)
        self._workers.clear()
        if self._folders is not None:
            self._folders.remove()
            lifetime.removed(self._folders.root)
            self._folders = None

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
