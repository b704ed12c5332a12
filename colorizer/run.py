"""A batch run: inputs planned, each file through the pipeline on an engine (threads here, or Ray),
each row recorded in the manifest and counted as it comes. The command line is its front end
(``colorizer.cli``: options and printing); everything else about a run is here.

    spec = RunSpec(["scans/"], output_dir=Path("colored"), recursive=True, settings=Settings(format="png"))
    with BatchRun(spec, show=print) as run:      # model loaded, manifest opened and locked
        run.execute()                            # KeyboardInterrupt/Stopped on a signal, rows kept
    run.tally                                    # ok, failed, skipped by kind
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from colorizer.batch import Context, DoneCheck, ForeignCheck
from colorizer.errors import ColorizerError, OutputFolderError
from colorizer.limits import max_file_bytes
from colorizer.local_job import DEFAULT_WORKERS, run_local
from colorizer.manifest import FAILED, MANIFEST_NAME, OK, Manifest, Row, recorded_outputs
from colorizer.models import ModelSet, prepare
from colorizer.naming import FILM_OUTPUT_SUFFIX
from colorizer.plan import OURS, Planner
from colorizer.ray_job import RayOptions
from colorizer.settings import Settings
from colorizer.signals import StopSignals


@dataclass(frozen=True)
class RunSpec:
    """What a run does. inputs: files and folders (URIs with Ray); output_dir: the mirrored tree's
    root (None: beside each input); manifest: the rows' file (default OUTPUT_DIR/manifest.jsonl,
    none without an output folder); resume: skip what an earlier run finished; force: write over
    files at output names that the colorizer did not make, and read inputs that carry its
    provenance; settings: checked (their precision picks the model file);
    model, device, threads: the model and where it runs; jobs: files in work at once
    (local engine); ray: run on Ray instead (its address, actors, threads, retries; the rest is the
    run's)."""

    inputs: list[str]
    output_dir: Path | None = None
    recursive: bool = False
    manifest: Path | None = None
    resume: bool = False
    force: bool = False
    settings: Settings = field(default_factory=Settings)
    model: Path | None = None
    device: str = "auto"
    threads: int | None = None
    jobs: int = DEFAULT_WORKERS
    ray: RayOptions | None = None

    @property
    def manifest_path(self) -> Path | None:
        return self.manifest or (self.output_dir / MANIFEST_NAME if self.output_dir else None)

    @property
    def uris(self) -> list[str]:
        return [value for value in self.inputs if "://" in value]


@dataclass
class Tally:
    """What a run has done so far: photos and films written, failures, skips by kind."""

    photos: int = 0
    films: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return self.photos + self.films

    def count(self, row: Row) -> None:
        if row.status == OK:
            if (row.output or "").endswith(FILM_OUTPUT_SUFFIX):
                self.films += 1
            else:
                self.photos += 1
        elif row.status == FAILED:
            self.failed += 1
        else:
            kind = skip_kind(row)
            self.skipped[kind] = self.skipped.get(kind, 0) + 1


def skip_kind(row: Row) -> str:
    """Why a skipped row was skipped, in a few words: "done earlier", "outputs of ours" or "special files"."""
    if row.output_bytes is not None:
        return "done earlier"
    return "outputs of ours" if (row.error or "").endswith(OURS) else "special files"


def prepare_output_dir(path: Path) -> None:
    """Create the output folder and prove a file can be written there; ColorizerError naming the problem."""
    if path.exists() and not path.is_dir():
        raise ColorizerError(f"output folder {path} is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".colorizer-probe-", dir=path)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        raise ColorizerError(f"cannot write to output folder {path}: {error.strerror or error}") from None


class BatchRun:
    """One run of ``spec``: opening it prepares the output folder, opens (and locks) the manifest and
    loads the model; ``execute`` does the work; each row goes to the manifest, the tally and ``show``
    (the front end's display) as files finish. Raises ColorizerError before any
    work (bad folder, manifest or model); OutputFolderError when the output folder stops taking files.
    """

    def __init__(self, spec: RunSpec, show: Callable[[Row], None] = lambda row: None):
        self.spec = spec
        self.show = show
        self.tally = Tally()
        self.started = time.perf_counter()
        self.manifest: Manifest | None = None
        if spec.output_dir is not None:
            prepare_output_dir(spec.output_dir)
        path = spec.manifest_path
        try:
            self.manifest = Manifest(path) if path else None  # refuses a file that is not a manifest
            known = recorded_outputs(path) if path else set()
        except OSError as error:
            self.close()
            raise ColorizerError(f"manifest {path}: {error.strerror or error}") from None
        try:
            self._load(known)
        except BaseException:
            self.close()
            raise

    def _load(self, known: set[str]) -> None:
        spec = self.spec
        on_ray = spec.ray is not None  # the driver's model only gives its metadata and hash: actors colorize
        models = ModelSet(
            spec.model,
            threads=1 if on_ray else spec.threads,
            device=spec.device,
            providers=["CPUExecutionProvider"] if on_ray else None,
        )
        self.colorizer = prepare(models, spec.settings.precision, kernels=not on_ray)
        self.provider = "Ray" if on_ray else self.colorizer.provider
        self.context = Context.of(
            spec.settings,
            self.colorizer,
            models.sha256(spec.settings.precision),
            run=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}",
            engine="ray" if on_ray else "local",
            output_root=spec.output_dir,
        )
        self.done = DoneCheck(self.context) if spec.resume else None
        self.planner = Planner(
            [value for value in spec.inputs if "://" not in value],
            output_dir=spec.output_dir,
            recursive=spec.recursive,
            format=spec.settings.format or "png",
            max_bytes=max_file_bytes(spec.settings.max_pixels),
            known_outputs=known,
            done=self.done,
            foreign=None if spec.force else ForeignCheck(),
            force=spec.force,
        )
        self.plan: Iterator = iter(self.planner)

    def peek(self, count: int) -> list:
        """The plan's first ``count`` jobs and decisions (still to be done)."""
        head = list(itertools.islice(self.plan, count))
        self.plan = itertools.chain(head, self.plan)
        return head

    def execute(self) -> None:
        """Do every job of the plan; stop signals (Ctrl-C, SIGTERM, SIGHUP) raise KeyboardInterrupt or
        ``signals.Stopped`` once the files in work are settled, no row lost."""
        self.started = time.perf_counter()
        with StopSignals().installed() as signals:
            if self.spec.ray is None:
                run_local(self.colorizer, self.plan, self.context, self.on_row, self.spec.jobs, signals.deferred)
            else:
                self._ray(signals.deferred)

    def _ray(self, deferred) -> None:
        from colorizer.ray_job import run_ray

        spec = self.spec
        assert spec.ray is not None
        options = replace(spec.ray, device=spec.device, uris=spec.uris)
        run_ray(self.colorizer.model_path, self.plan, self.planner, self.context, self.on_row, options, deferred)

    def on_row(self, row: Row) -> None:
        """Record a finished file's (or a decision's) row: the manifest, the tally, the display."""
        if self.manifest is not None:
            try:
                self.manifest.append(row)
            except OSError as error:  # the manifest's disk is full or gone: nothing more can be recorded
                raise OutputFolderError(
                    f"cannot append to the manifest {self.manifest.path}: {error.strerror or error}"
                ) from None
        self.tally.count(row)
        self.show(row)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def close(self) -> None:
        if self.manifest is not None:
            self.manifest.close()

    def __enter__(self) -> BatchRun:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
