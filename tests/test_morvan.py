"""Morvan in depth: its recipe, its two references, the reuse error, real training, determinism, its printed lines."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import train
from rnnmnist import api, registry, report, reproduce, results, runner
from rnnmnist.printing import numpy113_str
from rnnmnist.curve import BATCH_ACCURACY, BATCH_LOSS
from rnnmnist.tfcompat import v1

MORVAN = registry.load("morvan")


def test_graph_ops_and_recipe():
    graph, g = runner.build_graph(MORVAN, seed=1)
    types = {op.type for op in graph.get_operations()}
    assert "RandomStandardNormal" in types           # tf.random_normal weights
    assert "ApplyAdam" in types and "VariableV2" in types  # TF1 ref variables, not resource ones
    assert g.fixed_batch == 128                       # zero_state(batch_size)
    assert g.x.shape.as_list() == [None, 28, 28]
    assert MORVAN.hyperparameters["lr"] == 0.001


def test_rebuilding_the_cell_in_one_graph_fails_as_in_the_tutorials():
    graph, _ = runner.build_graph(MORVAN, seed=1)
    with graph.as_default(), pytest.raises(ValueError) as e:
        with v1.variable_scope("morvan"):
            MORVAN.build()
    assert str(e.value).startswith("Variable morvan/rnn/basic_lstm_cell/kernel already exists, disallowed. "
                                   "Did you mean to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?")


def short(steps: int, every: int):
    return replace(MORVAN.schedule.truncated(steps), every=every, batch_metrics=(BATCH_ACCURACY, BATCH_LOSS))


def losses(curve):
    return [p.value for p in curve.points if p.metric == BATCH_LOSS]


def test_a_short_real_run_learns(mnist_dir):
    curve = train(MORVAN, mnist_dir, seed=1, schedule=short(100, 5), echo=None, progress=None)
    loss = losses(curve)
    assert curve.steps_run == 100 and len(loss) == 20
    assert sum(loss[-5:]) / 5 < 0.6 * sum(loss[:5]) / 5
    acc = [p.value for p in curve.points if p.metric == BATCH_ACCURACY]
    assert sum(acc[-5:]) / 5 > 0.5


def test_same_seed_same_curve_other_seed_other_curve(mnist_dir):
    def curve(seed):
        return train(MORVAN, mnist_dir, seed=seed, schedule=short(25, 4), echo=None, progress=None).points
    first = curve(7)
    assert curve(7) == first  # bit for bit
    assert curve(8) != first


def test_prints_what_the_tutorial_printed(mnist_dir):
    lines = []
    train(MORVAN, mnist_dir, seed=1, schedule=MORVAN.schedule.truncated(41), echo=lines.append, progress=None)
    assert lines[:4] == [f"Extracting {mnist_dir / n}" for n in
                         ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]
    accuracies, closing = lines[4:7], lines[7:]
    assert closing == ["[truncated after 41 of 782 steps: the tutorial's closing lines come only after its last step]"]
    assert all(re.fullmatch(r"(0\.\d{1,6}|1\.0)", a) for a in accuracies), accuracies


# Morvan's page, as published: the batch accuracies its run printed at steps 0, 20, ..., 320
PAGE = ("https://github.com/MorvanZhou/morvanzhou.github.io/blob/067dfd1012f7a1273e5d921d98a6ff1ff84c6e33/"
        "_tutorials/machine-learning/tensorflow/5-08-RNN2.md")
PRINTED = ("0.1875 0.65625 0.726562 0.757812 0.820312 0.796875 0.859375 0.921875 0.921875 0.898438 "
           "0.828125 0.890625 0.9375 0.921875 0.9375 0.929688 0.953125").split()
COMMITTED_SEED1 = Path(__file__).resolve().parent.parent / "results" / "morvan" / "20261129T121247Z_seed1.json"


def test_its_own_page_is_the_reference_and_final_states_first_40_the_second():
    ref = MORVAN.reference
    assert PAGE in ref.source and "17 printed batch accuracies" in ref.source
    assert [(p.metric, p.at) for p in ref.points] == [(BATCH_ACCURACY, 20 * i) for i in range(17)]
    assert [repr(p.value) for p in ref.points] == PRINTED
    # each a batch of 128's accuracy, as the run printed a float32 (NumPy < 1.14: 6 significant digits)
    assert all(numpy113_str(round(p.value * 128) / 128) == repr(p.value) for p in ref.points)
    (final_state,) = ref.also
    assert final_state.points == registry.load("final-state").reference.points[:40]
    assert final_state.source.startswith("final-state's first 40")


def test_the_summary_and_an_ensemble_show_both_references():
    run = api.Run.from_record(results.load(COMMITTED_SEED1), COMMITTED_SEED1)  # saved before the page's numbers
    assert [c.reference for c in run.comparisons] == [MORVAN.reference.source, MORVAN.reference.also[0].source]
    assert run.comparison is run.comparisons[0] and run.verdict == run.comparison.verdict
    lines = run.summary()
    assert f"reference: {MORVAN.reference.source}" in lines
    verdict = lines.index("verdict: reproduced (17 of 17 checkpoints inside the 95% band; chance alone allows 3 outside)")
    assert lines[verdict + 1].startswith("also against final-state's first 40 printed batch accuracies "
                                         "(same network and recipe): reproduced (40 of 40 checkpoints")
    assert "also against final-state's first 40" in run._repr_markdown_()
    echoed = []
    seed2 = api.Run.from_record(results.load(COMMITTED_SEED1.with_name("20261129T121247Z_seed2.json")))
    reproduce._ensemble([run, seed2], echoed.append)  # two seeds: one run given twice would be one seed
    assert echoed[-1].startswith("also against final-state's first 40") and "of 2 seeds" in echoed[-1]


def test_the_report_shows_both_references():
    text = (COMMITTED_SEED1.parent.parent / report.REPORT).read_text(encoding="utf-8")  # regenerated by test_report
    section = text[text.index("## morvan, TF 0.12 (its own)\n"):text.index("## morvan, TF 1.2")]
    assert f"Reference: {MORVAN.reference.source}." in section
    assert "**Verdict: reproduced (17 of 17 checkpoints" in section
    assert "Also against final-state's first 40 printed batch accuracies (same network and recipe): " in section
    assert section.count("| metric ") == 2  # a table for each
