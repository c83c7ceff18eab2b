"""One training run: its plan, the curve it produced, how that compares, and where it ran.

`Run.finished` makes one from a plan and a curve; `to_record()` is the document that is saved, and
`from_record()` reads it back into the same Run, field for field (tests/test_run.py). A record saved
before the request was recorded in it is read back with a request rebuilt from its fields, and today's
tutorial text and hyperparameters.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import compare, eras, registry, results
from .plan import Plan
from .request import RunRequest
from .curve import Curve, Point


@dataclass
class Run:
    """One training run: what was asked and planned, what it printed and measured, and how it compares."""
    plan: Plan
    curve: Curve
    comparison: compare.Comparison
    provenance: dict[str, Any]     # the machine and software it trained on (results.provenance)
    invoked_as: str | None = None  # what was typed, stamped by the process it was typed to
    path: Path | None = None       # where it was saved, once saved

    @classmethod
    def finished(cls, plan: Plan, curve: Curve, provenance: dict[str, Any], invoked_as: str | None) -> "Run":
        """A run's comparison with its tutorial's numbers, over the steps it ran."""
        return cls(plan, curve, _compared(plan, curve.points), provenance, invoked_as)

    @property
    def request(self) -> RunRequest:
        return self.plan.request

    @property
    def points(self) -> list[Point]:
        return self.curve.points

    @property
    def record(self) -> dict[str, Any]:
        """The document that is saved (`to_record()`)."""
        return self.to_record()

    @property
    def verdict(self) -> str:
        return self.comparison.verdict

    @property
    def comparisons(self) -> tuple[compare.Comparison, ...]:
        """The verdict's comparison first, then those with other documented numbers of the same recipe."""
        return (self.comparison, *self.comparison.also)

    @property
    def interrupted(self) -> str | None:
        return self.curve.interrupted

    def to_record(self) -> dict[str, Any]:
        """The run as the JSON document that is saved: every field results.REQUIRED names, and more."""
        p, c = self.plan, self.curve
        document = {
            "schema": results.SCHEMA, "variant": p.variant.name, "tutorial": p.variant.tutorial,
            "seed": p.request.seed, "status": results.INTERRUPTED if c.interrupted else results.COMPLETE,
            "interrupted_by": c.interrupted, "fixes": list(p.request.fixes),
            "request": p.request.to_dict(),                # as asked, whole: from_record reads it back
            "command": results.redo_command(p.request),    # this one run, on its own
            "invoked_as": self.invoked_as,                 # what was typed (a --seeds 5 --jobs 2 line, a Python call)
            "truncated": p.truncated, "steps_run": c.steps_run, "steps_total": p.steps_total,
            "schedule": results.to_jsonable(p.schedule), "hyperparameters": dict(p.variant.hyperparameters),
            "wall_time_s": round(c.wall_time_s, 3), "train_time_s": round(c.train_time_s, 3),
            "curve": [results.to_jsonable(pt) for pt in c.points],
            "comparison": dict(_summary(self.comparison), also=[_summary(other) for other in self.comparison.also]),
            "checkpoint": c.checkpoint,
            "checkpoint_sha256": c.checkpoint_sha256,  # restore refuses a checkpoint that is not this run's
            # the era and every behaviour it sets; whether the original run could be repeated
            "era": dict(p.era.to_dict(), own=p.own_era, reproducible_then=p.era.reproducible),
            "provenance": self.provenance,
        }
        if c.events is not None:
            document["tensorboard"] = c.events
        return document

    @classmethod
    def from_record(cls, record: dict[str, Any], path: Path | None = None) -> "Run":
        """A saved run as the Run that wrote it, compared again with today's documented numbers."""
        request = RunRequest.from_dict(record["request"]) if "request" in record else _request_before(record, path)
        threads = record["provenance"].get("session_threads") or {}
        plan = Plan(request, registry.load(record["variant"]), results.schedule_of(record),
                    eras.get(results.era_name(record)), threads.get("inter_op", 0))
        curve = Curve(results.curve_of(record), record["steps_run"], record["wall_time_s"],
                      record.get("train_time_s", 0.0), record.get("interrupted_by"), record.get("checkpoint"),
                      record.get("checkpoint_sha256"), record.get("tensorboard"))
        return cls(plan, curve, _compared(plan, curve.points), record["provenance"], record.get("invoked_as"), path)

    def with_invoked_as(self, command: str | None) -> "Run":
        """The same run, stamped with what was typed: a --jobs client's command, not its worker's."""
        return replace(self, invoked_as=command)

    def metrics(self) -> list[str]:
        return sorted({p.metric for p in self.points})

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """One metric's curve: the steps (or epochs) it was measured at, and its values."""
        points = [p for p in self.points if p.metric == name]
        if not points:
            raise KeyError(f"{name!r}: this run measured {', '.join(self.metrics())}")
        return [p.at for p in points], [p.value for p in points]

    def save(self, out: Path | str | None = None) -> Path:
        """Write the run under out/<variant>/ (default: the request's `out`, else runs/), atomically."""
        from .places import RUNS
        self.path = results.save(self.to_record(), Path(out or self.request.out or RUNS))
        return self.path

    def summary(self) -> list[str]:
        """What the command line prints after the tutorial's own lines."""
        c, steps, total = self.curve, self.curve.steps_run, len(self.plan.schedule.steps)
        lines = [""]
        if self.interrupted:
            last = self.plan.schedule.steps[steps - 1] if steps else None
            lines.append(f"INTERRUPTED ({self.interrupted}) after {steps} of {total} steps"
                         + (f" (last finished step {last})" if last is not None else "")
                         + ": saving what it finished as an interrupted run")
        lines.append(f"{self.plan.variant.name}: {steps} steps in {c.wall_time_s:.1f} s "
                     f"({c.train_time_s / max(steps, 1) * 1000:.0f} ms/step)"
                     + (" [TRUNCATED run]" if self.plan.truncated else ""))
        if self.request.fixes:
            lines.append(f"with fixes: {', '.join(self.request.fixes)}: this is not the tutorial's graph")
        if self.comparison.reference and self.comparison.compared:
            lines += [f"reference: {self.comparison.reference}", *compare.table(self.comparison).splitlines()]
        partial = "interrupted run, over the checkpoints it reached: " if self.interrupted else ""
        lines.append(f"verdict: {partial}{compare.describe(self.comparison)}")
        return lines + compare.also_lines(self.comparison)

    def _repr_markdown_(self) -> str:
        head = (f"**{self.request.title}**, seed {self.request.seed}: {self.curve.steps_run} of "
                f"{self.plan.steps_total} steps" + (f", interrupted ({self.interrupted})" if self.interrupted else ""))
        table = f"\n\nReference: {self.comparison.reference}\n\n{compare.table(self.comparison)}" \
            if self.comparison.compared else ""
        also = "".join(f"\n{line}\n" for line in compare.also_lines(self.comparison))
        return f"{head}{table}\n\n**verdict: {compare.describe(self.comparison)}**\n{also}"

    def __repr__(self) -> str:
        return (f"Run({self.request.title!r}, seed={self.request.seed}, steps={self.curve.steps_run}, "
                + (f"interrupted={self.interrupted!r}, " if self.interrupted else "")
                + ("truncated=True, " if self.plan.truncated else "") + f"verdict={self.verdict!r})")

    def plot(self, ax=None):
        """Each metric's curve against the documented numbers (matplotlib; `pip install -e ".[plot]"`)."""
        from . import plotting
        return plotting.draw(self.request.variant, self.request.fixes, [self.to_record()], ax=ax)


def _compared(plan: Plan, points: list[Point]) -> compare.Comparison:
    """The run's numbers against its tutorial's; a verdict over a cut schedule says so."""
    result = compare.compare(points, plan.reference, plan.schedule.sample_sizes())
    return compare.over_schedule(result, len(plan.schedule.steps), plan.steps_total)


def _summary(comparison: compare.Comparison) -> dict[str, Any]:
    """What a record keeps of a comparison: enough to read its verdict without rnnmnist."""
    return {"reference": comparison.reference, "verdict": comparison.verdict, "reason": comparison.reason,
            "compared": comparison.compared, "inside": comparison.inside,
            "allowed_outside": comparison.allowed_outside}


def _request_before(record: dict[str, Any], path: Path | None) -> RunRequest:
    """The request of a record saved before requests were recorded whole: its variant, seed, cut, fixes, era."""
    variant = registry.load(record["variant"])
    era = results.era_name(record)
    return RunRequest(record["variant"], record["seed"],
                      steps=record["schedule"]["steps"]["stop"] - record["schedule"]["steps"]["start"]
                      if record["truncated"] else None,
                      fixes=tuple(record.get("fixes", ())), out=path.parent.parent if path else None,
                      era=None if era == variant.era else era)
