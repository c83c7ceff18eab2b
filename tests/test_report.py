"""Seed ensembles, the report made from runs alone, TensorBoard events and plots."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import train
from rnnmnist import compare, plotting, report, results, twoensembles
from rnnmnist.curve import BATCH_ACCURACY, Point
from rnnmnist.spec import Reference

REPO = Path(__file__).resolve().parent.parent
REF = Reference("test", tuple(Point(BATCH_ACCURACY, 20 * i, 0.9) for i in range(10)))
SIZES = {BATCH_ACCURACY: 128}


def curve(values):
    return [Point(BATCH_ACCURACY, 20 * i, v) for i, v in enumerate(values)]


def test_ensemble_band_is_a_prediction_interval_from_the_seeds_spread():
    seeds = [curve([v] * 10) for v in (0.85, 0.875, 0.9, 0.925, 0.95)]
    result = compare.ensemble(seeds, REF, SIZES)
    row = result.rows[0]
    s = math.sqrt(sum((v - 0.9) ** 2 for v in (0.85, 0.875, 0.9, 0.925, 0.95)) / 4)
    noise = math.sqrt(sum(((round(v * 128) + 0.5) / 129) * (1 - (round(v * 128) + 0.5) / 129) / 128
                          for v in (0.85, 0.875, 0.9, 0.925, 0.95)) / 5)
    assert math.isclose(row.half_width, compare.t_975(4) * math.sqrt(max(s * s, noise * noise) * (1 + 1 / 5)))
    assert (row.seeds, row.low, row.high) == (5, 0.85, 0.95) and math.isclose(row.reproduced, 0.9)
    assert result.verdict == compare.REPRODUCED and "5 seeds" in result.reason


def test_fewer_seeds_than_a_band_needs_are_inconclusive_whatever_they_show():
    for k in (2, 4):
        result = compare.ensemble([curve([0.9] * 10)] * k, REF, SIZES)
        assert result.verdict == compare.INCONCLUSIVE and result.inside == result.compared == 10
        assert compare.describe(result).startswith(f"inconclusive: too few seeds (need {compare.MIN_SEEDS})")
    far_off = compare.ensemble([curve([0.1] * 10)] * 2, REF, SIZES)
    assert far_off.verdict == compare.NOT_REPRODUCED  # missing even a band that wide is a clear difference
    assert compare.ensemble([curve([0.9] * 10)] * 5, REF, SIZES).verdict == compare.REPRODUCED


def test_t_quantile_is_right_for_any_number_of_seeds():
    # Student's t, 97.5%, from the tables: not 1.96 beyond 30 degrees of freedom
    table = {1: 12.706, 2: 4.303, 4: 2.776, 9: 2.262, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
    assert all(round(compare.t_975(df), 3) == t for df, t in table.items())
    assert 1.959964 < compare.t_975(10_000) < 1.9603


def test_seeds_that_agree_still_get_one_runs_noise():
    seeds = [curve([0.9] * 10)] * 3
    row = compare.ensemble(seeds, REF, SIZES).rows[0]
    assert row.half_width >= 4.303 * math.sqrt(0.9 * 0.1 / 128)


def test_ensemble_of_curves_far_off_is_not_reproduced():
    seeds = [curve([v] * 10) for v in (0.5, 0.51, 0.52)]
    assert compare.ensemble(seeds, REF, SIZES).verdict == compare.NOT_REPRODUCED


def seal(directory, variant, seed, values, **extra):
    record = {"schema": results.SCHEMA, "variant": variant, "seed": seed, "status": results.COMPLETE,
              "truncated": False, "fixes": [], "steps_run": 782, "steps_total": 782, "command": "test",
              "schedule": {"batch_size": 128, "steps": {"start": 0, "stop": 782}, "every": 20,
                           "batch_metrics": ["batch_accuracy"], "steps_per_epoch": 0, "epoch_mean_loss": False,
                           "epoch_eval": [], "final_test_images": 0},
              "curve": [{"metric": BATCH_ACCURACY, "at": 20 * i, "value": v, "sd": None} for i, v in enumerate(values)],
              "comparison": {}, "wall_time_s": 60.0,
              "provenance": {"git": {"commit": "abc", "dirty": False}, "tensorflow": "2.21.0", "cpu": "test CPU"}}
    record.update(extra)
    return results.save(record, directory)


def test_report_pools_seeds_and_leaves_out_truncated_runs(tmp_path):
    from rnnmnist.tutorials.final_state import DOCUMENTED
    for seed in (1, 2):
        seal(tmp_path, "morvan", seed, DOCUMENTED[:40])
    seal(tmp_path, "morvan", 3, DOCUMENTED[:5], truncated=True)
    seal(tmp_path, "morvan", 2, DOCUMENTED[:40])  # seed 2 again: the same curve, not a third seed
    text = report.render(tmp_path, *report.collect(tmp_path))
    assert "| morvan, TF 1.2 | 782 steps, batch 128 | 2       | 17/17         | inconclusive |" in text
    assert "**Verdict: inconclusive: too few seeds (need 5): with 2 the band is t = 12.71 standard errors wide" in text
    assert "17 of 17 checkpoints inside the 95% band of 2 seeds" in text
    assert "Left out: 2 runs (truncated, interrupted, or an earlier run of a seed run again)." in text
    assert text.count("_seed1.json |") == 1 and "test CPU" in text  # once in the runs table


def test_the_runs_table_names_the_code_by_commit_else_by_version_and_sources(tmp_path):
    """An installed wheel has no commit: its version and sources' digest show; a run recorded before
    either (no "code" field) still reports, as ?."""
    no_git = {"commit": None, "dirty": None}
    seal(tmp_path, "morvan", 1, [0.9] * 40)
    seal(tmp_path, "morvan", 2, [0.9] * 40, provenance={"git": no_git, "code": {"version": "0.1.0",
         "sources_sha256": "4be2c1a09f" + "0" * 54}, "tensorflow": "2.21.0", "cpu": "test CPU"})
    seal(tmp_path, "morvan", 3, [0.9] * 40, provenance={"git": no_git, "tensorflow": "2.21.0", "cpu": "test CPU"})
    rows = [[cell.strip() for cell in line.split(" | ")[1:3]] for line in report.render(tmp_path, *report.collect(tmp_path)).splitlines()
            if "_seed" in line and line.startswith("| 2")]
    assert rows == [["1", "abc"], ["2", "0.1.0+4be2c1a09f"], ["3", "?"]]


def test_report_refuses_a_hand_edited_run(tmp_path):
    path = seal(tmp_path, "morvan", 1, [0.5] * 40)
    path.write_text(path.read_text().replace("0.5", "0.9", 1))
    with pytest.raises(results.ResultsError, match="checksum mismatch"):
        report.render(tmp_path, *report.collect(tmp_path))


def test_committed_report_is_what_the_committed_runs_produce():
    """Rebuilt from the runs it names (a run you add locally does not make it stale)."""
    committed = REPO / "results" / report.REPORT
    if not committed.exists():
        pytest.skip("no committed report yet")
    text = committed.read_text(encoding="utf-8")
    listed = report.runs_listed(text)
    assert listed, "the report names no runs"
    assert text == report.render(REPO / "results", *report.collect(REPO / "results", only=listed))


def test_report_names_the_runs_it_was_built_from(tmp_path):
    first = seal(tmp_path, "morvan", 1, [0.9] * 40)
    text = report.render(tmp_path, *report.collect(tmp_path))
    assert report.runs_listed(text) == [f"morvan/{first.name}"]
    seal(tmp_path, "morvan", 2, [0.9] * 40)  # a later run does not change the report rebuilt from its list
    assert report.render(tmp_path, *report.collect(tmp_path, only=report.runs_listed(text))) == text


def test_plots_one_png_per_variant(tmp_path):
    pytest.importorskip("matplotlib")
    from rnnmnist.tutorials.final_state import DOCUMENTED
    seal(tmp_path, "morvan", 1, DOCUMENTED[:40])
    (png,) = report.plots(tmp_path, report.collect(tmp_path)[0])
    assert png.name == "morvan_tf1.2.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![morvan, TF 1.2](morvan_tf1.2.png)" in report.render(tmp_path, *report.collect(tmp_path))


def test_plot_colours_each_seed_shades_the_verdicts_band_and_counts_epochs_in_whole_numbers(tmp_path):
    pytest.importorskip("matplotlib")
    from rnnmnist.tutorials.final_state import DOCUMENTED
    records = [results.load(seal(tmp_path, "morvan", seed, DOCUMENTED[:40])) for seed in (1, 2)]
    ax, zoomed = plotting.figure("morvan", (), records).axes  # its page's 17 numbers end at step 320 of 781
    assert zoomed.get_xlim()[1] < 400
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["95% band of the verdict (2 seeds)", "seed 1", "seed 2", "documented", "final-state's first 40"]
    assert len({line.get_color() for line in ax.get_lines()[:2]}) == 2
    epochs = [{"metric": "test_accuracy", "at": e, "value": 0.9, "sd": None} for e in (1, 2, 3, 4, 5)]
    path = seal(tmp_path, "static-projection", 0, [], curve=epochs)
    (ax,) = plotting.figure("static-projection", (), [results.load(path)]).axes
    ax.set_xlim(1, 5)
    ax.figure.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_xticks()) and ax.get_xlabel() == "epoch"


def test_tensorboard_events_are_written_as_the_run_goes_with_its_graph(tmp_path, tiny_mnist):
    mnist_dir = tiny_mnist
    from rnnmnist import registry
    from rnnmnist.tfcompat import v1

    def events():
        (path,) = (tmp_path / "run").glob("morvan/*/events.out.tfevents.*")  # TensorBoard DIR/<variant>/<run>
        return list(v1.train.summary_iterator(str(path)))

    seen = []

    def echo(line):
        if line[:2] in ("0.", "1.") and not seen:  # step 0's accuracy: already on disk when printed
            seen.extend((e.step, v.tag) for e in events() for v in e.summary.value)

    variant = registry.load("morvan")
    train(variant, mnist_dir, 1, variant.schedule.truncated(41), echo=echo, progress=None, tensorboard=tmp_path / "run")
    assert seen == [(0, BATCH_ACCURACY)]
    found = [(e.step, v.tag) for e in events() for v in e.summary.value]
    assert found == [(0, BATCH_ACCURACY), (20, BATCH_ACCURACY), (40, BATCH_ACCURACY)]
    assert any(e.graph_def for e in events())  # the tutorial's graph, for the graph view


def test_plots_zoom_to_the_documented_numbers_clip_their_bands_and_say_a_run_was_cut(tmp_path):
    """Issue 21, item 6: final-state's documented numbers sit in its first 2,500 of 20,000 steps; a band drawn
    past 0 or 1; a truncated run's plot titled as if it had run the tutorial."""
    pytest.importorskip("matplotlib")
    from matplotlib.collections import PolyCollection
    schedule = {"batch_size": 128, "steps": {"start": 0, "stop": 20000}, "every": 20,
                "batch_metrics": ["batch_accuracy"], "steps_per_epoch": 0, "epoch_mean_loss": False,
                "epoch_eval": [], "final_test_images": 0}
    values = [0.0] + [1.0] * 999  # a band around 0 and 1 would cross them
    path = seal(tmp_path, "final-state", 0, values, schedule=schedule, steps_run=20000, steps_total=20000)
    full, zoomed = plotting.figure("final-state", (), [results.load(path)]).axes
    assert full.get_xlim()[1] > 19000 and 2480 <= zoomed.get_xlim()[1] < 2700
    band = next(c for c in full.collections if isinstance(c, PolyCollection))
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() >= 0.0 and ys.max() <= 1.0
    from rnnmnist.tutorials.final_state import DOCUMENTED
    cut = seal(tmp_path, "morvan", 1, DOCUMENTED[:5], truncated=True, steps_run=100,
               schedule=dict(schedule, steps={"start": 0, "stop": 100}))
    figure = plotting.figure("morvan", (), [results.load(cut)])
    assert figure._suptitle.get_text().endswith("(cut short: 100 of 782 steps)")


def test_drawing_on_given_axes_draws_every_metric_or_says_how_many_it_needs(tmp_path):
    """Run.plot(ax=ax) on static-split (accuracy and loss) dropped the loss panel without a word."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    loss = [{"metric": "batch_loss", "at": 10 * i, "value": 1.0 / (i + 1), "sd": None} for i in range(1, 16)]
    acc = [{"metric": BATCH_ACCURACY, "at": 10 * i, "value": 0.5, "sd": None} for i in range(1, 16)]
    schedule = {"batch_size": 128, "steps": {"start": 1, "stop": 782}, "every": 10,
                "batch_metrics": [BATCH_ACCURACY, "batch_loss"], "steps_per_epoch": 0, "epoch_mean_loss": False,
                "epoch_eval": [], "final_test_images": 128}
    record = results.load(seal(tmp_path, "static-split", 0, [], curve=acc + loss, schedule=schedule, steps_run=781,
                               steps_total=781))
    _, one = plt.subplots()
    with pytest.raises(ValueError, match=r"static-split has 2 metric\(s\) to draw \(batch accuracy, batch loss\): "
                                         r"give as many Axes \(plt.subplots\(2\)\)"):
        plotting.draw("static-split", (), [record], ax=one)
    _, two = plt.subplots(2)
    plotting.draw("static-split", (), [record], ax=two)
    assert [a.get_ylabel() for a in two] == ["batch accuracy", "batch loss"]


def test_a_band_shown_as_none_is_explained_under_the_table():
    from rnnmnist.curve import BATCH_LOSS
    ref = Reference("test", (Point(BATCH_LOSS, 10, 2.0),))
    result = compare.compare([Point(BATCH_LOSS, 10, 2.1)], ref, {BATCH_LOSS: 128})  # one loss: no scatter
    text = compare.table(result)
    assert "| none " in text and text.endswith(compare.NO_BAND)
    assert compare.NO_BAND not in compare.table(compare.compare(curve([0.9] * 10), REF, SIZES))


def keras_copies(out: Path, shift: float, seeds=(1, 2, 3, 4, 5)) -> None:
    """The committed morvan TF1 seeds (TF 0.12) saved in `out`, and Keras 3 runs of the same seeds as
    run.py saves them (request impl/backend, provenance implementation), each with another TF1 seed's
    curve, accuracies lowered by `shift`."""
    from dataclasses import replace
    from rnnmnist import api
    committed = sorted((REPO / "results" / "morvan").glob("20261129T121247Z_seed*.json"))  # seeds 1-5, complete
    implementation = {"impl": "keras", "backend": "tensorflow", "keras": "3.15.1", "tensorflow": "2.21.0"}
    for i, path in enumerate(committed):
        record = results.load(path)
        results.save(record, out)
        if record["seed"] not in seeds:
            continue
        run = api.Run.from_record(record)
        keras = replace(run, plan=replace(run.plan, request=replace(run.request, impl="keras", backend="tensorflow")),
                        provenance=dict(run.provenance, implementation=implementation))
        other = results.load(committed[(i + 1) % len(committed)])  # not a copy of its own TF1 seed
        results.save(dict(keras.to_record(), curve=[dict(p, value=max(0.0, p["value"] - shift))
                                                    for p in other["curve"]]), out)


def section(text: str, title: str) -> list[str]:
    """A report section's lines, from its title to the next."""
    lines = text.splitlines()
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


KERAS_SECTION = "## morvan, TF 0.12 (its own): TF1 graph and Keras 3"


def test_report_sets_the_keras_version_beside_the_tf1_graph(tmp_path):
    """Issue 23, items 3(d) and 5: each ensemble against the documented numbers, and the two against each other."""
    keras_copies(tmp_path, 0.0)
    lines = section(report.render(tmp_path, *report.collect(tmp_path)), KERAS_SECTION)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines if line.startswith("| ")]
    assert rows[1:] == [["TF1 graph vs the documented numbers", "5", "17", "17", "reproduced"],
                        ["Keras 3 (tensorflow) vs the documented numbers", "5", "17", "17", "reproduced"],
                        ["Keras 3 (tensorflow) vs TF1 graph", "5 and 5", "40", "40", twoensembles.SAME]]
    assert "- Keras 3 (tensorflow) vs TF1 graph: same within seed noise (40 of 40 checkpoints" in "\n".join(lines)


def test_report_says_a_keras_version_that_learns_worse_differs(tmp_path):
    keras_copies(tmp_path, 0.1)  # 0.1 lower: about 4 of one seed's sds (a batch of 128 at 0.9: 0.026)
    text = report.render(tmp_path, *report.collect(tmp_path))
    lines = section(text, KERAS_SECTION)
    verdicts = [line.strip("|").split("|")[-1].strip() for line in lines if line.startswith("| ")][1:]
    assert verdicts == [compare.REPRODUCED, compare.NOT_REPRODUCED, twoensembles.DIFFER]
    note = next(line for line in lines if line.startswith("- Keras 3 (tensorflow) vs TF1 graph: differ ("))
    assert "; outside: batch accuracy @ step " in note and note.endswith(" more.")


def test_report_has_no_keras_section_without_both_implementations(tmp_path):
    keras_copies(tmp_path / "tf1", 0.0, seeds=())
    keras_copies(tmp_path / "keras", 0.0)
    for path in (tmp_path / "keras" / "morvan").glob("*.json"):
        if not path.name.endswith("_keras.json"):
            path.unlink()
    for directory in (tmp_path / "tf1", tmp_path / "keras"):
        groups, left_out = report.collect(directory)
        assert len(groups) == 1 and "TF1 graph and Keras 3" not in report.render(directory, groups, left_out)
