"""Benchmark: what --resume's check costs per input (``batch.DoneCheck``), for a photo and for a film.

Run by hand:  python -m bench.resume_bench [--frames 300 9000] [--runs 200]

Rows, each the median wall time of --runs calls on files in the page cache (the check's own work:
opens, seeks and small reads, no pixels):
- photo, before films counted: what the check did for a photo before films carried provenance
  (``read_provenance`` + ``looks_complete`` of its PNG);
- photo: ``DoneCheck`` now (the same, plus one stat of the absent MP4), and the ratio to the row above;
- film of N frames: ``DoneCheck`` on a finished film: the MP4's provenance and box walk, then
  whether the input is a film (PyAV opens its header). The films are written by the real writer
  (``FilmWriter``, 64x48, no network), so a longer film has a larger ``moov`` index: the box walk
  seeks over it, so its cost should not grow with the length.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np

from colorizer.batch import Context, DoneCheck
from colorizer.encode import encode_image
from colorizer.plan import Job
from colorizer.provenance import looks_complete, read_provenance
from colorizer.settings import FILM, PHOTO, Settings
from colorizer.video.container import FilmWriter, probe
from colorkit.files import atomic_writer
from testkit.video_clips import write_clip

WIDTH, HEIGHT = 64, 48


def median_seconds(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def finished_film(folder: Path, frames: int, context: Context) -> Job:
    """An input film of ``frames`` frames and its finished output written with ``context``'s text."""
    rng = np.random.default_rng(frames)
    pictures = [rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8) for _ in range(min(frames, 50))]
    source = write_clip(folder / f"film{frames}.mp4", (pictures[i % len(pictures)] for i in range(frames)), fps=25)
    job = Job(str(source), folder / f"film{frames}_color.png", source.name)
    info = probe(source)
    with atomic_writer(job.output.with_suffix(".mp4")) as file, av.open(str(source)) as container:
        writer = FilmWriter(file, info, [], text=context.texts[FILM])
        for frame in container.decode(video=0):
            writer.write_frame(frame.to_ndarray(format="rgb24"), frame.pts, frame.duration)
        writer.close()
    return job


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[300, 9000], help="film lengths to check")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    model = SimpleNamespace(default_temperature=0.38, input_size=224, precision="fp32")  # what a record reads
    context = Context.of(Settings(format="png").checked(), model, "ab" * 32, run="bench")
    done = DoneCheck(context)
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        photo = Job(str(folder / "photo.jpg"), folder / "photo_color.png", "photo.jpg")
        rgb = np.random.default_rng(0).integers(0, 256, (1200, 1600, 3), dtype=np.uint8)
        photo.output.write_bytes(encode_image(rgb, text=context.texts[PHOTO]))

        def before() -> None:
            read_provenance(photo.output)
            looks_complete(photo.output)

        assert done(photo) is not None
        old, new = median_seconds(before, args.runs), median_seconds(lambda: done(photo), args.runs)
        print(f"{'input':<28} {'median ms':>10}")
        print(f"{'photo, before films counted':<28} {old * 1e3:>10.3f}")
        print(f"{'photo':<28} {new * 1e3:>10.3f}   {new / old:.2f}x the row above")
        for frames in args.frames:
            job = finished_film(folder, frames, context)
            found = done(job)
            assert found is not None and found.output.suffix == ".mp4"
            seconds = median_seconds(lambda job=job: done(job), args.runs)
            size = found.output.stat().st_size
            print(f"{f'film of {frames} frames':<28} {seconds * 1e3:>10.3f}   (MP4 of {size:,} bytes)")


if __name__ == "__main__":
    main()
