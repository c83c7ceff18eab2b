"""Which processor a run was made on, as far as its arithmetic goes.

The same seed gives the same bits only where TensorFlow runs the same kernels, and it picks them
by instruction set: "AMD EPYC" names several generations, with and without AVX-512, whose last
bits differ (issue #12: static-split's loss at step 70, 0.7981396317 on one, 0.7981395721 on the
other). So a run records its CPU's vendor and instruction-set flags, and two runs are compared bit
for bit only when those, the library versions and the intra-op thread count all match.
"""
from __future__ import annotations

import platform
import re
from pathlib import Path
from typing import Any, Mapping

# /proc/cpuinfo flags that name instructions a kernel may be compiled for (SIMD widths, FMA,
# bit manipulation, crypto); the rest (hypervisor, tsc, bug workarounds) vary between hosts of
# one CPU and change no result.
_ISA = re.compile(r"(mmx\w*|sse\w*|ssse3|pni|avx\w*|fma\w*|f16c|amx\w*|bmi\d|adx|abm|lzcnt|popcnt|movbe|aes|vaes"
                  r"|v?pclmulqdq|gfni|sha_ni|xop|3dnow\w*)")


def _cpuinfo(cpuinfo: str | None = None) -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return {}
    fields: dict[str, str] = {}
    for line in cpuinfo.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


def identity(cpuinfo: str | None = None) -> dict[str, Any]:
    """The CPU's model name (for people), vendor and instruction-set flags (for comparing bits)."""
    fields = _cpuinfo(cpuinfo)
    flags = fields.get("flags", "").split()
    return {"cpu": fields.get("model name") or platform.processor() or platform.machine(),
            "cpu_vendor": fields.get("vendor_id"),
            "cpu_isa": sorted(f for f in flags if _ISA.fullmatch(f)) or None}


def bitwise_comparable(here: Mapping[str, Any], there: Mapping[str, Any]) -> str | None:
    """None if runs with these provenances give the same bits for the same seed; else why not.

    Both are run provenances (`results.provenance`): the CPU identity above, the TensorFlow and
    NumPy versions, and the session's intra-op thread count (it splits reductions).
    """
    if not there.get("cpu_isa"):
        return "the other run recorded no instruction-set flags (it was made before they were recorded)"
    if not here.get("cpu_isa"):
        return "this machine's instruction-set flags are unknown (no /proc/cpuinfo)"
    if here.get("cpu_vendor") != there.get("cpu_vendor"):
        return f"CPU vendor {there.get('cpu_vendor')} there, {here.get('cpu_vendor')} here"
    if here["cpu_isa"] != there["cpu_isa"]:
        only_there = sorted(set(there["cpu_isa"]) - set(here["cpu_isa"]))
        only_here = sorted(set(here["cpu_isa"]) - set(there["cpu_isa"]))
        return (f"other instruction sets (there only: {', '.join(only_there) or 'none'}; "
                f"here only: {', '.join(only_here) or 'none'})")
    for key in ("tensorflow", "numpy"):
        if here.get(key) != there.get(key):
            return f"{key} {there.get(key)} there, {here.get(key)} here"
    threads_here = (here.get("session_threads") or {}).get("intra_op")
    threads_there = (there.get("session_threads") or {}).get("intra_op")
    if threads_here != threads_there:
        return f"{threads_there} intra-op threads there, {threads_here} here"
    return None


def count() -> int:
    """The cores this process may use: its CPU affinity and its cgroup's CPU quota, not the machine's
    total (a container given 2 of 64 cores must not start 64-thread pools). Dask's count does exactly this."""
    from dask.system import cpu_count
    return cpu_count()


def session_threads(inter_op: int = 0) -> dict[str, int]:
    """A session's thread pools: intra-op one (it splits reductions, so it changes last bits; fixed, a seed
    gives the same curve on any core count), inter-op as given (0: one per core; it changes no bit)."""
    return {"intra_op": 1, "inter_op": inter_op or count()}
