"""The CPU time the whole machine spends, for the benchmarks: how much work a step is, whoever does it
(this process, the workers, PostgreSQL, Redis). Divided by the machine's cores it bounds the step's
time from below however the work is shared out: two workers on two cores that PostgreSQL shares cannot
finish sooner than the machine's CPU seconds over two."""

from __future__ import annotations

import os
from pathlib import Path

STAT = Path("/proc/stat")
# /proc/stat's "cpu" line: user nice system idle iowait irq softirq steal guest guest_nice, in clock
# ticks. Work is user, nice, system, irq and softirq: not idle or iowait, and not steal, the time a
# virtual machine's core waited for its host (guest time is already counted in user).
BUSY_FIELDS = (0, 1, 2, 5, 6)


def machine_seconds() -> float | None:
    """CPU seconds the machine's cores have been busy since boot; None where there is no /proc/stat."""
    try:
        first = STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    ticks = [int(value) for value in first[1:]]
    return sum(ticks[index] for index in BUSY_FIELDS if index < len(ticks)) / os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float | None:
    """CPU seconds (user and system) a live process has used; None once it is gone or on no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may hold spaces; utime and stime are the 14th and 15th fields.
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def since(start: float | None) -> float | None:
    now = machine_seconds()
    return None if start is None or now is None else now - start


def bound(cpu_seconds: float | None, employees: int) -> str:
    """The line that says what the machine's cores allow at best for that much work."""
    if cpu_seconds is None:
        return "CPU of the whole machine: not measured (no /proc/stat)"
    count = cores()
    floor = cpu_seconds / count
    return (f"CPU of the whole machine in the timed steps: {cpu_seconds:.2f} s (this process, workers, database "
            f"and the rest); on {count} core(s) no run of this work ends sooner than {floor:.2f} s, "
            f"{employees / floor:,.0f} employees/s" if floor else "CPU of the whole machine: none counted")
