"""Which saved runs are seeds of one ensemble: the one rule `ensemble`, `load_ensembles`, the report and
the command line pool by.

Runs pool only as one recipe: the same variant, fixes, era (by behaviour: eras that give the same bits
here are one), schedule (a truncated run pools only with runs cut at the same step) and implementation
(the TF1 graph, its Keras 3 version on one backend or another: never seeds of one ensemble). Interrupted runs
are never seeds. A seed run more than once counts once, as its latest complete run: the same seed gives
the same curve, and counted twice it would fake a narrower band.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, TypeVar

from . import compare, eras, registry, results

T = TypeVar("T")


@dataclass(frozen=True)
class Recipe:
    """What must agree for runs to be seeds of one ensemble."""
    variant: str
    fixes: tuple[str, ...]
    behaviour: tuple       # eras.Era.behaviour: what the era changes in a run here
    schedule: str          # the record's schedule as canonical JSON: steps, batch, cadence
    truncated: bool
    implementation: str = "tf1"  # tf1, keras, keras-jax (results.implementation_name); records before Keras: tf1


def recipe_of(record: dict[str, Any]) -> Recipe:
    return Recipe(record["variant"], tuple(record.get("fixes", ())), eras.get(results.era_name(record)).behaviour,
                  json.dumps(record["schedule"], sort_keys=True), record["truncated"],
                  results.implementation_name(*results.implementation_of(record)))


@dataclass
class Pool(Generic[T]):
    """One recipe's seeds (one item per seed, in the order given) and what was left out, with why."""
    recipe: Recipe
    seeds: list[T] = field(default_factory=list)
    left_out: list[tuple[T, str]] = field(default_factory=list)


INTERRUPTED_WHY = "interrupted: not a seed"


def pools(items: Iterable[T], record_of: Callable[[T], dict[str, Any]]) -> tuple[list[Pool[T]], list[tuple[T, str]]]:
    """`items` (oldest first) pooled by recipe, the latest complete run of each seed; and the interrupted ones."""
    items = list(items)
    by_recipe: dict[Recipe, Pool[T]] = {}
    latest: dict[tuple[Recipe, int], int] = {}  # (recipe, seed) -> index of its latest complete run
    interrupted: list[tuple[T, str]] = []
    for i, item in enumerate(items):
        record = record_of(item)
        if record["status"] != results.COMPLETE:
            interrupted.append((item, INTERRUPTED_WHY))
            continue
        recipe = recipe_of(record)
        pool = by_recipe.setdefault(recipe, Pool(recipe))
        key = (recipe, record["seed"])
        if key in latest:
            pool.left_out.append((items[latest[key]], f"seed {record['seed']} run again: its latest complete run "
                                                      "counts"))
        latest[key] = i
    for (recipe, _), i in sorted(latest.items(), key=lambda kv: kv[1]):
        by_recipe[recipe].seeds.append(items[i])
    return list(by_recipe.values()), interrupted


def differences(pooled: list[Pool[T]], record_of: Callable[[T], dict[str, Any]]) -> str:
    """What differs between recipes, in words: `era: 0.12 (3 runs), 1.2 (2 runs); ...`."""
    def described(record: dict[str, Any]) -> dict[str, str]:
        schedule = results.schedule_of(record)
        return {"variant": record["variant"], "fixes": ", ".join(record.get("fixes", ())) or "none",
                "era": "TF " + " = ".join(eras.get(results.era_name(record)).alike()),
                "schedule": f"{len(schedule.steps)} of {record['steps_total']} steps"
                            + (" (truncated)" if record["truncated"] else ""),
                "implementation": results.implementation_name(*results.implementation_of(record))}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pool in pooled:
        for item in pool.seeds + [x for x, _ in pool.left_out]:
            for key, value in described(record_of(item)).items():
                counts[key][value] += 1
    return "; ".join(f"{key}: " + ", ".join(f"{value} ({n} run{'s' * (n > 1)})" for value, n in values.items())
                     for key, values in counts.items() if len(values) > 1)


def compared(name: str, fixes: tuple[str, ...], records: list[dict]):
    """Seeds' records against the documented numbers (none with fixes: not the tutorial's graph): curves, comparison.
    Over a cut schedule, the verdict says so."""
    curves = [results.curve_of(record) for record in records]
    reference = None if fixes else registry.load(name).reference
    schedule = results.schedule_of(records[0])
    result = compare.ensemble(curves, reference, schedule.sample_sizes())
    return curves, compare.over_schedule(result, len(schedule.steps), records[0]["steps_total"])
