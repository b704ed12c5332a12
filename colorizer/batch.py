"""A batch's side of one file: the pipeline's result (or refusal) as a manifest row, and for
``--resume`` whether an earlier run finished the file already.

``row_for`` is what every batch engine calls (``local_job`` in threads on this machine, ``ray_job`` in
Ray actors) around ``pipeline.colorize_file``, so a result is bit-identical whichever engine made it.
It never raises for a bad input: every per-file problem becomes a "failed" row and the batch goes
on. Only a problem with the output folder itself (read-only, full, not writable) raises
``OutputFolderError``, which stops the batch: it would fail every later file the same way. A
subfolder that refuses files (no permission) fails only the files written there
(``Context.stops``).

``ForeignCheck`` is the run's one answer to "may this job write its output?": never over a file
the colorizer did not make (a user's own retouched ``a_color.png``), unless the run is forced.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from colorizer.errors import ColorizerError, OutputFolderError
from colorizer.hints import hints_record, parse_hints
from colorizer.manifest import FAILED, OK, Row
from colorizer.naming import film_output
from colorizer.pipeline import Failed, colorize_file, holds_local_film, named, photo_hints
from colorizer.plan import Decision, Done, Job
from colorizer.provenance import (
    KEY_INPUT,
    KEY_MODEL,
    KEY_SETTINGS,
    looks_complete,
    provenance_text,
    read_provenance,
    same_input,
    settings_text,
)
from colorizer.settings import FILM, PHOTO, Settings


@dataclass(frozen=True)
class Context:
    """What every file of a run shares (picklable, for Ray). settings: checked; recorded: every
    setting as the rows record them; texts: the provenance each kind of output carries
    (``settings.describe``); model_sha256: of the model file, hashed once; run: this run's id;
    engine: "local"/"ray"."""

    settings: Settings
    recorded: dict
    texts: dict
    model_sha256: str
    run: str
    engine: str = "local"
    output_root: str | None = None  # -o DIR: a folder that refuses files there stops the run

    @classmethod
    def of(
        cls,
        settings: Settings,
        colorizer,
        model_sha256: str,
        run: str,
        engine: str = "local",
        output_root: Path | None = None,
    ) -> Context:
        """The context of a run of ``settings`` on ``colorizer``'s model (with SHA-256 ``model_sha256``)."""
        texts = {kind: provenance_text(model_sha256, settings.describe(kind, colorizer)) for kind in (PHOTO, FILM)}
        root = os.path.realpath(output_root) if output_root is not None else None
        return cls(settings, settings.describe(None, colorizer), texts, model_sha256, run, engine, root)

    def stops(self, error: OutputFolderError) -> bool:
        """Whether ``error`` stops the run: a full or read-only file system, or the output folder
        itself refusing files; a subfolder that refuses them (no permission; without -o, an input's
        folder) fails only its own files."""
        if error.errno not in (errno.EACCES, errno.EPERM) or error.folder is None:
            return True
        return self.output_root is not None and os.path.realpath(error.folder) == self.output_root

    def row(self, job_or_decision: Job | Decision, status: str, **values) -> Row:
        output = job_or_decision.output
        return Row(
            input=job_or_decision.source,
            output=str(output) if output is not None else None,
            status=status,
            settings=self.recorded,
            model_sha256=self.model_sha256,
            run=self.run,
            engine=self.engine,
            **values,
        )

    def decision_row(self, decision: Decision) -> Row:
        return self.row(decision, decision.status, error=decision.reason, output_bytes=decision.output_bytes)


def row_for(
    colorizer, job: Job, context: Context, data: bytes | None = None, stop: threading.Event | None = None
) -> Row:
    """Colorize one file (``pipeline.colorize_file``) and say what happened as its row.

    data: the file's bytes when the engine has read them (Ray), else the file is read there.
    stop: set when the batch is interrupted; checked before writing, so an interrupted file leaves
        no output (and no temporary) and a resumed run does it again.
    Raises OutputFolderError (the batch must stop) and Interrupted; nothing else.
    """
    started = time.perf_counter()
    try:
        result = colorize_file(
            colorizer,
            job.source,
            job.output,
            context.settings,
            data=data,
            name=job.name,
            kind=job.kind,
            stop=stop,
            model_hash=context.model_sha256,
        )
    except OutputFolderError as error:
        if context.stops(error):
            raise
        return context.row(job, FAILED, error=f"{job.name}: {error}", seconds=_since(started))
    except ColorizerError as error:
        size = {"width": error.width, "height": error.height} if isinstance(error, Failed) else {}
        return context.row(job, FAILED, error=named(str(error), job.name), seconds=_since(started), **size)
    row = context.row(
        job, OK, seconds=_since(started), width=result.width, height=result.height, output_bytes=result.output_bytes
    )
    return replace(row, output=str(result.output))


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 4)


class DoneCheck:
    """For --resume: whether a job's output is already there from an earlier run, whole
    (``looks_complete``) and carrying this run's model and settings in its provenance.

    A film's output is its MP4 (``film_output``); it counts only for an input that is a film, judged
    as the pipeline judges (so a photo is never skipped for an MP4 that happens to sit where its
    film output would be). What a photo pays for this is one stat of the absent MP4.
    """

    def __init__(self, context: Context):
        self.model_sha256 = context.model_sha256
        self.run_settings = context.settings
        self.settings = {kind: text[KEY_SETTINGS] for kind, text in context.texts.items()}

    def __call__(self, job: Job) -> Done | None:
        """The output ``job`` need not be made again, or None."""
        film = film_output(job.output)
        if (
            os.path.exists(film)
            and self.made_here(film, self.settings[FILM], job.source)
            and holds_local_film(job.source)
        ):
            return Done(film, film.stat().st_size)
        if self.made_here(job.output, self.photo_settings(job), job.source):
            return Done(job.output, job.output.stat().st_size)
        return None

    def photo_settings(self, job: Job) -> str | None:
        """The settings a photo's output records when made by this run: the run's, with the photo's
        own hints (``pipeline.photo_hints``); None when its hints cannot be read (never done)."""
        try:
            hints = parse_hints(photo_hints(job.source, self.run_settings) or [], math.inf, math.inf)
        except ColorizerError:
            return None
        if not hints:
            return self.settings[PHOTO]
        return settings_text({**json.loads(self.settings[PHOTO]), "hints": hints_record(hints)})

    def made_here(self, path: Path, settings: str | None, source: str) -> bool:
        """Whether ``path`` is a whole file made with this run's model and ``settings`` (as recorded),
        from the input ``source`` as it is now (its size and SHA-256: a rescanned input, or an
        output whose provenance was copied from another file's, is not done)."""
        text = read_provenance(path)
        if settings is None or text.get(KEY_MODEL) != self.model_sha256 or text.get(KEY_SETTINGS) != settings:
            return False
        if not looks_complete(path):
            return False
        if "://" in source:
            return _same_remote_input(text.get(KEY_INPUT), source)
        return same_input(text.get(KEY_INPUT), source)


class ForeignCheck:
    """Whether a job's output name is taken by a file the colorizer did not make (no provenance:
    a user's retouched copy, another program's file, a folder, a link): such a file is never
    written over (``--force`` does). A job judged neither photo nor film yet is judged only when
    such a file stands at one of its two names."""

    def __call__(self, job: Job) -> Path | None:
        """The foreign file in ``job``'s way, or None."""
        photo, film = job.output, film_output(job.output)
        foreign = [path for path in (photo, film) if os.path.lexists(path) and not _ours(path)]
        if not foreign:
            return None
        if "://" in job.source:  # not judged here: either name may be the one written
            return foreign[0]
        is_film = job.kind == FILM or holds_local_film(job.source)
        return next((path for path in foreign if (path == film) == is_film), None)


def _ours(path: Path) -> bool:
    return not os.path.islink(path) and bool(read_provenance(path))


def _same_remote_input(recorded: str | None, source: str) -> bool:
    """``provenance.same_input`` for an input on a pyarrow filesystem (s3://, file://...)."""
    import pyarrow.fs

    try:
        identity = json.loads(recorded or "")
        filesystem, path = pyarrow.fs.FileSystem.from_uri(source)
        if not isinstance(identity, dict) or identity.get("bytes") != filesystem.get_file_info(path).size:
            return False
        digest = hashlib.sha256()
        with filesystem.open_input_stream(path) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except (ValueError, OSError, pyarrow.ArrowException):
        return False
    return identity.get("sha256") == digest.hexdigest()
