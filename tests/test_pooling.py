"""One rule for what pools as seeds (issue 21, item 1): `ensemble`, `load_ensembles`, the report and the CLI.

Records are the committed runs, loaded and varied in memory (a seed, a status, an era, a cut): no training.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import rnnmnist
from rnnmnist import api, compare, pooling, report, results

REPO = Path(__file__).resolve().parent.parent
MORVAN = sorted((REPO / "results" / "morvan").glob("20261129T121247Z_seed*.json"))  # seeds 1-5, TF 0.12, complete
SOFTMAX = REPO / "results" / "softmax-bug"


def morvan(seed: int = 1, **changes) -> api.Run:
    """A committed complete morvan run (TF 0.12), as seed `seed`, with `changes` to its record."""
    record = dict(results.load(MORVAN[(seed - 1) % 5]), seed=seed, **changes)
    return api.Run.from_record(record)


def interrupted(seed: int) -> api.Run:
    return morvan(seed, status=results.INTERRUPTED, interrupted_by="KeyboardInterrupt")


def truncated(seed: int, steps: int) -> api.Run:
    record = results.load(MORVAN[(seed - 1) % 5])
    cut = [p for p in record["curve"] if p["at"] < steps]
    schedule = dict(record["schedule"], steps={"start": 0, "stop": steps})
    return api.Run.from_record(dict(record, seed=seed, truncated=True, steps_run=steps, curve=cut, schedule=schedule))


def in_era(run: api.Run, name: str) -> api.Run:
    record = dict(run.record, era=dict(run.record["era"], name=name))
    return api.Run.from_record(record)


def test_interrupted_runs_are_never_seeds():
    """The issue's case: five interrupted runs of seeds 1 and 2 were 'reproduced, 18 of 18 of 5 seeds'."""
    with pytest.raises(ValueError, match="no complete run to pool: the 5 given were interrupted"):
        rnnmnist.ensemble([interrupted(1), interrupted(2), interrupted(1), interrupted(2), interrupted(2)])
    result = rnnmnist.ensemble([morvan(s) for s in range(1, 6)] + [interrupted(6), interrupted(7)])
    assert result.rows[0].seeds == 5 and len(result.notes) == 2
    assert all("left out: interrupted: not a seed" in note for note in result.notes)
    assert "interrupted: not a seed" in compare.describe(result)


def test_a_seed_run_again_counts_once_as_its_latest_complete_run():
    older = morvan(1)
    older.record["provenance"] = dict(older.record["provenance"], finished_utc="2000-01-01T00:00:00+00:00")
    runs = [morvan(s) for s in range(1, 6)] + [older, morvan(2)]
    result = rnnmnist.ensemble(runs)
    assert result.rows[0].seeds == 5
    assert sum("run again: its latest complete run counts" in note for note in result.notes) == 2
    two_of_one_seed = rnnmnist.ensemble([morvan(1), morvan(1)])  # not two seeds: one run, and said so
    assert two_of_one_seed.rows[0].seeds == 1 and len(two_of_one_seed.notes) == 1


def test_the_readmes_flow_a_full_and_a_truncated_run_of_one_seed_do_not_pool():
    """After the main command (782 steps, seed 1), the README's example adds a 100-step run of seed 1."""
    with pytest.raises(ValueError, match=r"not seeds of one recipe \(schedule: 782 of 782 steps \(1 run\), "
                                         r"100 of 782 steps \(truncated\) \(1 run\)\)"):
        rnnmnist.ensemble([morvan(1), truncated(1, 100)])


def test_truncated_runs_pool_only_with_runs_cut_at_the_same_step_and_say_so():
    result = rnnmnist.ensemble([truncated(s, 100) for s in range(1, 6)])
    assert result.rows[0].seeds == 5
    assert result.reason.startswith("over a truncated schedule, 100 of 782 steps: ")
    with pytest.raises(ValueError, match="schedule: 100 of 782 steps"):
        rnnmnist.ensemble([truncated(s, 100) for s in range(1, 4)] + [truncated(4, 200)])
    single = truncated(1, 100)
    assert single.comparison.reason.startswith("over a truncated schedule, 100 of 782 steps: ")


def test_runs_of_other_eras_do_not_pool_but_eras_that_behave_alike_do():
    with pytest.raises(ValueError, match=r"era: TF 0\.12 \(3 runs\), TF 1\.1 = 1\.2 = 1\.4 = 1\.14 \(2 runs\)"):
        rnnmnist.ensemble([morvan(s) for s in (1, 2, 3)] + [in_era(morvan(s), "1.2") for s in (4, 5)])
    alike = rnnmnist.ensemble([in_era(morvan(s), "1.2") for s in (1, 2)] + [in_era(morvan(s), "1.14") for s in (3, 4, 5)])
    assert alike.rows[0].seeds == 5


def test_runs_with_and_without_a_fix_do_not_pool():
    runs = rnnmnist.load_runs(REPO / "results", variant="softmax-bug")
    with pytest.raises(ValueError, match=r"fixes: none \(\d+ runs\), softmax \(\d+ runs\)"):
        rnnmnist.ensemble(runs)
    with pytest.raises(ValueError, match=r"variant: softmax-bug \(1 run\), morvan \(1 run\)"):
        rnnmnist.ensemble([morvan(1), *runs[:1]])
    with pytest.raises(ValueError, match="no runs to pool"):
        rnnmnist.ensemble([])


def test_load_ensembles_and_the_report_pool_by_the_same_rule(tmp_path):
    """A results folder with every kind of run in it: each group is one recipe, one complete run per seed."""
    for path in MORVAN + list(SOFTMAX.glob("*.json")):
        (tmp_path / path.parent.name).mkdir(exist_ok=True)
        shutil.copy(path, tmp_path / path.parent.name / path.name)
    extra = [interrupted(6), truncated(7, 100), in_era(morvan(8), "1.2")]
    for run in extra:
        run.save(tmp_path)
    ensembles = rnnmnist.load_ensembles(tmp_path)
    groups, left_out = report.collect(tmp_path)
    assert len(ensembles) == len(groups)
    for (title, runs), records in zip(ensembles.items(), groups.values()):
        assert [r.path for r in runs] == [path for path, _ in records]
        assert len({pooling.recipe_of(r.record) for r in runs}) == 1, title
        assert len({r.request.seed for r in runs}) == len(runs), title
        rnnmnist.ensemble(runs)  # never refused: each group is one recipe
    assert ensembles["morvan, TF 1.2"][0].request.seed == 8
    assert [r.request.seed for r in ensembles["morvan, TF 0.12 (its own)"]] == [1, 2, 3, 4, 5]
    assert sum(p.parent.name == "morvan" for p in left_out) == 2  # the interrupted and the truncated run


def test_the_command_lines_ensemble_is_the_apis(monkeypatch):
    """`--seeds K` ends with api.ensemble over its runs: the same rule, the same refusals."""
    from rnnmnist import reproduce
    lines = []
    reproduce._ensemble([morvan(s) for s in range(1, 6)] + [interrupted(6)], lines.append)
    (verdict,) = [line for line in lines if line.startswith("verdict over ")]
    assert verdict.startswith("verdict over 5 seeds: ") and "interrupted: not a seed" in verdict
    assert json.loads(json.dumps(lines))  # plain text


def test_plot_pools_as_ensemble_does():
    """A plot's title carries a verdict: it is drawn over the same seeds, and refuses what ensemble refuses."""
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    with pytest.raises(ValueError, match="not seeds of one recipe"):
        rnnmnist.plot([morvan(1), truncated(1, 100)])
    figure = rnnmnist.plot([morvan(s) for s in range(1, 6)] + [interrupted(6), morvan(2)])
    assert "5 seed(s); verdict: reproduced" in figure._suptitle.get_text()
