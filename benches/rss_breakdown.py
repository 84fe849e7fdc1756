#!/usr/bin/env python3
"""Where a running switch's RSS is: /proc/PID/smaps summed by owner.

    benches/rss_breakdown.py PID          # smaps only, the process is not stopped
    benches/rss_breakdown.py --gdb PID    # also thread stack pointers and both
                                          # allocators' own statistics (gdb attach)

Owners of anonymous memory are told apart by how each one maps it:
- glibc malloc: the main arena is `[heap]`; every other arena is a heap whose
  start is aligned to 64 MiB (HEAP_MAX_SIZE), read-write up to its top and
  reserved (`---p`) up to the next 64 MiB boundary;
- thread stacks: a read-write mapping right above a one-page `---p` guard (and,
  with --gdb, one that holds a thread's stack pointer);
- jemalloc (and anything else that maps anonymous memory): the rest.
With --gdb, glibc's malloc_stats() and jemalloc's malloc_stats_print() are
called inside the process; both print to the process's stderr (the switch's
log), so read them there. jemalloc prints its options (`opt.*`) in any build,
its byte counts only in a build with tikv-jemalloc-ctl's `stats` feature.
"""

import os
import re
import subprocess
import sys
from collections import defaultdict

ARENA_ALIGN = 64 << 20
PAGE = 4096


def read_smaps(pid):
    maps = []
    cur = None
    head = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$")
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = head.match(line)
            if m:
                cur = {
                    "start": int(m.group(1), 16),
                    "end": int(m.group(2), 16),
                    "perms": m.group(3),
                    "path": m.group(4).strip(),
                }
                maps.append(cur)
                continue
            key, _, rest = line.partition(":")
            parts = rest.split()
            if cur is not None and len(parts) == 2 and parts[1] == "kB":
                cur[key] = int(parts[0])
    return maps


def thread_sps(pid):
    """Stack pointers of every thread, read with gdb (stops the process briefly)."""
    out = subprocess.run(
        ["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all p/x $sp"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return [int(v, 16) for v in re.findall(r"= (0x[0-9a-f]+)", out)]


def allocator_stats(pid):
    """Asks both allocators to print their statistics to the process's stderr;
    returns what gdb printed (SQLite's own count of the heap it holds)."""
    return subprocess.run(
        [
            "gdb", "-p", str(pid), "-batch", "-nx",
            "-ex", "call (void) malloc_stats()",
            # Prefixed when jemalloc serves Rust only, plain when it replaced malloc.
            "-ex", "call (void) _rjem_malloc_stats_print(0, 0, 0)",
            "-ex", "call (void) malloc_stats_print(0, 0, 0)",
            "-ex", "printf \"sqlite3_memory_used %ld\\n\", (long) sqlite3_memory_used()",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def classify(maps, sps):
    owners = []
    for i, m in enumerate(maps):
        path = m["path"]
        prev = maps[i - 1] if i > 0 else None
        nxt = maps[i + 1] if i + 1 < len(maps) else None
        if path == "[heap]":
            owner = "glibc main arena ([heap])"
        elif path == "[stack]":
            owner = "main thread stack"
        elif path.startswith("["):
            owner = path
        elif path:
            owner = "file " + os.path.basename(path)
        elif m["perms"].startswith("---"):
            owner = "reserved (---p, no RSS)"
        elif any(m["start"] <= sp < m["end"] for sp in sps):
            owner = "thread stacks"
        elif (
            m["start"] % ARENA_ALIGN == 0
            and nxt is not None
            and nxt["start"] == m["end"]
            and nxt["perms"].startswith("---")
            and nxt["end"] % ARENA_ALIGN == 0
        ) or (m["start"] % ARENA_ALIGN == 0 and m["end"] - m["start"] == ARENA_ALIGN):
            owner = "glibc other arenas"
        elif (
            not sps
            and prev is not None
            and prev["end"] == m["start"]
            and prev["perms"].startswith("---")
            and prev["end"] - prev["start"] == PAGE
        ):
            owner = "thread stacks (guess: guard page below)"
        else:
            owner = "other anonymous (jemalloc, ...)"
        owners.append(owner)
    return owners


def main():
    args = sys.argv[1:]
    use_gdb = "--gdb" in args
    args = [a for a in args if a != "--gdb"]
    if len(args) != 1:
        sys.exit(__doc__)
    pid = int(args[0])
    sps = thread_sps(pid) if use_gdb else []
    maps = read_smaps(pid)
    owners = classify(maps, sps)
    rss = defaultdict(int)
    count = defaultdict(int)
    for m, owner in zip(maps, owners):
        rss[owner] += m.get("Rss", 0)
        count[owner] += 1
    total = sum(rss.values())
    threads = len(os.listdir(f"/proc/{pid}/task"))
    print(f"pid {pid}: RSS {total} KiB in {len(maps)} mappings, {threads} threads")
    for owner, kib in sorted(rss.items(), key=lambda kv: -kv[1]):
        if kib:
            print(f"  {kib:8d} KiB  {count[owner]:4d} maps  {owner}")
    if use_gdb:
        for line in allocator_stats(pid).splitlines():
            if line.startswith("sqlite3_memory_used"):
                print(f"  SQLite heap in use: {int(line.split()[1]) // 1024} KiB")
        print("  (allocator statistics printed to the process's stderr)")


if __name__ == "__main__":
    main()
