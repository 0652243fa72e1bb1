"""How far a batch of autograding is: done/total, elapsed time and an ETA (used by autograde.py).

A tqdm bar when stdout is a terminal, plain ``autograde: 12/40 done, ...`` lines otherwise (CI logs, a pipe, pytest).
Nothing here touches a submission or a grade: it counts finished submissions and their seconds; names reach it
already escaped (terminal.shown), and every line is escaped again on its way out (terminal.printable).
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable, TextIO

from course_utils.grading.terminal import printable

def say_line(line: str) -> None:
    """A line of the batch's log on stdout (the default when no progress bar is drawn), control characters escaped:
    a reason can quote a student's notebook (nbformat's error repeats the field it rejects)."""
    print(printable(line), flush=True)


def format_duration(seconds: float) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min': how long, as an instructor reads it."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def format_left(seconds: float) -> str:
    """'about 7 min left': the ETA, no more precise than it is (rounded to 5 s under a minute, to whole minutes
    under an hour, then hours and minutes)."""
    if seconds < 60:
        return f"about {max(5, 5 * int(seconds / 5 + 0.5))} s left"
    minutes = int(seconds / 60 + 0.5)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


def eta_seconds(busy_seconds: float, done: int, total: int, jobs: int) -> float | None:
    """Seconds until the batch is done, None before the first submission is.

    The mean time of a finished submission (``busy_seconds / done``, each timed from the moment its job took it)
    times the submissions still to finish, divided by the submissions graded at a time: ``jobs``, but never more
    than are left (the last three of a batch with 8 jobs take one submission's time, not 3/8 of it)."""
    if done <= 0:
        return None
    remaining = max(0, total - done)
    if remaining == 0:
        return 0.0
    return busy_seconds / done * remaining / max(1, min(jobs, remaining))


def progress_line(done: int, total: int, elapsed: float, eta: float | None) -> str:
    """The plain progress line of CI logs: 'autograde: 12/40 done, 3 min 05 s elapsed, about 7 min left'."""
    line = f"autograde: {done}/{total} done, {format_duration(elapsed)} elapsed"
    if done < total:
        line += ", " + (format_left(eta) if eta is not None else "ETA after the first submission")
    return line


class Progress:
    """Done/total, elapsed time and ETA of a batch, from the threads that grade it.

    On a terminal (``stream.isatty()``): a tqdm bar (tqdm is one of the course's own dependencies), redrawn every
    second, with each submission's line printed above it (``say``). Elsewhere, or with ``TQDM_DISABLE=1``: a
    first line with the size of the batch, then a plain ``progress_line`` after the first submission, at most
    every ``every`` seconds after that, and after the last (``bar`` True or False chooses instead of the
    stream). ``clock`` is injectable for tests. Nothing here touches a submission or a grade: it counts finished
    submissions and their seconds."""

    EVERY_S = 15.0  # the plain lines' pace in a CI log: a batch of 240 writes ~35 of them, not 240

    def __init__(self, total: int, jobs: int, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic,
                 every: float | None = None, bar: bool | None = None) -> None:
        self.total, self.jobs = total, max(1, min(jobs, total))
        self.stream = stream if stream is not None else sys.stdout
        self.clock, self.every = clock, self.EVERY_S if every is None else every
        self.start = clock()
        self.done, self.busy, self.last_name = 0, 0.0, ""
        self.eta_at, self.eta = self.start, None  # the estimate and when it was made (the bar counts it down)
        self._lock = threading.Lock()
        self._last_line: float | None = None
        self._bar = self._ticker = None
        self._stop = threading.Event()
        if bar is None:  # tqdm reads TQDM_* when it is imported; TQDM_DISABLE is read here, now
            bar = _isatty(self.stream) and os.environ.get("TQDM_DISABLE", "").lower() in ("", "0", "false")
        if bar:
            self._bar = self._open_bar()
        if self._bar is None:
            self._write(f"autograde: {total} submission(s) to grade, {self.jobs} at a time")
        else:
            self._ticker = threading.Thread(target=self._tick, name="autograde-progress", daemon=True)
            self._ticker.start()

    def _open_bar(self):
        from tqdm import tqdm

        bar = tqdm(total=self.total, file=self.stream, desc="autograde", dynamic_ncols=True, leave=True,
                   disable=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}")
        bar.set_postfix_str(self._status(), refresh=True)
        return bar

    def _status(self) -> str:
        """The bar's text after done/total (the lock held or not needed)."""
        now = self.clock()
        text = f"{format_duration(now - self.start)} elapsed"
        if self.done < self.total:
            if self.eta is None:
                text += ", ETA after the first submission"
            else:  # counted down between submissions
                text += ", " + format_left(max(0.0, self.eta - (now - self.eta_at)))
        if self.last_name:  # already shown(): a control character in a name never reaches the terminal
            text += f" (last: {self.last_name[:40]})"
        return text

    def finished(self, seconds: float, name: str = "") -> None:
        """One submission is done (any outcome); it took ``seconds`` from the moment its job took it."""
        with self._lock:
            self.done += 1
            self.busy += seconds
            self.last_name = name
            self.eta_at = self.clock()
            self.eta = eta_seconds(self.busy, self.done, self.total, self.jobs)
            if self._bar is not None:
                self._bar.set_postfix_str(self._status(), refresh=False)
                self._bar.update(1)
                return
            if self._last_line is None or self.done >= self.total or self.eta_at - self._last_line >= self.every:
                self._last_line = self.eta_at
                self._write(progress_line(self.done, self.total, self.eta_at - self.start, self.eta))

    def say(self, line: str) -> None:
        """A line of the batch's log (its format unchanged), written above the bar when there is one."""
        line = printable(line)  # a reason can quote a student's notebook: no control character reaches the terminal
        if self._bar is None:
            self._write(line)
        else:
            from tqdm import tqdm

            tqdm.write(line, file=self.stream)
            self.stream.flush()

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                if self._bar is None:
                    return
                self._bar.set_postfix_str(self._status(), refresh=True)

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        with self._lock:
            if self._bar is not None:
                self._bar.set_postfix_str(self._status(), refresh=False)
                self._bar.close()
                self._bar = None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream: no bar
        return False
