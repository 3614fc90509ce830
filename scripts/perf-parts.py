#!/usr/bin/env python3
"""Shares of `perf record -e cpu-clock` samples of `thinktee proxy`, by part
(scripts/load-profile.sh): the parse threads; kernel time in wakeups,
scheduling and epoll, or in the TCP syscalls; hyper; tokio; allocation.
A function goes to the first part whose pattern it matches.

    scripts/perf-parts.py perf.data   -> Markdown rows: | part | share |
"""
import collections
import re
import subprocess
import sys

WAKEUPS = re.compile(
    r"finish_task_switch|schedule|futex|try_to_wake|ttwu|enqueue|dequeue|pick_next"
    r"|update_curr|hrtimeout|ep_poll|ep_item|ep_send|do_epoll|__x64_sys_epoll"
)
ALLOC = re.compile(r"malloc|free|unlink_chunk|realloc|tcache")
HYPER = re.compile(r"hyper|http_body|bytes::")
TOKIO = re.compile(r"tokio|atomic_waker|futures_util|PollFn|parking_lot")
ROW = re.compile(r"\s+([\d.]+)%\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.*)")


def part(comm, dso, kind, sym):
    if comm.startswith(("thinktee-parse", "thinktee-trans")):
        return "parse and transcript threads"
    if kind == "k":
        if WAKEUPS.search(sym):
            return "kernel: wakeups, scheduling, epoll"
        return "kernel: TCP read/write syscalls"
    if ALLOC.search(sym):
        return "allocation (malloc/free)"
    if HYPER.search(sym):
        return "hyper: connection tasks, chunked framing, body channel"
    if TOKIO.search(sym):
        return "tokio: task scheduling, wakers, IO driver, notify"
    if "thinktee" in sym:
        return "thinktee proxy/record/tee code"
    if "libc" in dso or sym.startswith("__"):
        return "libc (memcpy, syscall stubs)"
    return "other"


report = subprocess.run(
    ["perf", "report", "-i", sys.argv[1], "--no-children", "--sort", "comm,dso,sym",
     "-g", "none", "--stdio"],
    capture_output=True, text=True, check=True,
).stdout
shares = collections.Counter()
for line in report.splitlines():
    m = ROW.match(line)
    if m:
        shares[part(m[2], m[3], m[4], m[5])] += float(m[1])
for name, share in shares.most_common():
    print(f"| {name} | {share:.0f} % |")
