"""The second hostile corpus (testkit/hostile_files.py) read through the library, with the measured
peak memory and time of each file: the table in docs/reliability.md.

    python -m bench.hostile_decode                # Markdown table and summary (~30 s)
    python -m bench.hostile_decode --repeat 3     # each file read 3 times, the worst kept

Each file is read in a process of its own (forked from one interpreter that has imported the readers),
so its peak RSS is its own: "peak RSS" is the growth of that process's resident memory during the
read. "seconds" is wall-clock on whatever else the machine is doing (noisy on a shared machine);
"CPU seconds" (user + system) is what the bound applies to.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

from testkit.hostile_files import Case, Decoded, Result, cases, measure_many

MIB = 1 << 20


def measure_corpus(folder: Path, repeat: int = 1) -> list[tuple[Case, Result]]:
    """Every case with its worst result (highest RSS, longest time) over ``repeat`` reads."""
    corpus = cases(folder)
    worst: list[Result] = measure_many(corpus)
    for _ in range(repeat - 1):
        again = measure_many(corpus)
        worst = [_worse(first, second) for first, second in zip(worst, again)]
    return list(zip(corpus, worst))


def _worse(first: Result, second: Result) -> Result:
    keep = first if first.seconds >= second.seconds else second
    return Result(
        keep.outcome,
        keep.error,
        keep.message,
        keep.shape,
        keep.dtype,
        max(first.rss_bytes, second.rss_bytes),
        max(first.seconds, second.seconds),
        max(first.cpu_seconds, second.cpu_seconds),
    )


def table(measured: list[tuple[Case, Result]]) -> str:
    rows = [
        "| file | what | outcome | peak RSS | bound | seconds | CPU seconds | bound | as expected |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for case, result in measured:
        outcome = (
            f"decoded {'x'.join(map(str, result.shape))} {result.dtype}"
            if result.outcome == "decoded"
            else f"{result.outcome}: {result.error}"
        )
        ok = "yes" if result.matches(case.expect) and result.within(case.bound) else "**no**"
        rows.append(
            f"| `{case.name}` | {case.what} | {outcome} | {result.rss_bytes / MIB:.1f} MiB | "
            f"{case.bound.rss_bytes / MIB:.0f} MiB | {result.seconds:.2f} | {result.cpu_seconds:.2f} | "
            f"{case.bound.seconds:.0f} | {ok} |"
        )
    return "\n".join(rows)


def summary(measured: list[tuple[Case, Result]]) -> str:
    decoded = [
        (case, result)
        for case, result in measured
        if isinstance(case.expect, Decoded) and result.outcome == "decoded" and case.pixels >= 1_000_000
    ]
    refused = [result for case, result in measured if result.outcome == "refused"]
    per_mp = [(result.rss_bytes / MIB / (case.pixels / 1e6), case.name) for case, result in decoded]
    slowest = max(
        ((result.cpu_seconds, case.name, case.pixels, result.seconds) for case, result in decoded), default=None
    )
    lines = [
        f"- accepted files of 1 MP or more: {len(decoded)}; peak RSS per megapixel "
        f"{min(per_mp)[0]:.1f} to {max(per_mp)[0]:.1f} MiB (most: `{max(per_mp)[1]}`)"
        if per_mp
        else "",
        f"- worst decode time of an accepted file: {slowest[0]:.2f} CPU s, {slowest[3]:.2f} s wall "
        f"(`{slowest[1]}`, {slowest[2] / 1e6:.1f} MP)"
        if slowest
        else "",
        f"- refused files: {len(refused)}; the most memory one took: "
        f"{max(result.rss_bytes for result in refused) / MIB:.1f} MiB, the longest: "
        f"{max(result.cpu_seconds for result in refused):.2f} CPU s"
        if refused
        else "",
        f"- machine: {platform.machine()}, Python {platform.python_version()}",
    ]
    return "\n".join(line for line in lines if line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hostile_decode", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1, help="reads per file; the worst is reported")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hostile_decode_") as folder:
        measured = measure_corpus(Path(folder), args.repeat)
    print(table(measured))
    print()
    print(summary(measured))
    return 0 if all(result.matches(case.expect) and result.within(case.bound) for case, result in measured) else 1


if __name__ == "__main__":
    raise SystemExit(main())
