"""What the client, its Dask tasks and the runs' processes say to each other (rnnmnist.messages): each
message comes back from JSON as it was sent, and the run's stdout is read as the run wrote it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnmnist import messages
from rnnmnist.request import RunRequest

FAST = settings(max_examples=60, deadline=None)
texts = st.text(max_size=20)
json_values = st.recursive(  # what a run's document or a point holds: finite numbers (NaN != NaN)
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=10)
documents = st.dictionaries(texts, json_values, max_size=4)
paths = texts.map(Path)
seconds = st.floats(min_value=0, max_value=1e6)
requests = st.builds(RunRequest, variant=texts, seed=st.integers(0, 2 ** 31 - 1),
                     steps=st.none() | st.integers(1, 10 ** 6), epochs=st.none() | st.integers(1, 100),
                     fixes=st.lists(texts, max_size=3).map(tuple), data_dir=paths, out=st.none() | paths,
                     tensorboard=st.none() | paths, checkpoint=st.none() | paths,
                     inter_op_threads=st.integers(0, 64), era=st.none() | texts, impl=texts,
                     backend=st.none() | texts)
jobs = st.builds(messages.Job, requests, st.booleans(), st.integers(0, 64), st.booleans(), st.booleans())
points = st.builds(messages.Points, st.lists(documents, max_size=3).map(tuple), st.integers(0, 10 ** 6), seconds,
                   seconds, st.none() | documents)
from_run = st.one_of(st.builds(messages.Line, texts), points, st.builds(messages.Document, documents),
                     st.builds(messages.Failure, texts))
events = st.builds(messages.TaskEvent, st.integers(0, 100), texts, st.sampled_from(messages.KINDS), texts,
                   st.integers(0, 10 ** 6), texts, st.none() | points)
results = st.builds(messages.TaskResult, st.none() | texts, st.integers(0, 10 ** 6), st.none() | documents,
                    st.none() | texts, st.booleans())
every_message = st.one_of(jobs, from_run, st.builds(messages.StopRun, texts), events, results)


@FAST
@given(every_message)
def test_every_message_comes_back_from_json_as_it_was_sent(message):
    text = json.dumps(message.to_dict(), allow_nan=False)  # strict JSON: msgpack (Dask's events) takes it too
    assert type(message).from_dict(json.loads(text)) == message
    assert type(message).from_json(message.to_json()) == message


@FAST
@given(from_run)
def test_a_runs_stdout_is_read_as_it_wrote_it(message):
    assert messages.from_run(message.to_json() + "\n") == message


@pytest.mark.parametrize("line", ["0.8125\n", "{not json}\n", '{"other": 1}\n', "[1, 2]\n", '{"points": 3}\n', ""])
def test_any_other_line_on_a_runs_stdout_is_not_a_message(line):
    assert messages.from_run(line) is None  # passed on as printed


def test_the_wire_is_what_the_protocol_says():
    request = RunRequest.build("static-split", 7, steps=3, fixes=(), era="1.2", data_dir="d", out=None)
    job = messages.Job(request, quiet=True, inter_op_threads=2)
    assert job.to_dict() == {"request": request.to_dict(), "quiet": True, "inter_op_threads": 2, "verbose": False,
                            "bare": False}
    assert messages.StopRun("SIGTERM").to_dict() == {"stop": "SIGTERM"}
    first = messages.Points(({"step": 1},), 1, 0.5, 0.75, {"host": "h"})
    later = messages.Points(({"step": 2},), 2, 1.0, 1.5)
    assert first.then(later) == messages.Points(({"step": 1}, {"step": 2}), 2, 1.0, 1.5, {"host": "h"})
    with pytest.raises(ValueError, match="not 'line'"):
        messages.TaskEvent(0, "a", "line", "tcp://h:1", 0)
