"""The batch engine on Ray Data: the same ``batch.process_file`` in actors, one Colorizer each.

    inputs (local folders, or any filesystem pyarrow reads: s3://, gs://, hdfs://)
      -> ray.data.read_binary_files(paths, include_paths=True)        bytes + path per file
      -> map_batches(ColorizeActor, ActorPoolStrategy(size=N))        decode, colorize, write to DST
      -> rows streamed back to the driver, which appends them to the manifest

The plan (what to read, the output names, --resume) is made on the driver exactly as for the local
engine. The model reaches each actor by its path when the file there is the driver's model (same
SHA-256: a shared filesystem, or the same file on every node), else through Ray's object store (the
driver puts it there once; a node that needs it keeps a copy in its temporary folder), so the
outputs' provenance always names the model that made them. DST must be reachable at the same path
from every node (a shared filesystem; on one machine it is). A broken file is a failed row, never
a failed job; a worker that crashes (killed, out of memory, a decoder segfault) is restarted and its
files retried up to ``retries`` times; files whose every try crashed become failed rows. Ray is
imported only here: it is an optional extra, not needed by the library or the app.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path

from colorizer.batch import Context, row_for
from colorizer.errors import ColorizerError, OutputFolderError
from colorizer.manifest import FAILED, Row
from colorizer.plan import Decision, Job, Naming, Planner
from colorkit.files import is_media_name, sha256_file, write_atomically

log = logging.getLogger(__name__)

# Where a node keeps the model it got through the object store (one file per SHA-256, kept for
# later runs); the node's temporary folder, as Ray's own files.
MODEL_CACHE = Path(tempfile.gettempdir()) / "colorizer-ray-models"

# Threads per actor: onnxruntime gives more images per core-second with one thread per actor than
# with two (python -m bench.batch_bench), so the default is one actor per CPU with one thread each.
DEFAULT_ACTOR_THREADS = 1
REACH_SECONDS = 5.0  # a Ray address must answer within this (a connection, not a Ray handshake)


@dataclass(frozen=True)
class RayOptions:
    """address: None starts a local Ray for the run (unless one is already initialised); "auto" or
    "ray://host:port" joins a cluster. actors: actor pool size (default: cluster CPUs / threads).
    threads: network threads, and CPUs reserved, per actor. retries: actor restarts and task retries.
    uris: inputs on a pyarrow filesystem (s3://...), planned here as the run's planner plans local
    ones. progress: Ray Data's progress bars and logs."""

    address: str | None = None
    actors: int | None = None
    threads: int | None = None
    retries: int = 3
    device: str = "auto"
    uris: list[str] = field(default_factory=list)
    progress: bool = False


@dataclass(frozen=True)
class ModelShipment:
    """How actors find the driver's model: ``path`` as the driver sees it, the file's ``sha256``,
    and ``ref``, a one-item list holding the ObjectRef of its bytes (in a list, so that Ray hands
    the reference to the actor instead of fetching the bytes for every actor)."""

    path: str
    sha256: str
    ref: list


def local_model(shipment: ModelShipment, fetch: Callable[[], bytes], cache: Path = MODEL_CACHE) -> Path:
    """The model file this node opens: ``shipment.path`` when the file there has the driver's
    SHA-256, else the node's cached copy, fetched (``fetch()``: the bytes from the object store) and
    written atomically the first time. Raises ColorizerError when the fetched bytes are not the
    driver's model."""
    for candidate in (Path(shipment.path), cache / f"{shipment.sha256}.onnx"):
        with suppress(OSError):  # unreadable here: try the next
            if candidate.is_file() and sha256_file(candidate) == shipment.sha256:
                return candidate
    data = fetch()
    cached = cache / f"{shipment.sha256}.onnx"
    cache.mkdir(parents=True, exist_ok=True)
    write_atomically(cached, data)
    if sha256_file(cached) != shipment.sha256:
        cached.unlink()
        raise ColorizerError(f"the model from the object store does not have the SHA-256 {shipment.sha256}")
    log.info("model %s: %s is not the driver's model here; using the object store's copy", cached.name, shipment.path)
    return cached


class ColorizeActor:
    """The callable class map_batches runs: one Colorizer per actor, on the driver's model."""

    def __init__(
        self, model: ModelShipment, precision: str, device: str, threads: int, naming: Naming, context: Context
    ):
        import ray

        from colorizer.colorizer import Colorizer  # imported in the worker process

        path = local_model(model, lambda: ray.get(model.ref[0]))
        self.colorizer = Colorizer(path, device=device, threads=threads, precision=precision)
        self.naming = naming
        self.context = context

    def __call__(self, batch: dict) -> dict:
        """{"path": [...], "bytes": [...]} -> {"row": [JSON rows], "fatal": [output-folder errors or ""]}."""
        rows, fatal = [], []
        for path, data in zip(batch["path"], batch["bytes"]):
            job = self.naming.job(str(path))
            try:
                row = row_for(self.colorizer, job, self.context, bytes(data))
                fatal.append("")
            except OutputFolderError as error:
                row = self.context.row(job, FAILED, error=str(error))
                fatal.append(str(error))
            rows.append(row.to_bytes().decode("utf-8"))  # names that are not UTF-8 as JSON escapes
        return {"row": rows, "fatal": fatal}


def run_ray(
    model_path: Path,
    plan: Iterable[Job | Decision],
    planner: Planner,
    context: Context,
    on_row: Callable[[Row], None],
    options: RayOptions,
    deferred: Callable[[], AbstractContextManager] = nullcontext,
) -> None:
    """Run the jobs of ``plan`` (``planner``'s) or, when ``options.uris`` is set, of those URIs
    (planned as ``planner`` plans, ``plan_uris``), on Ray; decisions become rows at once; each finished file's row goes to ``on_row`` as it
    arrives (in completion order), inside ``deferred()`` (see ``local_job.run_local``).

    Raises ColorizerError when Ray is missing or cannot start, OutputFolderError when DST cannot take
    files (the job is stopped)."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ColorizerError("--ray needs Ray Data: pip install 'ray[data]'") from None
    jobs = _jobs(plan, context, on_row)
    naming, filesystem = planner.naming, None
    if options.uris:
        if jobs:
            raise ColorizerError("local paths and URIs cannot be mixed in one Ray run")
        if planner.output_dir is None:
            raise ColorizerError("reading URIs needs an output folder (-o)")
        remote_plan, naming, filesystem = plan_uris(options.uris, planner)
        jobs = _jobs(remote_plan, context, on_row)
    if not jobs:
        return
    started_here = _start(ray, options)
    try:
        _run(ray, model_path, jobs, naming.with_overrides(jobs), context, on_row, options, filesystem, deferred)
    finally:
        if started_here:
            ray.shutdown()


def _jobs(plan: Iterable[Job | Decision], context: Context, on_row: Callable[[Row], None]) -> list[Job]:
    jobs = []
    for item in plan:
        if isinstance(item, Job):
            jobs.append(item)
        else:
            on_row(context.decision_row(item))
    return jobs


def _start(ray, options: RayOptions) -> bool:
    """Connect to (or start) Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    if options.address not in (None, "auto"):
        check_reachable(options.address)
    try:
        ray.init(
            address=options.address,
            include_dashboard=False,
            logging_level=logging.INFO if options.progress else logging.WARNING,
            log_to_driver=options.progress,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ColorizerError(
            f"cannot start or reach Ray at {options.address or 'a new local instance'}: {str(error).splitlines()[0]}"
        ) from None
    return True


def check_reachable(address: str, timeout: float = REACH_SECONDS) -> None:
    """ColorizerError unless something listens at ``address`` ("host:port" or "ray://host:port"),
    found in at most ``timeout`` seconds: Ray itself would retry an address where nothing listens
    for minutes, without a word."""
    host, _, port = address.split("://", 1)[-1].rstrip("/").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except ValueError:
        raise ColorizerError(f"--ray {address}: not an address (HOST:PORT, ray://HOST:PORT or auto)") from None
    except OSError as error:
        raise ColorizerError(f"cannot reach Ray at {address}: {error.strerror or error}") from None


def _run(
    ray,
    model_path: Path,
    jobs: list[Job],
    naming: Naming,
    context: Context,
    on_row: Callable[[Row], None],
    options: RayOptions,
    filesystem,
    deferred: Callable[[], AbstractContextManager],
) -> None:
    import pyarrow.fs
    from ray.data import ActorPoolStrategy, DataContext

    # Without -v, Ray Data's own log stays quiet: a crashed block it skips (its traceback, at ERROR)
    # is the file's failed row and one line here.
    logging.getLogger("ray.data").setLevel(logging.INFO if options.progress else logging.CRITICAL)
    data_context = DataContext.get_current()
    data_context.enable_progress_bars = options.progress
    data_context.max_errored_blocks = -1  # a block whose every retry crashed: its files become failed rows
    threads = options.threads or DEFAULT_ACTOR_THREADS
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors = options.actors or max(1, cpus // threads)
    paths = [naming.path(job.source) for job in jobs]
    dataset = ray.data.read_binary_files(
        paths,
        include_paths=True,
        filesystem=filesystem or pyarrow.fs.LocalFileSystem(),
        override_num_blocks=min(len(paths), max(8, 4 * actors)),
        num_cpus=0,
    )  # reading is I/O: the actors hold every CPU
    constructor = {
        "model": ship_model(ray, Path(model_path), context.model_sha256),
        "precision": context.recorded["precision"],
        "device": options.device,
        "threads": threads,
        "naming": naming,
        "context": context,
    }
    with warnings.catch_warnings():  # max_restarts and max_task_retries still travel as ray_remote_args
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*")
        dataset = dataset.map_batches(
            ColorizeActor,
            batch_size=1,
            fn_constructor_kwargs=constructor,
            compute=ActorPoolStrategy(size=actors),
            num_cpus=threads,
            max_restarts=-1,  # an actor is always restarted: "every restart used up" stalled the job
            max_task_retries=options.retries,  # a file whose every try crashed its actor becomes a failed row
        )
    log.info("Ray: %d files, %d actors x %d threads", len(paths), actors, threads)
    outstanding = {job.source: job for job in jobs}
    try:
        for record in dataset.iter_rows():
            row = Row.from_dict(json.loads(record["row"]))
            with deferred():
                on_row(row)
                outstanding.pop(row.input, None)
            if record["fatal"]:
                raise OutputFolderError(record["fatal"])
    except ray.exceptions.RayError as error:  # the job itself cannot go on: every restart used up
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        log.warning("Ray: the job stopped: %s", reason)
        why = f"not written: the Ray job stopped ({reason}); --resume retries it"
    else:
        why = f"a worker crashed on this file {options.retries + 1} times; not written"
    for job in outstanding.values():  # every try of these crashed a worker, or the job stopped
        with deferred():
            on_row(context.row(job, FAILED, error=f"{job.name}: {why}"))


def ship_model(ray, path: Path, sha256: str) -> ModelShipment:
    """The driver's model for the actors: its path, and its bytes put in the object store."""
    return ModelShipment(str(path.absolute()), sha256, [ray.put(path.read_bytes())])


def plan_uris(uris: list[str], local: Planner) -> tuple[Iterator[Job | Decision], Naming, object]:
    """Jobs for inputs on a pyarrow filesystem (s3://bucket/prefix, gs://..., file:///...): every file
    with an image or film suffix (in subfolders with ``local.recursive``), planned by a ``plan.Planner``
    over this listing as ``local`` (the run's planner, which has an output folder) plans local
    inputs (the tree mirrored under its output folder from the inputs' common folder, names made
    unique per folder, its --resume ``done`` and ``foreign`` checks). Jobs' sources are URIs.
    Returns (plan, naming, filesystem)."""
    import pyarrow.fs

    try:
        located = [pyarrow.fs.FileSystem.from_uri(uri) for uri in uris]
    except (pyarrow.ArrowInvalid, OSError, ValueError) as error:
        raise ColorizerError(f"cannot open {uris[0]}: {str(error).splitlines()[0]}") from None
    filesystem = located[0][0]
    if any(type(other) is not type(filesystem) for other, _ in located):
        raise ColorizerError("all URIs of one run must be on the same filesystem")
    folders: dict[str, list[str]] = {}
    tops, missing = [], []
    for _, base in located:
        info = filesystem.get_file_info(base)
        if info.type == pyarrow.fs.FileType.Directory:
            tops.append(base)
            selector = pyarrow.fs.FileSelector(base, recursive=local.recursive)
            infos = sorted(filesystem.get_file_info(selector), key=lambda item: item.path)
            for item in infos:
                if item.type == pyarrow.fs.FileType.File and is_media_name(Path(item.path)):
                    folders.setdefault(os.path.dirname(item.path), []).append(item.path)
        elif info.type == pyarrow.fs.FileType.File:
            tops.append(os.path.dirname(base))
            folders.setdefault(os.path.dirname(base), []).append(base)
        else:
            missing.append(base)
    scheme = uris[0].split("://", 1)[0]
    naming = Naming(os.path.commonpath(tops) if tops else "", str(local.output_dir), local.naming.suffix, scheme=scheme)
    planner = Planner([], output_dir=local.output_dir, done=local.done, naming=naming, foreign=local.foreign)

    def plan() -> Iterator[Job | Decision]:
        for path in missing:
            yield Decision(naming.uri(path), FAILED, f"{naming.uri(path)}: no such file or folder")
        yield from planner.listed(folders.items())

    return plan(), naming, filesystem
