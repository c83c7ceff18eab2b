"""A curve read back from a file: the lines a tutorial's own loop printed, or a CSV of step and metric columns.

No parser is written per variant. The reader of a tutorial's lines is derived from its own
`print_event`: each kind of event its loop prints (a step, an epoch, the end) is rendered with
sentinel values, the rendered lines are cut into text and numbers, and rendering again with one
value changed at a time shows which number is which value and how it is printed (an affine map:
`Iter 1280` is step 10 times the batch of 128, `Iter0` is epoch 1 minus 1, an accuracy is printed
as itself). A number that changes with nothing is part of the text (`Epoch: 003/005`'s 005).
Where a tutorial prints no step counter (morvan prints a bare accuracy), the n-th such line is the
schedule's n-th checkpoint; the n-th epoch line is epoch n.

Lines that match none of the tutorial's lines (TensorFlow's warnings, "Extracting ...", blank ones)
are skipped. Whitespace at either end of a line, and the width of runs of spaces, do not count.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .compare import ACCURACIES, EPOCH_METRICS, LABELS
from .curve import BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS, FINAL_TEST_ACCURACY, Point
from .spec import EPOCH, FINAL, STEP, Event, Schedule, Variant

METRICS = tuple(LABELS)  # every metric rnnmnist names, as a CSV's columns may
SD_COLUMN = EPOCH_MEAN_LOSS + "_sd"  # a CSV's spread of the losses each epoch mean averages (its band needs it)

# A printed number: 1280, 0.35938, 001, 1e-05, -0.5, nan (not the "inf" inside "information")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|(?<![A-Za-z])[-+]?(?:nan|inf)(?![A-Za-z])")
# sentinels: printed exactly by every format the tutorials use (%.3f, {:.6f}, str of a float32)
AT_SENTINELS = (3, 5, 11)
VALUE_SENTINELS = (0.25, 0.75, 0.5)


class CurveFileError(ValueError):
    """A file no curve can be read from, with one line that says what was wrong."""


@dataclass(frozen=True)
class Slot:
    """One printed number of a line: `what` is "at", a metric, or None (text that never changes)."""
    what: str | None
    scale: Fraction = Fraction(1)
    offset: Fraction = Fraction(0)
    text: str = ""  # the constant's text, for what=None


@dataclass(frozen=True)
class LineShape:
    kind: str             # STEP, EPOCH or FINAL
    index: int            # which of the event's lines
    pieces: tuple[str, ...]  # the text around the numbers (one more than the slots)
    slots: tuple[Slot, ...]


@dataclass
class Reading:
    """What a file held: its points, how far it got, and what was made of it."""
    points: list[Point]
    form: str                 # "printed lines" or "CSV"
    steps_reached: int        # updates the log shows were done (the schedule's count, not the counter)
    complete: bool            # it reached the tutorial's last printed line
    last: str = ""            # where it ends, in words: "step 400", "epoch 3"
    skipped: int = 0          # lines that were none of the tutorial's
    # (metric, at) -> half the last digit it was printed with (none for a CSV: its numbers are taken as given)
    resolution: dict[tuple[str, int], float] = field(default_factory=dict)


def split(line: str) -> tuple[tuple[str, ...], list[str]]:
    """A line's text pieces and its numbers, whitespace normalised."""
    line = " ".join(line.split())
    return tuple(NUMBER.split(line)), NUMBER.findall(line)


def _values(schedule: Schedule, kind: str, value: float) -> dict[str, object]:
    """Every value an event of this kind carries, as the runner passes them (float32 from the session)."""
    if kind == STEP:
        metrics = schedule.batch_metrics
    elif kind == EPOCH:
        metrics = ((EPOCH_MEAN_LOSS,) if schedule.epoch_mean_loss else ()) + schedule.epoch_eval
    else:
        metrics = (FINAL_TEST_ACCURACY,) if schedule.final_test_images else ()
    return {m: _typed(m, value) for m in metrics}


def _typed(metric: str, value: float):
    """A value as the runner passes it to print_event: an epoch's mean loss a Python float, the rest float32."""
    return float(value) if metric == EPOCH_MEAN_LOSS else np.float32(value)


def kinds(schedule: Schedule) -> tuple[str, ...]:
    """The events a schedule's loop emits."""
    return tuple(k for k, emitted in ((STEP, schedule.batch_metrics and schedule.every),
                                      (EPOCH, schedule.steps_per_epoch), (FINAL, True)) if emitted)


def _affine(pairs: list[tuple[float, str]]) -> tuple[Fraction, Fraction] | None:
    """printed = scale * value + offset through the first two renders, checked on the third."""
    (x0, t0), (x1, t1), (x2, t2) = [(Fraction(x), Fraction(t)) for x, t in pairs]
    scale = (t1 - t0) / (x1 - x0)
    if scale == 0:
        return None
    offset = t0 - scale * x0
    return (scale, offset) if abs(scale * x2 + offset - t2) <= abs(scale) * Fraction(1, 1000) else None


def shapes(variant: Variant) -> list[LineShape]:
    """Every line the variant's loop prints, as text pieces and numbers that are values: from its print_event."""
    schedule, found = variant.schedule, []
    for kind in kinds(schedule):
        base_values = _values(schedule, kind, VALUE_SENTINELS[0])
        base = variant.print_event(Event(kind, AT_SENTINELS[0], base_values))
        # one factor changed at a time: the step counter, then each value
        factors = {"at": [variant.print_event(Event(kind, at, base_values)) for at in AT_SENTINELS]}
        for metric in base_values:
            factors[metric] = [variant.print_event(Event(kind, AT_SENTINELS[0], {**base_values, metric: _typed(metric, v)}))
                               for v in VALUE_SENTINELS]
        for index, line in enumerate(base):
            found.append(_shape(variant.name, kind, index, line, factors))
    return found


def _shape(name: str, kind: str, index: int, line: str, factors: dict[str, list[list[str]]]) -> LineShape:
    pieces, numbers = split(line)
    slots = []
    for i, number in enumerate(numbers):
        moved = []
        for what, renders in factors.items():
            texts = []
            for render in renders:
                other_pieces, other_numbers = split(render[index])
                if other_pieces != pieces:
                    raise ValueError(f"{name}: its {kind} line {index + 1} changes its text with {what}: it cannot "
                                     "be read back generically")
                texts.append(other_numbers[i])
            if len(set(texts)) > 1:
                sentinels = AT_SENTINELS if what == "at" else VALUE_SENTINELS
                fit = _affine(list(zip(sentinels, texts)))
                if fit is None:
                    raise ValueError(f"{name}: its {kind} line {index + 1} prints {what} in a way not linear")
                moved.append(Slot(what, *fit))
        if len(moved) > 1:
            raise ValueError(f"{name}: one number of its {kind} line {index + 1} depends on several values")
        slots.append(moved[0] if moved else Slot(None, text=number))
    return LineShape(kind, index, pieces, tuple(slots))


def half_unit(text: str) -> float:
    """Half the last digit a number was printed with: how far the printed number may be from the value."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def _match(shape: LineShape, pieces: tuple[str, ...], numbers: list[str]) -> dict[str, tuple[float, float]] | None:
    """The values a log line carries if it is this shape's line, each with its print's half unit; else None."""
    if pieces != shape.pieces or len(numbers) != len(shape.slots):
        return None
    values: dict[str, tuple[float, float]] = {}
    for slot, text in zip(shape.slots, numbers):
        if slot.what is None:
            if text != slot.text:
                return None
        elif slot.what == "at":
            at = (Fraction(text) - slot.offset) / slot.scale if "." not in text and "e" not in text.lower() else None
            if at is None or at.denominator != 1:
                return None
            values["at"] = (int(at), 0.0)
        else:
            value = float(text) if slot.scale == 1 and slot.offset == 0 else float((float(text) - slot.offset)
                                                                                  / slot.scale)
            if slot.what in ACCURACIES and not 0 <= value <= 1:  # not an accuracy: some other line's number
                return None
            values[slot.what] = (value, half_unit(text) / float(abs(slot.scale)))
    return values


def from_lines(variant: Variant, lines: list[str]) -> Reading:
    """The tutorial's printed lines among `lines`, as points. CurveFileError if there is none, or more than one run."""
    known = shapes(variant)
    events: list[tuple[str, dict[str, tuple[float, float]]]] = []
    skipped, expect = 0, None  # expect: (kind, index) the next line of the current event would be
    for line in lines:
        pieces, numbers = split(line)
        for shape in known:
            values = _match(shape, pieces, numbers)
            if values is not None:
                break
        else:
            skipped += bool(line.strip())
            continue
        if shape.index == 0:
            events.append((shape.kind, values))
        elif expect == (shape.kind, shape.index):
            events[-1][1].update(values)
        else:  # the rest of an event whose first line is not in the file: whose it is cannot be known
            skipped += 1
            continue
        expect = (shape.kind, shape.index + 1)
    reading = _reading(variant, events, skipped)
    if not reading.points:
        raise CurveFileError("none of its lines is one the tutorial's loop prints")
    return reading


def _reading(variant: Variant, events: list[tuple[str, dict[str, tuple[float, float]]]], skipped: int) -> Reading:
    schedule = variant.schedule
    checkpoints, seen, points, resolution = schedule.checkpoints(), set(), [], {}
    counts = {STEP: 0, EPOCH: 0, FINAL: 0}
    for kind, values in events:
        values = dict(values)
        at = values.pop("at", (None, 0.0))[0]
        if at is None:  # not printed: the n-th line of its kind is the n-th checkpoint or epoch
            n = counts[kind]
            if kind == STEP and n >= len(checkpoints):
                raise CurveFileError(f"more step lines than the {len(checkpoints)} the tutorial prints: one run "
                                     "per file")
            at = checkpoints[n] if kind == STEP else n + 1 if kind == EPOCH else schedule.steps[-1]
        counts[kind] += 1
        if kind == FINAL:
            at = schedule.steps[-1]
        if (kind, at) in seen:
            raise CurveFileError(f"{'epoch' if kind == EPOCH else 'step'} {at} is printed twice: one run per file")
        seen.add((kind, at))
        points += [Point(metric, at, value) for metric, (value, _) in values.items()]
        resolution.update({(metric, at): half for metric, (_, half) in values.items()})
    prints_final = bool(variant.print_event(Event(FINAL, schedule.steps[-1], _values(schedule, FINAL, 0.5))))
    complete = counts[FINAL] > 0 if prints_final else None
    reading = _reached(schedule, points, "printed lines", skipped, complete)
    reading.resolution = resolution
    return reading


def _reached(schedule: Schedule, points: list[Point], form: str, skipped: int = 0,
             complete: bool | None = None) -> Reading:
    """How far the points go in the schedule. Complete: the tutorial's closing line is there, where it prints
    one (`complete` says); else its final number, or its last step or epoch line."""
    reached, last = 0, ""
    epochs = [p.at for p in points if p.metric in EPOCH_METRICS]
    if epochs and schedule.steps_per_epoch:
        reached, last = max(epochs) * schedule.steps_per_epoch, f"epoch {max(epochs)}"
    batch = [p.at for p in points if p.metric in (BATCH_ACCURACY, BATCH_LOSS)]
    if batch:
        at = max(batch)
        counted = schedule.steps.index(at) + 1 if at in schedule.steps else at
        if counted >= reached:
            reached, last = counted, f"step {at}"
    if complete is None:
        complete = any(p.metric == FINAL_TEST_ACCURACY for p in points) or reached >= _last_printed(schedule)
    total = len(schedule.steps)
    return Reading(points, form, total if complete else min(reached, total), complete, last, skipped)


def _last_printed(schedule: Schedule) -> int:
    """The updates done when the tutorial's loop prints its last step or epoch line."""
    checkpoints = schedule.checkpoints()
    if schedule.steps_per_epoch or not checkpoints:
        return len(schedule.steps)
    return schedule.steps.index(checkpoints[-1]) + 1


def from_csv(schedule: Schedule, text: str) -> Reading:
    """A CSV with a header row: `step` and/or `epoch`, and metric columns named as rnnmnist names them."""
    rows = list(csv.reader(io.StringIO(text), dialect=_dialect(text)))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    header = [cell.strip().lower() for cell in rows[0]]
    metrics = [m for m in METRICS if m in header]
    if not metrics:
        raise CurveFileError(f"its CSV columns ({', '.join(header)}) name no metric rnnmnist knows")
    points = []
    for number, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, (cell.strip() for cell in row)))
        for metric in metrics:
            if not cells.get(metric):
                continue  # a metric measured at other rows
            key = "epoch" if metric in EPOCH_METRICS else "step"
            if not cells.get(key):
                raise CurveFileError(f"row {number}: {metric} needs a {key} column with a value")
            at, value = _number(cells[key], number, key), _number(cells[metric], number, metric)
            sd = _number(cells[SD_COLUMN], number, SD_COLUMN) if metric == EPOCH_MEAN_LOSS and cells.get(SD_COLUMN) \
                else None
            if at != int(at):
                raise CurveFileError(f"row {number}: {key} {cells[key]} is not a whole number")
            points.append(Point(metric, int(at), value, sd))
    if not points:
        raise CurveFileError("its CSV has a header but no values")
    keys = [(p.metric, p.at) for p in points]
    if len(set(keys)) < len(keys):
        raise CurveFileError("a metric appears twice at one step: one run per file")
    return _reached(schedule, points, "CSV")


def _number(text: str, row: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CurveFileError(f"row {row}: {column} {text!r} is not a number") from None


def _dialect(text: str):
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    return csv.excel_tab if "\t" in first and "," not in first else csv.excel


def looks_like_csv(text: str) -> bool:
    """Its first non-blank line is a header with a step or epoch column."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    cells = [cell.strip().strip('"').lower() for cell in re.split(r"[,\t]", first)]
    return len(cells) > 1 and bool({"step", "epoch"} & set(cells))


def decode(data: bytes) -> str:
    """A log's text: UTF-8 (or UTF-16 with its mark, as Windows' PowerShell writes `>`); binary refused."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                break
    if b"\0" in data:
        raise CurveFileError("a binary file, not text")
    return data.decode("utf-8", errors="replace")


def read(variant: Variant, path: Path) -> Reading:
    """The curve a file holds, for this variant. CurveFileError with one line if there is none."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise CurveFileError("a directory, not a file") from None
    except FileNotFoundError:
        raise CurveFileError("no such file") from None
    except OSError as e:
        raise CurveFileError(f"cannot be read ({e.strerror or e})") from None
    text = decode(data)
    if not text.strip():
        raise CurveFileError("empty")
    if looks_like_csv(text):
        return from_csv(variant.schedule, text)
    return from_lines(variant, text.splitlines())


def example(variant: Variant) -> str:
    """The first line the tutorial's loop prints with a number in it, at its first checkpoint: for messages."""
    schedule = variant.schedule
    for kind in kinds(schedule):
        at = (schedule.checkpoints() or [schedule.steps[0]])[0] if kind == STEP else 1
        for line in variant.print_event(Event(kind, at, _values(schedule, kind, 0.25))):
            if NUMBER.search(line):
                return line.strip()
    return ""


def formats(variant: Variant) -> str:
    """What `read` reads, in words, for the one line a bad file gets."""
    return (f"it reads the lines {variant.name}'s own loop printed (e.g. `{example(variant)}`) or a CSV with a header "
            f"row of step (or epoch) and metric columns ({', '.join(METRICS)})")


def printed(variant: Variant, points: list[Point], complete: bool = True) -> list[str]:
    """The lines the tutorial's loop printed for these points (the inverse of `from_lines`)."""
    schedule, events = variant.schedule, {}
    for p in points:
        kind = EPOCH if p.metric in EPOCH_METRICS else FINAL if p.metric == FINAL_TEST_ACCURACY else STEP
        events.setdefault((kind, p.at), {})[p.metric] = p.value
    if complete:
        events.setdefault((FINAL, schedule.steps[-1]), {})
    order = {STEP: 0, EPOCH: 1, FINAL: 2}

    def when(key):  # an epoch's lines come after its last step's
        kind, at = key
        step = (at * schedule.steps_per_epoch - 1) if kind == EPOCH else len(schedule.steps)
        return (schedule.steps.index(at) if kind == STEP and at in schedule.steps else step, order[kind])
    lines = []
    for (kind, at), values in sorted(events.items(), key=lambda kv: when(kv[0])):
        lines += variant.print_event(Event(kind, at, {m: _typed(m, v) for m, v in values.items()}))
    return lines
