"""`python -m rnnmnist.report`: REPORT.md (and one plot per variant) in runs/ or --results DIR, from its saved runs alone.

Every run under the directory is read through `results.load` (a file edited by hand stops the
report); the complete, untruncated ones are pooled as seeds of one recipe (`rnnmnist.pooling`) and
compared with the documented numbers by `compare.ensemble`. The text depends only on the runs, so the
tests can check that the committed report is what the committed runs produce.
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from tabulate import tabulate

from . import compare, eras, places, plotting, pooling, registry, results, twoensembles
from .curve import Curve, Point
from .spec import Variant, file_stem, titled

REPORT = "REPORT.md"


RUNS_LINE = "<!-- runs: {} -->"


def runs_listed(text: str) -> list[str]:
    """The run files a report says it was built from."""
    match = re.search(re.escape(RUNS_LINE).replace(r"\{\}", "(.*)"), text)
    return match.group(1).split() if match else []


def code_of(provenance: dict) -> str:
    """The code a run ran: its commit, else (an installed wheel has none) its version and the start of its
    sources' digest, 0.1.0+4be2c1a09f; ? for a run recorded before either was."""
    if provenance["git"]["commit"]:
        return provenance["git"]["commit"][:10]
    code = provenance.get("code")
    return f"{code['version']}+{code['sources_sha256'][:10]}" if code else "?"


def era_label(record: dict, variant_era: str) -> str:
    """The era a run's behaviour is: the tutorial's own name where it behaves as its own era does."""
    era = eras.get(results.era_name(record))
    return variant_era if era.behaviour == eras.get(variant_era).behaviour else era.name


class Key(NamedTuple):
    """A group of runs in the report: one recipe's seeds."""
    variant: str
    fixes: tuple[str, ...]
    era: str                    # the era its runs behave as (era_label)
    implementation: str = "tf1"  # what trained them: tf1, keras, keras-jax (results.implementation_name)


def collect(directory: Path, only: list[str] | None = None) -> tuple[dict[Key, list[tuple[Path, dict]]], list[Path]]:
    """Complete, untruncated runs pooled by `rnnmnist.pooling`'s rule, keyed by (variant, fixes, era, implementation);
    and the runs left out (truncated, interrupted, or an earlier run of a seed run again).

    Runs whose eras behave alike here (1.2, 1.4, 1.14) are one group, named after the tutorial's
    own era where it is one of them. `only`: these run files (variant/name.json) and no others.
    """
    paths = [directory / name for name in only] if only is not None else sorted(directory.glob("*/*.json"))
    full, left_out = [], []
    for path in sorted(paths, key=lambda p: p.name):  # names start with the UTC time: oldest first
        if path.parent.name == "bench":
            continue
        record = results.load(path)
        # the evidence is of whole schedules: a truncated run is a quick look
        (left_out if record["truncated"] else full).append((path, record))
    left_out = [path for path, _ in left_out]
    pooled, interrupted = pooling.pools(full, lambda item: item[1])
    left_out += [path for (path, _), _ in interrupted]
    groups: dict[Key, list[tuple[Path, dict]]] = {}
    own = {}
    for pool in pooled:
        left_out += [path for (path, _), _ in pool.left_out]
        name = pool.recipe.variant
        own.setdefault(name, registry.load(name).era)
        key = Key(name, pool.recipe.fixes, era_label(pool.seeds[0][1], own[name]), pool.recipe.implementation)
        if key in groups:
            raise results.ResultsError(f"{directory}: runs of {group_title(*key)} with different schedules "
                                       f"({pool.seeds[0][0].name}, {groups[key][0][0].name}): a tutorial's "
                                       "schedule changed; keep one schedule's runs in one results folder")
        groups[key] = pool.seeds
    # each variant's own era first, then the others; TF1's runs before its Keras version's
    return dict(sorted(groups.items(), key=lambda kv: (kv[0].variant, kv[0].fixes, kv[0].implementation != "tf1",
                                                       kv[0].implementation, kv[0].era != own[kv[0].variant],
                                                       kv[0].era))), left_out


def group_title(name: str, fixes: tuple[str, ...], era: str, implementation: str = "tf1") -> str:
    """`morvan, TF 0.12 (its own)`: a variant, its fixes and the era its runs behave as; a Keras version's
    runs say so: `morvan, Keras 3 (tensorflow), TF 0.12 (its own)`."""
    own = registry.load(name).era
    keras = "" if implementation == "tf1" else f", {implementation_label(implementation)}"
    return f"{titled(name, fixes)}{keras}, TF {era}" + (" (its own)" if era == own else "")


def implementation_label(implementation: str) -> str:
    """`TF1 graph`, `Keras 3 (tensorflow)`, `Keras 3 (jax)`: what trained a group's runs."""
    return "TF1 graph" if implementation == "tf1" else f"Keras 3 ({implementation.partition('-')[2] or 'tensorflow'})"


SUMMARY_HEADERS = ["variant", "schedule", "seeds", "inside band", "verdict"]


def summary_row(title: str, schedule: str, seeds: str, result: compare.Comparison, extra: tuple = ()) -> list[str]:
    """A summary table's row, the report's and the command line's (which adds `extra` columns before the verdict's)."""
    return [title, schedule, seeds, *extra, f"{result.inside}/{result.compared}" if result.compared else "-",
            result.verdict]


def headline(curve: list[Point], result: compare.Comparison) -> list[str]:
    """The last documented accuracy a run reached (else its last accuracy): what, documented, reproduced."""
    reached = [r for r in result.rows if r.reproduced is not None and r.metric in compare.ACCURACIES]
    if reached:
        last = reached[-1]
        where = "epoch" if last.metric in compare.EPOCH_METRICS else "step"
        return [f"{compare.LABELS[last.metric]} @ {where} {last.at}", repr(last.documented), f"{last.reproduced:.6g}"]
    accuracies = [p for p in curve if p.metric in compare.ACCURACIES]
    if not accuracies:
        return ["-", "-", "-"]
    return [f"{compare.LABELS[accuracies[-1].metric]} @ {accuracies[-1].at}", "-", f"{accuracies[-1].value:.6g}"]


def plot_name(variant: str, fixes: tuple[str, ...], era: str, implementation: str = "tf1") -> str:
    return f"{file_stem(variant, fixes)}" + ("" if implementation == "tf1" else f"_{implementation}") + f"_tf{era}.png"


CO_MOVEMENT_CHECKPOINTS = 20


def era_fit(name: str, results_by_era: list[tuple[str, compare.Comparison]]) -> list[list[str]]:
    """Per era, how the seeds fit the documented numbers: inside, verdict, early difference, correlation."""
    rows = []
    for era, result in results_by_era:
        reached = [r for r in result.rows if r.reproduced is not None]
        early = reached[:10]
        difference = sum(r.reproduced - r.documented for r in early) / len(early) if early else float("nan")
        correlations = []
        for metric in dict.fromkeys(r.metric for r in reached):
            rows_ = [r for r in reached if r.metric == metric][:CO_MOVEMENT_CHECKPOINTS]
            # successive differences: the learning trend cancels, the batches' ups and downs stay
            pairs = [(b.documented - a.documented, b.reproduced - a.reproduced) for a, b in zip(rows_, rows_[1:])]
            correlations.append(f"{compare.LABELS[metric]} {_correlation(pairs):.2f}" if len(pairs) > 2 else "")
        rows.append([name, era + (" (own)" if era == registry.load(name).era else ""), str(result.rows[0].seeds),
                     f"{result.inside}/{result.compared}", result.verdict, f"{difference:+.4f}",
                     "; ".join(c for c in correlations if c)])
    return rows


def era_change(fit: list[list[str]]) -> str:
    """One sentence: where the tutorial's own era changes the fit or the verdict, against the other eras."""
    own, *others = fit
    parts = []
    for other in others:
        verdict = (f"the verdict changes ({other[4]} under {other[1]}, {own[4]} under {own[1]})"
                   if other[4] != own[4] else f"the verdict is the same ({own[4]})")
        parts.append(f"against {other[1]}: {verdict}; inside {own[3]} against {other[3]}; early difference "
                     f"{own[5]} against {other[5]}; co-movement {own[6]} against {other[6]}")
    return f"{own[0]}, its own era {own[1].split()[0]}: " + "; ".join(parts) + "."


def _correlation(pairs: list[tuple[float, float]]) -> float:
    n = len(pairs)
    mx, my = sum(x for x, _ in pairs) / n, sum(y for _, y in pairs) / n
    sxy = sum((x - mx) * (y - my) for x, y in pairs)
    sxx, syy = sum((x - mx) ** 2 for x, _ in pairs), sum((y - my) ** 2 for _, y in pairs)
    return sxy / (sxx * syy) ** 0.5 if sxx and syy else float("nan")


def render(directory: Path, groups: dict, left_out: list[Path]) -> str:
    """REPORT.md's text from `collect`'s runs."""
    lines = ["# rnnmnist: documented vs reproduced", "",
             f"Generated by `python -m rnnmnist.report` from the {sum(len(g) for g in groups.values())} complete "
             f"runs in `{directory.name}/`; do not edit it by hand: the same command makes it again from the runs.", ""]
    summary, sections, pooled = [], [], {}
    compared: dict[tuple[str, tuple[str, ...]], list[tuple[str, compare.Comparison]]] = defaultdict(list)
    for key, runs in groups.items():
        curves, result, row, section = _group(directory, key, runs)
        pooled[key] = curves, result
        if key.implementation == "tf1":  # the eras of one implementation against each other
            compared[(key.variant, key.fixes)].append((key.era, result))
        summary.append(row)
        sections += section
    lines += [tabulate(summary, headers=SUMMARY_HEADERS, tablefmt="github", disable_numparse=True), ""]
    lines += _eras_against_each_other(compared)
    lines += _implementations_against_each_other(groups, pooled)
    if left_out:
        lines += [f"Left out: {len(left_out)} runs (truncated, interrupted, or an earlier run of a seed run again).", ""]
    # every run read, left-out ones too, so that rebuilding from this list gives this text
    used = sorted(f"{path.parent.name}/{path.name}" for path in [p for runs in groups.values() for p, _ in runs]
                  + left_out)
    return "\n".join(lines + sections + [RUNS_LINE.format(" ".join(used)), ""])


def _group(directory: Path, key: Key, runs: list[tuple[Path, dict]]
           ) -> tuple[list[Curve], compare.Comparison, list[str], list[str]]:
    """One group's curves and comparison, its summary row and its section: what it ran, the verdict, its plot, its
    runs."""
    name, fixes, era, implementation = key
    variant = registry.load(name)
    schedule = results.schedule_of(runs[0][1])
    curves, result = pooling.compared(name, fixes, [record for _, record in runs])
    title = group_title(*key)
    row = summary_row(title, schedule.describe(), str(len(runs)), result)
    section = [f"## {title}", "", f"{registry.describe(name)} Schedule: {schedule.describe()}; "
               f"tutorial: {variant.tutorial}; TensorFlow {era} behaviour"
               + (", the release the tutorial ran on" if era == variant.era else
                  f"; the tutorial ran on {variant.era}") + f" (alike here: {', '.join(eras.get(era).alike())}).", ""]
    section += _verdict(variant, fixes, result)
    if not result.compared:
        section += _last_reached(curves, runs)
    png = plot_name(*key)
    if (directory / png).exists():
        section += [f"![{title}]({png})", ""]
    else:
        section += ["No plot: `pip install matplotlib`, then `python -m rnnmnist.report`.", ""]
    return curves, result, row, section + _runs_table(runs)


def _verdict(variant: Variant, fixes: tuple[str, ...], result: compare.Comparison) -> list[str]:
    """What the runs are compared with, the verdict, the finding, and the checkpoints' tables."""
    lines = []
    if fixes:
        lines += [f"With fixes ({', '.join(fixes)}): not the tutorial's graph, so not compared with "
                  "its numbers.", ""]
    elif variant.reference:
        lines += [f"Reference: {variant.reference.source}.", ""]
    lines += [f"**Verdict: {compare.describe(result)}**.", ""]
    if variant.finding and not fixes:
        lines += [f"Finding: {variant.finding}", ""]
    if result.compared:
        lines += [compare.table(result), ""]
    for other, line in zip(result.also, compare.also_lines(result)):
        lines += [f"{line[:1].upper()}{line[1:]}.", ""] + ([compare.table(other), ""] if other.compared else [])
    return lines


def _last_reached(curves: list[list[Point]], runs: list[tuple[Path, dict]]) -> list[str]:
    """Nothing compared: the last accuracy each seed reached, if every one reached one."""
    last = _last_accuracies(curves)
    if not last:
        return []
    by_seed = sorted(zip([record["seed"] for _, record in runs], last[1]))  # paired in the curves' order
    return [f"Last accuracy reached ({last[0]}): " + ", ".join(f"{v:.4f} (seed {seed})" for seed, v in by_seed), ""]


def _runs_table(runs: list[tuple[Path, dict]]) -> list[str]:
    """The runs of a group, by seed: file, code, TensorFlow, CPU, wall time and the command typed."""
    body = [[path.name, record["seed"], code_of(record["provenance"]),
             record["provenance"]["tensorflow"], record["provenance"]["cpu"],
             f"{record['wall_time_s']:.0f} s", f"`{record.get('invoked_as') or '?'}`"]
            for path, record in sorted(runs, key=lambda r: r[1]["seed"])]
    # invoked as: what was typed (runs saved by a --jobs client before it stamped that say the worker's command)
    return ["Runs:", "", tabulate(body, headers=["file", "seed", "commit", "TensorFlow", "CPU", "wall time",
                                                 "invoked as"],
                                  tablefmt="github", disable_numparse=True), ""]


def _eras_against_each_other(compared: dict[tuple[str, tuple[str, ...]], list[tuple[str, compare.Comparison]]]
                             ) -> list[str]:
    """For each tutorial run under more than one era (without fixes): the fit per era, and what its own era changes."""
    fits = [fit for (name, fixes), results_by_era in compared.items() if not fixes and len(results_by_era) > 1
            for fit in [era_fit(name, results_by_era)]]
    if not fits:
        return []
    return ["## Each tutorial's own era against today's behaviour", "",
            "Inside: documented checkpoints inside the seeds' 95% band. Early difference: the mean of "
            "reproduced minus documented over the first 10 documented checkpoints. Co-movement: per metric, "
            f"the correlation of the documented numbers' successive differences with the seeds' mean's, over "
            f"the first {CO_MOVEMENT_CHECKPOINTS} checkpoints: the learning trend cancels, and what is left is "
            "the batches' ups and downs, which every seed shares when the first epoch comes in file order "
            "(TF 0.12 and 1.0), so that they can follow the documented ones step by step.", "",
            tabulate([row for fit in fits for row in fit],
                     headers=["variant", "TF", "seeds", "inside", "verdict", "early difference", "co-movement"],
                     tablefmt="github", disable_numparse=True), "",
            *(f"- {era_change(fit)}" for fit in fits), ""]


def _implementations_against_each_other(groups: dict[Key, list[tuple[Path, dict]]],
                                        pooled: dict[Key, tuple[list[Curve], compare.Comparison]]) -> list[str]:
    """For each tutorial with a Keras 3 version's seeds beside its TF1 graph's (no fixes, one era): each ensemble
    against the documented numbers, and the two against each other (`twoensembles`), from the curves and verdicts
    `render` already pooled."""
    lines = []
    for key in groups:
        others = [k for k in groups if k[:3] == key[:3] and k.implementation != "tf1"]
        if key.fixes or key.implementation != "tf1" or not others:
            continue
        rows = [_against_documented(k, pooled[k][1]) for k in (key, *others)]
        sizes = results.schedule_of(groups[key][0][1]).sample_sizes()
        notes = []
        for other in others:
            agreement = twoensembles.against_each_other(pooled[other][0], pooled[key][0], sizes)
            label = f"{implementation_label(other.implementation)} vs TF1 graph"
            rows.append([label, f"{agreement.seeds[0]} and {agreement.seeds[1]}", str(agreement.compared),
                         str(agreement.inside) if agreement.compared else "-", agreement.verdict])
            notes.append(f"- {label}: {twoensembles.describe(agreement)}" + _outside(agreement) + ".")
        lines += [f"## {group_title(*key[:3])}: TF1 graph and Keras 3", "",
                  "Each ensemble against the documented numbers (its verdict above), and the Keras 3 version's seeds "
                  "against the TF1 graph's: at each checkpoint that all their seeds measured, Welch's t test of the "
                  "two ensembles' means at 5%; more checkpoints outside than chance allows means they differ "
                  "(docs/verdicts.md).", "",
                  tabulate(rows, headers=["against", "seeds", "checkpoints", "inside", "verdict"],
                           tablefmt="github", disable_numparse=True), "", *notes, ""]
    return lines


def _against_documented(key: Key, result: compare.Comparison) -> list[str]:
    return [f"{implementation_label(key.implementation)} vs the documented numbers", str(result.runs),
            str(result.compared), str(result.inside) if result.compared else "-", result.verdict]


LISTED_OUTSIDE = 10  # checkpoints outside named under the table, at most


def _outside(agreement: twoensembles.Agreement) -> str:
    """The checkpoints where the means differ by more than the band: `; outside: batch accuracy @ step 120 (0.81
    against 0.9), ...`."""
    outside = agreement.outside
    if not outside:
        return ""
    named = ", ".join(f"{compare.LABELS.get(r.metric, r.metric)} @ "
                      f"{'epoch' if r.metric in compare.EPOCH_METRICS else 'step'} {r.at} "
                      f"({r.mean_a:.4g} against {r.mean_b:.4g})" for r in outside[:LISTED_OUTSIDE])
    more = f" and {len(outside) - LISTED_OUTSIDE} more" if len(outside) > LISTED_OUTSIDE else ""
    return f"; outside: {named}{more}"


def _last_accuracies(curves: list[list[Point]]) -> tuple[str, list[float]] | None:
    last = [[p for p in c if p.metric in compare.ACCURACIES][-1:] for c in curves]
    if not all(last):
        return None
    p = last[0][0]
    return f"{compare.LABELS[p.metric]} @ {p.at}", [pts[0].value for pts in last]


def plots(directory: Path, groups: dict) -> list[Path]:
    """One PNG per variant: each seed's curve, the verdict's band, the documented numbers as markers."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for key, runs in groups.items():
        fig = plotting.figure(key.variant, key.fixes, [record for _, record in runs], title=group_title(*key))
        path = directory / plot_name(*key)
        results.replace_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90, metadata={"Software": None}))
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    from .usage import Parser
    p = Parser(prog="python -m rnnmnist.report",
               description=f"DIR/{REPORT} (and one plot per variant) from the runs saved under --results DIR alone")
    p.add_argument("--results", type=Path, default=places.RUNS, metavar="DIR",
                   help=f"the runs to report on, and where the report goes (default: {places.RUNS}/, where runs go; "
                        f"the committed report is regenerated with --results {places.EVIDENCE})")
    args = p.parse_args(argv)
    if not args.results.is_dir():  # checked before the runs are read: nothing written, one line
        p.error(f"--results {args.results} is a file; give the directory the runs were saved in" if args.results.exists()
                else f"--results {args.results}: no such directory; give the directory the runs were saved in "
                     f"(python -m rnnmnist.reproduce saves them in {places.RUNS}/)")
    try:
        places.check_writable(args.results, "")
    except OSError as e:
        p.error(f"cannot write the report to --results {args.results} ({e.strerror or e}); give a writable directory")
    try:
        groups, left_out = collect(args.results)  # every run read and checked once
        try:
            written = plots(args.results, groups)
        except ImportError:
            written = []
            print("matplotlib is not installed: no plots (pip install matplotlib)", file=sys.stderr)
        text = render(args.results, groups, left_out)
    except results.ResultsError as e:
        print(f"rnnmnist.report: error: {e}", file=sys.stderr)
        return 1
    target = args.results / REPORT
    results.replace_atomically(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    for path in written:
        print(f"wrote {path}")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
