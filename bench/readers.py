"""Which quote-reader program the benches start (--readers python|go): the one place that
chooses its command line.

- python: bench/quote_readers.py under this interpreter (about 34 us of CPU per message received
  on the 2-core bench machine, so at high rates it competes with the server for a core);
- go: its twin bench/go/quote_readers, built into build/go/quote_readers on demand by
  scripts/build_go_examples.sh (offline, Debian's Go packages; `make sdk` installs them).
Both take TARGET SUBSCRIBERS SECONDS [--symbols ...] [--ready-limit S] [--latencies] and print
the same JSON lines (quote_readers.py's docstring).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KINDS = ("python", "go")
GO_SOURCE = HERE / "go" / "quote_readers"
GO_READER = ROOT / "build" / "go" / "quote_readers"


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--readers", choices=KINDS, default="python",
                        help="the subscribers' process: quote_readers.py or its Go twin "
                             "(built into build/go/quote_readers when missing or stale)")


def command(kind: str, target: str, subscribers: int, seconds: float, *options: str) -> list[str]:
    """The command line of a reader process of `kind` (call prepare(kind) once first)."""
    args = [target, str(subscribers), str(seconds), *options]
    if kind == "python":
        return [sys.executable, str(HERE / "quote_readers.py"), *args]
    if kind == "go":
        return [str(GO_READER), *args]
    raise ValueError(f"readers must be one of {', '.join(KINDS)}, not {kind!r}")


def prepare(kind: str) -> None:
    """Build the Go reader when it is missing or older than its source; exit with a clear
    message when Go is not installed."""
    if kind != "go":
        return
    sources = list(GO_SOURCE.glob("*.go"))
    if GO_READER.exists() and all(s.stat().st_mtime <= GO_READER.stat().st_mtime
                                  for s in sources):
        return
    if not shutil.which("go"):
        raise SystemExit(
            "--readers go needs the Go toolchain, which is not installed: `make sdk` installs "
            "Debian's golang packages (or use --readers python)")
    print(f"building {GO_READER.relative_to(ROOT)} ...", flush=True)
    result = subprocess.run(
        [str(ROOT / "scripts" / "build_go_examples.sh"), str(GO_READER.parent),
         str(GO_SOURCE.relative_to(ROOT))], timeout=300)  # fmt: skip
    if result.returncode != 0:
        raise SystemExit("building the Go quote reader failed (its errors are above); "
                         "`make sdk` installs the Go packages it builds against")
