"""Lesson: what TensorFlow 2 removed or changed under these tutorials, and what tf_upgrade_v2 makes of them."""
from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import registry
from ..tfcompat import tf
from ..tfcompat import v1
from . import Board, Facts, attempt, error_text

MORVAN_LOSS = "cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(pred, y))"
# `# TF1: <the tutorial's line>` beside (or below) the line that replaced it; "(Python 2)" may qualify it
TF1_LINE = re.compile(r"#\s*TF1(?: \([^)]*\))?:\s*(?P<code>[^`\s].*)$")


def tf1_originals(module_source: str) -> str:
    """The tutorial's lines that a variant module had to change, as it records them (`# TF1: ...`).

    Every other line of a variant is the tutorial's own, so these are exactly the lines TensorFlow 2
    broke, written by rnnmnist itself: the converter is tried on them without the tutorials' pages.
    """
    lines = [m.group("code").rstrip() for line in module_source.splitlines() if (m := TF1_LINE.search(line))]
    return "\n".join(lines) + "\n"


def unresolved(code: str) -> list[str]:
    """tf.* names and tensorflow imports in `code` that today's TensorFlow does not have."""
    missing = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tensorflow"):
            if _no_module(node.module):
                missing.append(f"from {node.module} import ...")
        if isinstance(node, ast.Attribute):
            chain, cur = [], node
            while isinstance(cur, ast.Attribute):
                chain.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id == "tf":
                name, obj = "tf", tf
                for attr in reversed(chain):
                    name += "." + attr
                    if not hasattr(obj, attr):
                        missing.append(name)
                        break
                    obj = getattr(obj, attr)
    return sorted(set(missing))


def _no_module(module: str) -> bool:
    try:
        importlib.import_module(module)
        return False
    except ImportError:
        return True


def _outer_attributes_only(names: list[str]) -> list[str]:
    return [n for n in names if not any(o != n and n.startswith(o + ".") for o in names)]


def removed_and_changed(board: Board) -> Facts:
    facts: Facts = {}
    _, facts["examples"] = attempt(lambda: importlib.import_module("tensorflow.examples.tutorials.mnist"))
    _, facts["contrib"] = attempt(lambda: v1.contrib.rnn.BasicLSTMCell)
    _, facts["unpack"] = attempt(lambda: v1.unpack)
    graph = v1.Graph()
    with graph.as_default():
        pred = v1.matmul(v1.placeholder(v1.float32, [None, 4]), v1.Variable(v1.ones([4, 10])))
        y = v1.placeholder(v1.float32, [None, 10])
        facts["arg_max_runs"] = attempt(lambda: v1.arg_max(pred, 1))[1] is None
        init, error = attempt(lambda: v1.initialize_all_variables())
        facts["initialize_all_variables_runs"] = error is None
        init.mark_used()  # built only to show that it still exists
        cost, facts["positional_call"] = attempt(
            lambda: v1.reduce_mean(v1.nn.softmax_cross_entropy_with_logits(pred, y)))
        facts["positional_gradients"] = v1.gradients(cost, v1.trainable_variables())
        _, facts["positional_minimize"] = attempt(lambda: v1.train.AdamOptimizer(0.001).minimize(cost))
    keras3 = subprocess.run(
        [sys.executable, "-c", "import tensorflow as tf; tf.compat.v1.nn.rnn_cell.BasicLSTMCell(128)"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_USE_LEGACY_KERAS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"})
    last = (keras3.stderr.strip().splitlines() or [""])[-1]
    facts["keras3"] = tuple(last.split(": ", 1)) if ": " in last else ("", last)

    board.did("The tutorials were written for TensorFlow 0.x and 1.x. Run as they are today, line by line:")
    rows = [
        ("from tensorflow.examples.tutorials.mnist import input_data", error_text(facts["examples"]),
         "rnnmnist.dataset is a port of it"),
        ("tf.contrib.rnn.BasicLSTMCell(...)", error_text(facts["contrib"]), "tf.compat.v1.nn.rnn_cell.BasicLSTMCell"),
        ("tf.unpack(...)", error_text(facts["unpack"]), "tf.unstack, since TF 1.0"),
        ("tf.arg_max(pred, 1)", "still runs in tf.compat.v1 (a deprecated alias)", "tf.argmax"),
        ("tf.initialize_all_variables()", "still runs in tf.compat.v1 (a deprecated alias)",
         "tf.global_variables_initializer()"),
        ("BasicLSTMCell without tf-keras (Keras 3)", f"{facts['keras3'][0]}: {facts['keras3'][1]}",
         "pip install tf-keras; TF_USE_LEGACY_KERAS=1 before importing TensorFlow"),
    ]
    board.happens("\n".join(f"{code}\n  -> {result}\n  now: {now}" for code, result, now in rows))
    board.note("Morvan's positional loss call, softmax_cross_entropy_with_logits(pred, y):",
               f"The call itself: {error_text(facts['positional_call'])}. TF 0.x read it as (logits, labels); "
               "TF 1.x refused positional arguments; TF 2's compat.v1 takes them in its own order, "
               "(labels, logits): pred becomes the labels and y the logits. The labels get no gradient, so "
               f"the weights get none: gradients {facts['positional_gradients']}, and minimize() says "
               f"{error_text(facts['positional_minimize'])}")
    return facts


def converted(board: Board) -> Facts:
    """tf_upgrade_v2 run on every tutorial's broken lines, what it changed and left broken; then Morvan's loss."""
    facts: Facts = _converter_run(registry.names())
    board.note("What TensorFlow's own converter, tf_upgrade_v2, makes of each tutorial:", _converter_summary(facts))
    morvan = facts.get("morvan", {}).get("converted", "")
    line = next((ln.strip() for ln in morvan.splitlines() if "softmax_cross_entropy_with_logits" in ln), None)
    if line:
        facts["morvan_loss"] = _converted_loss(board, line)
    return facts


def _converter_run(names: list[str]) -> Facts:
    """The converter's count of issues, and per tutorial (by module stem) what it made of its broken lines."""
    facts: Facts = {}
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, report = Path(tmp, "in"), Path(tmp, "out"), Path(tmp, "report.txt")
        src.mkdir()
        for name in names:
            (src / f"{_stem(name)}.py").write_text(tf1_originals(registry.source(name)))
        run = subprocess.run([sys.executable, "-m", "tensorflow.tools.compatibility.tf_upgrade_v2_main",
                              "--intree", str(src), "--outtree", str(dst), "--reportfile", str(report)],
                             capture_output=True, text=True, timeout=600,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        log = report.read_text() if report.exists() else run.stdout + run.stderr
        sections = {Path(m.group(1)).name: m.group(2) for m in
                    re.finditer(r"Processing file '([^']+)'\n(.*?)(?=Processing file '|\Z)", log, re.S)}
        verdict = re.search(r"Detected (\d+) issues that require attention", run.stdout + log)
        facts["issues_reported"] = int(verdict.group(1)) if verdict else None
        for stem in map(_stem, names):
            facts[stem] = _conversion(sections.get(f"{stem}.py", ""), dst / f"{stem}.py")
    return facts


def _conversion(section: str, out: Path) -> dict:
    """What the converter's report `section` on one file says it did, and what its output `out` still lacks."""
    renamed = sorted(set(re.findall(r"Renamed '([^']+)' to '([^']+)'", section)))
    changed = sorted({re.sub(r"^\d+:\d+: \w+: |\s*Please check this transformation\.", "", line)
                      for line in section.splitlines()
                      if re.match(r"\d+:\d+: ", line) and "Renamed" not in line})
    parse_failed = "Failed to parse" in section
    code = out.read_text() if out.exists() else ""
    broken = _outer_attributes_only(unresolved(code)) if code and not parse_failed else []
    return {"renamed": renamed, "changed": changed, "parse_failed": parse_failed,
            "still_broken": broken, "converted": code}


def _converter_summary(facts: Facts) -> str:
    """The board's text on the converter: its count of issues, then a line per tutorial."""
    summary = [f"It reports {facts['issues_reported']} issues that require attention. Per tutorial (its lines "
               "that TensorFlow 2 broke, as each variant module records them beside their replacements):"]
    for stem, f in ((k, v) for k, v in facts.items() if isinstance(v, dict)):
        if f["parse_failed"]:
            summary.append(f"{stem.replace('_', '-')}: could not convert it at all: it is Python 2 (print statements), "
                           "which the converter cannot parse")
            continue
        moved = [a for a, b in f["renamed"] if b == a.replace("tf.", "tf.compat.v1.", 1)]
        others = [f"{a} -> {b}" for a, b in f["renamed"] if a not in moved]
        names = (f"{len(f['renamed'])} name{'s' * (len(f['renamed']) != 1)}: {len(moved)} moved under tf.compat.v1"
                 + (f", and {', '.join(others)}" if others else "")) if f["renamed"] else "nothing"
        other = "; ".join(f["changed"])
        summary.append(f"{stem.replace('_', '-')}: renamed {names}" + (f". Also: {other}" if other else "")
                       + f". Still broken after conversion: {', '.join(f['still_broken']) or 'nothing it can see'}")
    return "\n".join(summary)


def _converted_loss(board: Board, line: str) -> Facts:
    """Morvan's loss line as the converter wrote it, run as it stands and trained."""
    graph = v1.Graph()
    with graph.as_default():
        pred = v1.matmul(v1.placeholder(v1.float32, [None, 4]), v1.Variable(v1.ones([4, 10])))
        y = v1.placeholder(v1.float32, [None, 10])
        scope = {"tf": tf, "pred": pred, "y": y}
        exec(line, scope)  # the converter's own output, run as it stands
        _, error = attempt(lambda: v1.train.AdamOptimizer(0.001).minimize(scope["cost"]))
    swapped = "labels=tf.stop_gradient(pred)" in line.replace(" ", "")
    board.note("Morvan's loss line after conversion:",
               f"{MORVAN_LOSS}\n  -> {line}\n"
               + ("The converter read the positional arguments in TF 1.x's order (labels, logits): it made "
                  "the predictions the labels, behind a stop_gradient, and the true labels the logits. "
                  if swapped else "")
               + f"Training it: {error_text(error)}\nThe right line: "
                 "tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y), as the morvan variant "
                 "(rnnmnist.tutorials.morvan) has it.")
    return {"converted": line, "swapped": swapped, "minimize": error}


def _stem(name: str) -> str:
    return name.replace("-", "_")


def release_defaults(board: Board, data_dir: Path) -> Facts:
    """What the release underneath changes in numbers: one tutorial, one seed, two releases' defaults."""
    from .. import runner
    from ..plan import resolve
    from ..request import RunRequest
    from ..curve import BATCH_LOSS
    variant = registry.load("static-split")
    losses = {}
    for name in ("1.0", "1.2"):
        plan = resolve(RunRequest(variant.name, 0, steps=100, data_dir=data_dir, out=None, era=name))
        curve = runner.run(plan, echo=None, progress=None)
        losses[name] = [p.value for p in curve.points if p.metric == BATCH_LOSS]
    mean = {name: sum(values) / len(values) for name, values in losses.items()}
    board.note("The same code, seed and steps under two releases' defaults (static-split, seed 0, steps 10-100):",
               "TF 1.0 (the tutorial's own: the first epoch in file order, the same batches for every seed): "
               + ", ".join(f"{v:.3f}" for v in losses["1.0"]) + f"; mean {mean['1.0']:.3f}.\n"
               "TF 1.2 and later (the first epoch shuffled with the graph seed): "
               + ", ".join(f"{v:.3f}" for v in losses["1.2"]) + f"; mean {mean['1.2']:.3f}.\n"
               "No line of the tutorial changed: only the DataSet underneath it (mnist.py@1.0.1 against "
               "@1.2.1). A run compared with numbers printed under another release compares data orders too.")
    return {"losses": losses, "mean": mean}


# The lesson in three parts, each runnable alone (the tests run them side by side)
def run(board: Board, data_dir: Path | None = None, **_) -> Facts:
    from ..settings import DEFAULT_DATA_DIR
    facts = removed_and_changed(board)
    facts["converter"] = converted(board)
    facts["eras"] = release_defaults(board, data_dir or DEFAULT_DATA_DIR)
    return facts
