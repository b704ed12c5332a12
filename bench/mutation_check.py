"""Does the suite catch the bugs it claims to? Inject realistic bugs one at a time and see.

    python -m bench.mutation_check               # every mutant (~15-20 min on 2 busy cores)
    python -m bench.mutation_check --only rint-removed cli-drops-temperature
    python -m bench.mutation_check --list

The working tree (tracked and untracked-but-not-ignored files) is copied to a temporary folder; each
mutant replaces one exact snippet of one file there (the script stops if the snippet is not found
exactly once: update the mutant when the code moves), runs the tests aimed at it, and restores the
file. The targeted tests first run on the unmutated copy and must pass there. A mutant is caught
when pytest exits 1 (a test failed). ``env`` hides things the way a machine without them lacks them:
``COLORIZER_TESTS_WITHOUT=opencv4-caffe`` runs as if OpenCV 5 were installed, so the hull mutants
must be caught by the references in tests/test_references.py, not by OpenCV 4.
Results: docs/testing.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HIDE_OPENCV4 = {"COLORIZER_TESTS_WITHOUT": "opencv4-caffe"}

REFERENCES = "tests/test_references.py"
CLI_OPTIONS = "tests/test_cli_options.py"
COLORIZER = "tests/test_colorizer.py"
CONTROLS = "tests/test_controls.py"
DECODE_TESTS = [
    f"{REFERENCES}::test_converted_decoding_is_the_annealed_mean_of_the_hull",
    f"{REFERENCES}::test_predicted_ab_is_the_annealed_mean_of_the_network_logits",
    "tests/test_fidelity.py::test_matches_opencv_caffe_reader",  # skipped: OpenCV 4 hidden
    f"{COLORIZER}::test_agrees_with_seed_pipeline_on_real_photos",
]  # skipped likewise


def cli_case(option: str) -> str:
    return f"{CLI_OPTIONS}::test_cli_option_gives_the_library_result[{option}]"


def film_case(name: str, test: str = "library_writes_or_refuses_within_bounds") -> str:
    return f"tests/test_hostile_films.py::test_{test}[{name}]"


@dataclass(frozen=True)
class Mutant:
    """A realistic bug: in ``path`` replace ``old`` (found exactly once) with ``new``; ``tests`` are
    pytest node ids expected to catch it; ``env`` is added to the tests' environment."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


MUTANTS = [
    # The four the issue names.
    Mutant(
        "cli-drops-temperature", "colorizer/cli.py", "temperature=args.temperature,", "", (cli_case("--temperature"),)
    ),
    Mutant(
        "rint-removed",
        "colorizer/color.py",
        "table = np.rint(curve * 255).astype(np.uint8)",
        "table = (curve * 255).astype(np.uint8)",
        (
            f"{REFERENCES}::test_grey_levels_round_trip_exactly",
            f"{REFERENCES}::test_lab_to_rgb8_rounds_to_nearest",
            f"{COLORIZER}::test_grey_photo_keeps_its_lightness_and_gets_colour",
        ),
    ),
    Mutant(
        "lightness-reads-bgr",
        "colorizer/color.py",
        "cv2.cvtColor(unit, cv2.COLOR_RGB2Lab)[..., 0]",
        "cv2.cvtColor(unit, cv2.COLOR_BGR2Lab)[..., 0]",
        (
            f"{REFERENCES}::test_lightness_is_cie_lightness_of_srgb",
            f"{REFERENCES}::test_network_input_is_bilinear_cie_lightness_minus_50",
            f"{COLORIZER}::test_colour_input_is_treated_as_its_lightness",
        ),
    ),
    Mutant(
        "hull-not-transposed",
        "convert/eccv16.py",
        "hull_points.T.reshape(2, 313, 1, 1)",
        "hull_points.reshape(2, 313, 1, 1)",
        tuple(DECODE_TESTS),
        HIDE_OPENCV4,
    ),
    Mutant(
        "hull-a-b-swapped",
        "convert/eccv16.py",
        "hull_points.T.reshape(2, 313, 1, 1)",
        "hull_points[:, ::-1].T.reshape(2, 313, 1, 1)",
        tuple(DECODE_TESTS),
        HIDE_OPENCV4,
    ),
    # More realistic ones.
    Mutant(
        "temperature-ignored",
        "colorizer/colorizer.py",
        "feeds[self._temperature_feed()] = np.array(temperature, np.float32)",
        "feeds[self._temperature_feed()] = np.array(self.default_temperature, np.float32)",
        (
            f"{REFERENCES}::test_predicted_ab_is_the_annealed_mean_of_the_network_logits",
            f"{CONTROLS}::test_colourfulness_rises_as_temperature_falls",
        ),
    ),
    Mutant(
        "render-size-ignored",
        "colorizer/colorizer.py",
        "cv2.resize(lightness_plane, (size, size),",
        "cv2.resize(lightness_plane, (self.input_size, self.input_size),",
        (
            f"{REFERENCES}::test_network_input_is_bilinear_cie_lightness_minus_50",
            f"{CONTROLS}::test_render_size_is_the_network_input_and_keeps_output_size",
        ),
    ),
    Mutant(
        "l-offset-missing",
        "colorizer/colorizer.py",
        "(small - np.float32(self.contract.l_offset))[None, None]",
        "small[None, None]",
        (f"{REFERENCES}::test_network_input_is_bilinear_cie_lightness_minus_50",),
    ),
    Mutant(
        "network-input-area-resize",
        "colorizer/colorizer.py",
        "interpolation=cv2.INTER_LINEAR)",
        "interpolation=cv2.INTER_AREA)",
        (f"{REFERENCES}::test_network_input_is_bilinear_cie_lightness_minus_50",),
    ),
    Mutant(
        "unit-scale-1-over-256",
        "colorizer/color.py",
        "pixels.astype(np.float32) * np.float32(1 / 255)",
        "pixels.astype(np.float32) * np.float32(1 / 256)",
        (f"{REFERENCES}::test_lightness_is_cie_lightness_of_srgb",),
    ),
    Mutant(
        "alpha-dropped",
        "colorizer/pixels.py",
        "out[tile.rows, tile.columns, 3] = alpha8[tile.rows, tile.columns]",
        "out[tile.rows, tile.columns, 3] = 255",
        (f"{COLORIZER}::test_alpha_passes_through_bit_exactly",),
    ),
    Mutant(
        "exif-orientation-ignored",
        "colorizer/decode.py",
        "np.ascontiguousarray(apply_orientation(pixels, orientation))",
        "np.ascontiguousarray(pixels)",
        ("tests/test_decode.py::test_jpeg_orientation", "tests/test_decode.py::test_png_orientation_8_and_16_bit"),
    ),
    Mutant(
        "upsample-method-ignored",
        "colorizer/pixels.py",
        "ab_full = upsample_ab(ab, plane, method)",
        "ab_full = upsample_ab(ab, plane)",
        (cli_case("--upsample"),),
    ),
    Mutant(
        "keep-color-blend-inverted",
        "colorizer/chroma.py",
        "weight * original + (1 - weight) * predicted_ab[rows, columns]",
        "(1 - weight) * original + weight * predicted_ab[rows, columns]",
        (f"{CONTROLS}::test_keep_colour_keeps_strong_original_colour",),
    ),
    Mutant(
        "png-write-not-atomic",
        "colorizer/pipeline.py",
        """        with atomic_writer(output) as file:
            file.write(data)""",
        "        output.write_bytes(data)",
        (f"{CLI_OPTIONS}::test_failed_write_leaves_the_previous_output_whole",),
    ),
    Mutant(
        "int8-file-named-differently",
        "colorkit/contract.py",
        'INT8_TAG = "-int8"',
        'INT8_TAG = "_int8"',
        (cli_case("--int8"),),
    ),
    Mutant(
        "cli-drops-int8",
        "colorizer/cli.py",
        'precision="int8" if args.int8 else "fp32",',
        'precision="fp32",',
        (cli_case("--int8"),),
    ),
    Mutant(
        "cli-drops-render-size", "colorizer/cli.py", "render_size=args.render_size,", "", (cli_case("--render-size"),)
    ),
    Mutant(
        "cli-ignores-max-pixels",
        "colorizer/pipeline.py",
        "decode_image(data, max_pixels=settings.max_pixels, name=name)",
        "decode_image(data, name=name)",
        (cli_case("--max-pixels"),),
    ),
    # Hostile films: each protection removed in turn (tests/test_hostile_films.py).
    Mutant(
        "film-decoders-unlimited",
        "colorizer/video/container.py",
        'decoder_options = {"max_pixels": str(max_pixels)} if max_pixels is not None else {}',
        "decoder_options: dict[str, str] = {}",
        tuple(
            film_case(name)
            for name in ("frame_lies_16000x16000.avi", "first_frame_lies.avi", "declares_12000x12000.mkv")
        ),
    ),
    Mutant(
        "mp4-sample-tables-unchecked",
        "colorizer/video/container.py",
        "check_mp4_sample_tables(stream, os.fstat(stream.fileno()).st_size, name)",
        "pass",
        (film_case("sample_table_bomb.mp4"), film_case("fragment_bomb.mp4")),
    ),
    Mutant(
        "film-small-frames-accepted",
        "colorizer/video/limits.py",
        "if min(width, height) < MIN_FRAME_SIDE:",
        "if False:",
        (film_case("tiny_2x2.avi"), film_case("line_1000000x1.avi")),
    ),
    Mutant(
        "film-wide-frames-accepted",
        "colorizer/video/limits.py",
        "if max(width, height) > MAX_FRAME_SIDE:",
        "if False:",
        (film_case("wide_20000x16.avi"),),
    ),
    Mutant(
        "film-frame-rate-unchecked",
        "colorizer/video/limits.py",
        "if frames > max_rate * seconds + 1:",
        "if False:",
        (film_case("fast_1000fps.mp4"),),
    ),
    Mutant(
        "film-frame-count-unchecked",
        "colorizer/pipeline.py",
        "max_frames=limits.max_frames,",
        "",
        (film_case("fast_1000fps.mp4", "app_film_endpoint_within_bounds_while_serving_others"),),
    ),
    Mutant(
        "film-frame-gaps-unchecked",
        "colorizer/video/colorize.py",
        "check_frame_length(frame.pts - previous_pts, previous_start, info.time_base, name)",
        "pass",
        (film_case("gap_1e6_s.mkv"),),
    ),
    Mutant(
        "film-display-matrix-copied",
        "colorizer/video/container.py",
        "matrix = usable_display_matrix(display_matrix(first), name)",
        "matrix = display_matrix(first)",
        (film_case("zero_matrix.mp4"),),
    ),
    Mutant(
        "film-declared-duration-checked-only-at-the-end",
        "colorizer/video/container.py",
        "check_reaches(duration, packets.content_end, 1 / float(rate) if rate else 0.04, name)",
        "pass",
        (film_case("declares_1e6_s.mkv"),),
    ),
    Mutant(
        "softmax-over-width",
        "convert/layers.py",
        "axis=int(layer.softmax_param.axis)",
        "axis=-1",
        (
            "tests/test_layers.py::test_softmax_normalizes_over_channels_only",
            f"{REFERENCES}::test_converted_decoding_is_the_annealed_mean_of_the_hull",
        ),
        HIDE_OPENCV4,
    ),
]


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # "caught", "survived", "timeout" or "error"
    failed: list[str]
    seconds: float
    tail: str = ""


def copy_working_tree(destination: Path) -> None:
    """Tracked and untracked-but-not-ignored files of the working tree, as they are now."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def tests_environment(extra: dict[str, str]) -> dict[str, str]:
    """Not CI (a hidden requirement must skip, not fail); ../shared of this checkout; no .pyc files."""
    environment = {key: value for key, value in os.environ.items() if key not in ("CI", "COLORIZER_TESTS_WITHOUT")}
    environment.setdefault("COLORIZER_SHARED", str((REPO_ROOT.parent / "shared").resolve()))
    return {**environment, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def run_tests(copy: Path, tests: list[str], env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """pytest on ``tests`` in the copy: (exit status, or None after ``timeout`` s; its output). On a
    timeout the whole process group it started (CLI subprocesses included) is ended."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs", "--no-header", *tests]
    with subprocess.Popen(
        command,
        cwd=copy,
        env=tests_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            return None, output
    return process.returncode, output


def failed_tests(output: str) -> list[str]:
    """Node ids from pytest's -rfE summary lines: ``FAILED <node id> - <message>``."""
    return [match.group(1) for match in re.finditer(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", output, re.MULTILINE)]


def apply(copy: Path, mutant: Mutant) -> str:
    """Write the mutant into the copy; returns the original text to restore."""
    path = copy / mutant.path
    original = path.read_text()
    count = original.count(mutant.old)
    if count != 1:
        raise SystemExit(
            f"{mutant.name}: {mutant.old!r} occurs {count} times in {mutant.path}, expected once; "
            f"update the mutant to the current code"
        )
    path.write_text(original.replace(mutant.old, mutant.new))
    return original


def baseline(copy: Path, mutants: list[Mutant], timeout: float) -> None:
    """Every targeted test passes (or skips for a hidden requirement) on the unmutated copy."""
    groups: dict[tuple, list[str]] = {}
    for mutant in mutants:
        tests = groups.setdefault(tuple(sorted(mutant.env.items())), [])
        tests += [test for test in mutant.tests if test not in tests]
    for env, tests in groups.items():
        started = time.perf_counter()
        code, output = run_tests(copy, tests, dict(env), timeout * 2)
        print(
            f"baseline {dict(env) or ''} {len(tests)} targets: exit {code} in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if code != 0:
            raise SystemExit(f"the targeted tests fail without any mutant; fix them first:\n{output[-4000:]}")


def check(copy: Path, mutant: Mutant, timeout: float) -> Outcome:
    original = apply(copy, mutant)
    started = time.perf_counter()
    try:
        code, output = run_tests(copy, list(mutant.tests), mutant.env, timeout)
    finally:
        (copy / mutant.path).write_text(original)
    seconds = time.perf_counter() - started
    if code is None:
        return Outcome(mutant, "timeout", [], seconds)
    status = {0: "survived", 1: "caught"}.get(code, "error")
    return Outcome(mutant, status, failed_tests(output), seconds, output[-3000:] if status == "error" else "")


def markdown(outcomes: list[Outcome]) -> str:
    caught = sum(outcome.status == "caught" for outcome in outcomes)
    lines = [
        f"**{caught} of {len(outcomes)} mutants caught.**",
        "",
        "| mutant | file | result | failing tests | s |",
        "| --- | --- | --- | --- | ---: |",
    ]
    for outcome in outcomes:
        names = sorted({name.split("::", 1)[-1] for name in outcome.failed})
        shown = ", ".join(f"`{name}`" for name in names[:4]) + (f" (+{len(names) - 4})" if len(names) > 4 else "")
        hidden = " (OpenCV 4 hidden)" if outcome.mutant.env else ""
        lines.append(
            f"| {outcome.mutant.name}{hidden} | `{outcome.mutant.path}` | {outcome.status} | {shown} | "
            f"{outcome.seconds:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mutation_check",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--timeout", type=float, default=420, help="seconds per mutant's test run")
    parser.add_argument("--skip-baseline", action="store_true", help="do not first run the targets unmutated")
    args = parser.parse_args(argv)
    mutants = [mutant for mutant in MUTANTS if not args.only or mutant.name in args.only]
    if args.list or not mutants:
        for mutant in MUTANTS:
            print(f"{mutant.name:28} {mutant.path:24} {len(mutant.tests)} tests")
        return 0 if args.list else 2
    with tempfile.TemporaryDirectory(prefix="mutation-check-") as scratch:
        copy = Path(scratch) / REPO_ROOT.name
        copy_working_tree(copy)
        for mutant in mutants:  # every snippet must be there before spending time on tests
            (copy / mutant.path).write_text(apply(copy, mutant))
        if not args.skip_baseline:
            baseline(copy, mutants, args.timeout)
        outcomes = []
        for mutant in mutants:
            outcome = check(copy, mutant, args.timeout)
            outcomes.append(outcome)
            print(
                f"{mutant.name}: {outcome.status} in {outcome.seconds:.0f} s {outcome.failed[:3]}",
                file=sys.stderr,
                flush=True,
            )
            if outcome.tail:
                print(outcome.tail, file=sys.stderr)
    print(markdown(outcomes))
    return 0 if all(outcome.status == "caught" for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
