"""Mutation fuzzing of colorizer.decode_image: seed files of every supported format, mutated with
fixed random seeds, decoded in a child process whose address space is capped.

    python -m testkit.fuzz --per-seed 200 --seed 0 --max-address-space-mb 3072

prints one JSON line: how many files were decoded and refused per format, and every exception
that escaped which is not one of the library's own (with the mutation that produced it), or the
mutation a crash happened in. ``run_fuzz(...)`` does the same from Python.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, features

from testkit.hostile_corpus import encode, exif_bytes

REPO_ROOT = Path(__file__).resolve().parents[1]
# Values that make lengths, offsets and counts lie.
INTERESTING_32 = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFF0)


# --- seeds --------------------------------------------------------------------------------------------


def seed_files() -> dict[str, bytes]:
    """Small valid files of every supported format, named by kind (AVIF and HEIC when available)."""
    y, x = np.mgrid[0:24, 0:32]
    grey = ((x * 7 + y * 5) % 256).astype(np.uint8)
    rgb = np.dstack([grey, 255 - grey, (grey // 2 + 60).astype(np.uint8)])
    rgba = np.dstack([rgb, (grey > 80).astype(np.uint8) * 255])
    rgb16 = rgb.astype(np.uint16) * 257 + 3
    palette = Image.fromarray(grey // 16).convert("P")
    frames = [Image.fromarray(rgb), Image.fromarray(rgb[::-1].copy())]
    seeds = {
        "jpeg_grey": encode(Image.fromarray(grey), "JPEG", quality=80),
        "jpeg_rgb_exif": encode(Image.fromarray(rgb), "JPEG", quality=80, exif=exif_bytes(6)),
        "jpeg_progressive": encode(Image.fromarray(rgb), "JPEG", quality=80, progressive=True),
        "jpeg_cmyk": encode(Image.fromarray(rgba, "RGBA").convert("CMYK"), "JPEG"),
        "png_grey": encode(Image.fromarray(grey), "PNG"),
        "png_rgba_exif": encode(Image.fromarray(rgba), "PNG", exif=exif_bytes(3)),
        "png_palette": encode(palette, "PNG", transparency=0),
        "png16_grey": cv2.imencode(".png", rgb16[..., 0])[1].tobytes(),
        "png16_rgb": cv2.imencode(".png", rgb16)[1].tobytes(),  # OpenCV writes BGR: the order is irrelevant here
        "tiff_raw": encode(Image.fromarray(rgb), "TIFF", exif=exif_bytes(8)),
        "tiff_lzw": encode(Image.fromarray(grey), "TIFF", compression="tiff_lzw"),
        "tiff_multipage": encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "tiff16": cv2.imencode(".tiff", rgb16)[1].tobytes(),
        "bigtiff": encode(Image.fromarray(rgb), "TIFF", big_tiff=True),
        "webp_lossy": encode(Image.fromarray(rgb), "WEBP", quality=80, exif=exif_bytes(6)),
        "webp_lossless": encode(Image.fromarray(rgba), "WEBP", lossless=True),
        "webp_animated": encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True),
        "bmp": encode(Image.fromarray(rgb), "BMP"),
        "bmp_rle": encode(palette, "BMP", compression=1) if _bmp_rle_supported() else encode(palette, "BMP"),
        "gif_animated": encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
    }
    if features.check("avif"):
        seeds["avif"] = encode(Image.fromarray(rgb), "AVIF", quality=60)
    try:
        import pillow_heif
    except ImportError:
        pass
    else:
        buffer = io.BytesIO()
        pillow_heif.from_pillow(Image.fromarray(rgb)).save(buffer, quality=60)
        seeds["heic"] = buffer.getvalue()
    return seeds


def _bmp_rle_supported() -> bool:
    try:
        encode(Image.new("P", (2, 2)), "BMP", compression=1)
    except (OSError, ValueError, TypeError):
        return False
    return True


# --- mutations ------------------------------------------------------------------------------------------


def mutate(data: bytes, donor: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One mutated copy of ``data`` and a short description of what was done. ``donor`` is another
    file of the same format, for splicing."""
    kind = int(rng.integers(0, 9))
    out = bytearray(data)
    size = len(out)
    if kind == 0:  # a few random bytes
        positions = rng.integers(0, size, int(rng.integers(1, 9)))
        for position in positions:
            out[position] = int(rng.integers(0, 256))
        return bytes(out), f"bytes at {sorted(positions.tolist())}"
    if kind == 1:  # truncate
        cut = int(rng.integers(0, size))
        return bytes(out[:cut]), f"cut at {cut}"
    if kind == 2:  # an interesting 32-bit value in the header region, either byte order
        position = int(rng.integers(0, max(1, min(size - 4, 512))))
        value = INTERESTING_32[int(rng.integers(0, len(INTERESTING_32)))]
        order = ">" if rng.integers(0, 2) else "<"
        struct.pack_into(f"{order}I", out, position, value)
        return bytes(out), f"{order}I {value:#x} at {position}"
    if kind == 3:  # an interesting 16-bit value
        position = int(rng.integers(0, max(1, min(size - 2, 512))))
        value = int(rng.choice([0, 1, 0x7FFF, 0x8000, 0xFFFF]))
        order = ">" if rng.integers(0, 2) else "<"
        struct.pack_into(f"{order}H", out, position, value)
        return bytes(out), f"{order}H {value:#x} at {position}"
    if kind == 4:  # insert random bytes
        position = int(rng.integers(0, size))
        count = int(rng.integers(1, 64))
        out[position:position] = rng.integers(0, 256, count, dtype=np.uint8).tobytes()
        return bytes(out), f"{count} bytes inserted at {position}"
    if kind == 5:  # splice: this file's head, the donor's tail
        cut, donor_cut = int(rng.integers(0, size)), int(rng.integers(0, len(donor)))
        return bytes(out[:cut]) + donor[donor_cut:], f"head {cut} + donor from {donor_cut}"
    if kind == 6:  # repeat a slice (a chunk or segment twice, a run of markers)
        start = int(rng.integers(0, size))
        stop = min(size, start + int(rng.integers(1, 256)))
        times = int(rng.integers(2, 50))
        out[stop:stop] = bytes(out[start:stop]) * (times - 1)
        return bytes(out), f"bytes {start}:{stop} x{times}"
    if kind == 8:  # a long run of one byte (fill bytes, zeros): catches parsers quadratic in a run
        position = int(rng.integers(0, size))
        value = int(rng.choice([0x00, 0xFF, int(rng.integers(0, 256))]))
        count = int(rng.integers(1_000, 100_000))
        out[position:position] = bytes([value]) * count
        return bytes(out), f"{count} bytes {value:#04x} inserted at {position}"
    # kind 7: random bytes, then every PNG chunk CRC recomputed (so the mutation reaches the parsers)
    for position in rng.integers(0, size, int(rng.integers(1, 5))):
        out[position] = int(rng.integers(0, 256))
    return fix_png_crcs(bytes(out)), "bytes, PNG CRCs fixed"


def fix_png_crcs(data: bytes) -> bytes:
    """``data`` with the CRC of every complete PNG chunk recomputed (unchanged if not a PNG)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out = bytearray(data)
    position = 8
    while position + 12 <= len(out):
        length = struct.unpack_from(">I", out, position)[0]
        end = position + 8 + length
        if end + 4 > len(out):
            break
        struct.pack_into(">I", out, end, zlib.crc32(bytes(out[position + 4 : end])))
        position = end + 4
    return bytes(out)


# --- running ----------------------------------------------------------------------------------------------


@dataclass
class FuzzReport:
    cases: int
    outcomes: dict[str, dict[str, int]]  # seed kind -> {"decoded": n, "refused": n}
    escapes: list[dict]  # kind, mutation, exception type and message
    crashed_in: str  # the mutation the child died in ("" when it finished)


def run_fuzz(per_seed: int, seed: int = 0, *, max_address_space_mb: int = 3072, timeout: float = 600.0) -> FuzzReport:
    """Fuzz in a child process (``python -m testkit.fuzz``) whose address space is capped, so that
    a decoder's blow-up fails the run (MemoryError, or a crash) instead of the machine."""
    with tempfile.TemporaryDirectory() as folder:
        progress = Path(folder) / "progress"
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "testkit.fuzz",
                "--per-seed",
                str(per_seed),
                "--seed",
                str(seed),
                "--max-address-space-mb",
                str(max_address_space_mb),
                "--progress",
                str(progress),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "OPENCV_LOG_LEVEL": "OFF", "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"},
        )
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:
            last = progress.read_text() if progress.exists() else "before the first case"
            return FuzzReport(0, {}, [], f"exit {completed.returncode} in {last}: {completed.stderr[-1500:]}")
    report = json.loads(lines[-1])
    return FuzzReport(report["cases"], report["outcomes"], report["escapes"], "")


def _fuzz(per_seed: int, seed: int, progress: Path | None) -> dict:
    import warnings

    from colorizer.decode import decode_image
    from colorizer.errors import ColorizerError

    warnings.simplefilter("ignore")  # Pillow warns about corrupt EXIF and large images: noise here
    cv2.setNumThreads(1)
    seeds = seed_files()
    kinds = sorted(seeds)
    rng = np.random.default_rng(seed)
    outcomes: dict[str, Counter] = {kind: Counter() for kind in kinds}
    escapes, cases = [], 0
    for kind in kinds:
        family = kind.split("_")[0].rstrip("0123456789")
        donors = [other for other in kinds if other != kind and other.startswith(family)] or [kind]
        for number in range(per_seed):
            donor = seeds[donors[number % len(donors)]]
            data, mutation = mutate(seeds[kind], donor, rng)
            where = f"{kind} #{number}: {mutation}"
            if progress is not None:
                progress.write_text(where)
            cases += 1
            try:
                decode_image(data, name="fuzzed")
            except ColorizerError:
                outcomes[kind]["refused"] += 1
            except Exception as error:
                escapes.append({"case": where, "type": type(error).__name__, "message": str(error)[:300]})
            else:
                outcomes[kind]["decoded"] += 1
    return {"cases": cases, "outcomes": {kind: dict(counts) for kind, counts in outcomes.items()}, "escapes": escapes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m testkit.fuzz", description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--per-seed", type=int, default=200, help="mutated files per seed file")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mutations")
    parser.add_argument("--max-address-space-mb", type=int, default=3072, help="RLIMIT_AS of this process")
    parser.add_argument("--progress", type=Path, help="file that always names the case being decoded")
    args = parser.parse_args(argv)
    limit = args.max_address_space_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    print(json.dumps(_fuzz(args.per_seed, args.seed, args.progress)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
