"""A hybrid job that outlives its welcome: used for max-runtime and cancel tests.

Run as a module (no function), it checkpoints, says it is waiting, then sleeps far longer than
any test lets it.
"""

from __future__ import annotations

import os
import pathlib
import time

checkpoint = pathlib.Path(os.environ["AMZN_BRAKET_CHECKPOINT_DIR"], "progress.txt")
checkpoint.write_text(f"iteration 1 pid {os.getpid()}", encoding="utf-8")
print("sleepy job waiting", flush=True)
time.sleep(600)
print("sleepy job woke up (should never happen)")
