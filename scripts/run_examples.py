"""Run every language's examples (Python, Go, TypeScript) against the server at IBKR_BROKER_ADDR
(default 127.0.0.1:50051); exit 1 when one fails.

Usage: python scripts/run_examples.py [--build] [--go-dir DIR] [--only NAME[,NAME]] [--lang L[,L]]
  --build    build the Go examples (scripts/build_go_examples.sh) and the TypeScript ones (tsc)
  --go-dir   where the Go examples are (default build/go)

Prints "== LANG NAME: ok|failed (exit N)" and the example's output for each example, then
"== all N examples passed" or "== failed: LANG/NAME, ...".
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("status", "resolve", "order", "quotes")
LANGUAGES = ("python", "go", "ts")
TIMEOUT_SECONDS = 90


def command(lang: str, name: str, go_dir: Path) -> list[str]:
    if lang == "python":
        return [sys.executable, str(ROOT / "sdk" / "python" / "examples" / f"{name}.py")]
    if lang == "go":
        return [str(go_dir / name)]
    return ["node", str(ROOT / "sdk" / "ts" / "dist" / "examples" / f"{name}.js")]


def build(go_dir: Path, languages: list[str]) -> None:
    if "go" in languages:
        subprocess.run([str(ROOT / "scripts" / "build_go_examples.sh"), str(go_dir)], check=True)
    if "ts" in languages:
        tsc = ROOT / "sdk" / "ts" / "node_modules" / ".bin" / "tsc"
        subprocess.run([str(tsc), "-p", str(ROOT / "sdk" / "ts")], check=True)


def run(lang: str, name: str, go_dir: Path) -> bool:
    try:
        done = subprocess.run(
            command(lang, name, go_dir),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            env={**os.environ, "IBKR_BROKER_ADDR": address()},
        )
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        code, output = -1, f"timed out after {exc.timeout} s\n"
    except OSError as exc:
        code, output = -1, f"cannot run it: {exc}\n"
    print(f"== {lang} {name}: {'ok' if code == 0 else 'failed'} (exit {code})")
    print(output, end="" if output.endswith("\n") or not output else "\n", flush=True)
    return code == 0


def address() -> str:
    return os.environ.get("IBKR_BROKER_ADDR") or "127.0.0.1:50051"


def names(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    chosen = [v for v in value.split(",") if v]
    unknown = sorted(set(chosen) - set(allowed))
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(allowed)})")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true")
    parser.add_argument("--go-dir", type=Path, default=ROOT / "build" / "go")
    parser.add_argument("--only", default=",".join(EXAMPLES))
    parser.add_argument("--lang", default=",".join(LANGUAGES))
    args = parser.parse_args(argv)
    languages = names(args.lang, LANGUAGES, "language")
    examples = names(args.only, EXAMPLES, "example")
    if args.build:
        build(args.go_dir, languages)
    print(f"examples against {address()}", flush=True)
    failed = [f"{lang}/{name}" for lang in languages for name in examples
              if not run(lang, name, args.go_dir)]
    if failed:
        print(f"== failed: {', '.join(failed)}")
        return 1
    print(f"== all {len(languages) * len(examples)} examples passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
