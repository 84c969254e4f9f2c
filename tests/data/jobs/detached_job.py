"""A hybrid job that leaves processes behind, as the ones that used to hang the service.

It starts a *detached* sleeper (its own session, holding the job's stdout and stderr) and an
*orphan* sleeper (detached too, its parent exits at once). Each process appends its pid to
``pid_file``; once all three are there it says so. ``mode`` "wait" then sleeps until stopped,
"return" returns. ``ignore_term`` "1" makes the sleepers ignore SIGTERM.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

SLEEPER = (
    "import os, signal, sys, time\n"
    "if sys.argv[2] == '1':\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('sleeper up', flush=True)\n"  # before the pid: a listed sleeper has printed
    "with open(sys.argv[1], 'a') as f:\n"
    "    f.write(f'{os.getpid()}\\n')\n"
    "time.sleep(600)\n"
)


def main(pid_file: str, mode: str, ignore_term: str) -> None:
    with open(pid_file, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    sleeper = [sys.executable, "-c", SLEEPER, pid_file, ignore_term]
    subprocess.Popen(sleeper, start_new_session=True)
    spawn = f"import subprocess; subprocess.Popen({sleeper!r}, start_new_session=True)"
    subprocess.run([sys.executable, "-c", spawn], check=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(pid_file) as handle:
            if len(handle.read().split()) == 3:
                break
        time.sleep(0.02)
    print("detached job ready", flush=True)
    if mode == "wait":
        time.sleep(600)
