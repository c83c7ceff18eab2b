"""Progress: a tqdm bar for a terminal, plain lines for logs; the tutorial's lines never torn by the bar."""
from __future__ import annotations

import io

from rnnmnist.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_steps_speed_and_time_left():
    screen, printed = Terminal(), []
    progress = Progress(100, screen, label="morvan")
    echo = progress.lines_around(printed.append)
    for done in range(1, 101):
        progress(done)
        if done == 50:
            echo("0.875")  # a tutorial line, printed with the bar cleared around it
    progress.close()
    shown = screen.getvalue()
    assert progress.bar is not None and "morvan" in shown and "100/100" in shown and "step/s" in shown
    assert printed == ["0.875"]


def test_a_log_gets_a_plain_line_now_and_then_and_no_bar():
    log = io.StringIO()
    progress = Progress(100, log)
    assert progress.bar is None and progress.lines_around(print) is print
    progress.last -= 31  # as if half a minute had passed
    progress(50)
    assert log.getvalue().startswith("[rnnmnist] step 50/100, ")


def test_no_stream_shows_nothing():
    progress = Progress(10, None)
    progress(5)
    assert progress.bar is None and progress.lines_around(None) is None
