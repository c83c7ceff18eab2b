"""How a long run shows it is alive: a tqdm bar where someone watches, a plain line where a log is kept.

- stderr a terminal: a bar on stderr with steps, steps per second and time left;
- in Jupyter: tqdm's widget (where ipywidgets is missing, the plain line below);
- anything else (CI logs, pipes, --jobs workers): one plain line every 30 seconds, so logs stay readable.
The tutorial's own lines are printed around the bar (`lines_around`), never through it.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

PLAIN_EVERY_S = 30.0


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


class Progress:
    """Told how many steps are done; shows it as a bar or a plain line, or not at all."""

    def __init__(self, total: int, stream: TextIO | None, label: str = ""):
        self.total, self.stream = total, stream
        self.start = self.last = time.perf_counter()
        self.bar = None
        if stream is None:
            return
        if _in_jupyter() and stream is sys.stderr:
            try:  # the widget needs ipywidgets (the notebook extra); without it, plain lines: a text bar
                import ipywidgets  # noqa: F401  (redrawn in a notebook's output would pile up there)
                from tqdm.notebook import tqdm
                self.bar = tqdm(total=total, desc=label, unit="step")
            except ImportError:
                pass
        elif getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=label, unit="step", file=stream, dynamic_ncols=True)

    def __call__(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            return
        now = time.perf_counter()
        if self.stream is None or now - self.last < PLAIN_EVERY_S or done == 0:
            return
        self.last = now
        left = (now - self.start) / done * (self.total - done)
        print(f"[rnnmnist] step {done}/{self.total}, {now - self.start:.0f} s so far, about {left:.0f} s left",
              file=self.stream, flush=True)

    def lines_around(self, echo: Callable[[str], None] | None) -> Callable[[str], None] | None:
        """`echo`, printing each line around the bar so that neither tears the other."""
        if echo is None or self.bar is None:
            return echo

        def around(line: str) -> None:
            with self.bar.external_write_mode():  # clears the bar, prints, draws it again
                echo(line)
        return around

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
