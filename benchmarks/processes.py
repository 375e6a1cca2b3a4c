"""CPU time of Chromium's processes, read from /proc (Linux): what the benchmarks charge to a browser."""
import os
import threading
import time
from pathlib import Path

import numpy as np

SAMPLE_INTERVAL_S = 0.1  # /proc CPU samples: 10 per 3-s phase at the very least


def _stat(pid: int | str) -> tuple[int, str, float] | None:
    """(parent pid, command name, CPU seconds) of one process from /proc/PID/stat; None once it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    # fields[1] = ppid, fields[11] = utime, fields[12] = stime (proc(5), counting from "state")
    return int(fields[1]), name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, str, float]]:
    """{pid: (parent pid, command name, CPU seconds)} from /proc (Linux)."""
    table = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (row := _stat(entry.name)) is not None:
            table[int(entry.name)] = row
    return table


def _process_type(pid: int) -> str:
    """Chromium's --type= of a process ('browser' for the one without)."""
    try:
        # Chromium rewrites its process title: the arguments may be joined by spaces instead of NULs.
        args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    except OSError:
        return "gone"
    kind = next((a[len(b"--type="):].decode() for a in args if a.startswith(b"--type=")), "browser")
    sub_type = next((a.split(b"=", 1)[1].decode() for a in args if a.startswith(b"--utility-sub-type=")), "")
    return f"{kind}:{sub_type.split('.')[0]}" if sub_type else kind


def chromium_cpu_seconds(root_pid: int, by_type: bool = False):
    """CPU seconds of every Chromium process below ROOT_PID (this script's browser, not others');
    with BY_TYPE, a dict {process type: seconds} (renderer, gpu-process, browser, ...)."""
    table = _proc_table()
    totals: dict[str, float] = {}
    for pid in _chromium_descendants(root_pid, table):
        kind = _process_type(pid) if by_type else "all"
        totals[kind] = totals.get(kind, 0.0) + table[pid][2]
    return totals if by_type else totals.get("all", 0.0)


def _chromium_descendants(root_pid: int, table) -> list[int]:
    """Pids of the Chromium processes below ROOT_PID in TABLE (from _proc_table)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root_pid]
    while stack:
        for child in children.get(stack.pop(), ()):
            stack.append(child)
            if "chrom" in table[child][1]:
                found.append(child)
    return found


class CpuSampler:
    """Samples chromium_cpu_seconds on a thread: (monotonic s, CPU s) rows."""

    def __init__(self, root_pid: int):
        self.root_pid = root_pid
        self.rows: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            self.rows.append((time.monotonic(), chromium_cpu_seconds(self.root_pid)))
            self._stop.wait(SAMPLE_INTERVAL_S)

    def __enter__(self):
        self.by_type_start = chromium_cpu_seconds(self.root_pid, by_type=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.rows.append((time.monotonic(), chromium_cpu_seconds(self.root_pid)))
        end = chromium_cpu_seconds(self.root_pid, by_type=True)
        # Where the CPU went: SwiftShader's GL runs in the GPU process, our JS in the renderer and its workers.
        self.by_type = {kind: end[kind] - self.by_type_start.get(kind, 0.0) for kind in end}

    def array(self) -> np.ndarray:
        return np.asarray(self.rows, np.float64).reshape(-1, 2)




def browser_pid(marker: str) -> int | None:
    """The pid of the Chromium browser process launched with MARKER among its arguments."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue
        if marker.encode() in args and not any(a.startswith(b"--type=") for a in args):
            return int(entry.name)
    return None


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds of one process, all its threads (a server such as Janus); 0 once it has gone."""
    own = _stat(pid)
    return own[2] if own else 0.0


def browser_cpu_seconds(pid: int) -> float:
    """CPU seconds of one browser: its own process and every Chromium process below it."""
    return process_cpu_seconds(pid) + chromium_cpu_seconds(pid)


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB from /proc/PID/smaps_rollup; (0, 0) once it has gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def browser_memory_bytes(pid: int) -> dict[str, int]:
    """Resident memory of one browser, its own process and every Chromium process below it:
    {"rss": summed RSS, "pss": summed PSS}, in bytes. The RSS sum counts pages the processes share
    (Chromium's code, shared memory for frames) once per process; PSS splits them between sharers."""
    rss = pss = 0
    for member in [pid, *_chromium_descendants(pid, _proc_table())]:
        member_rss, member_pss = _memory_kib(member)
        rss += member_rss
        pss += member_pss
    return {"rss": rss * 1024, "pss": pss * 1024}
