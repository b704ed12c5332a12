"""A batch's side of one file: the pipeline's result (or refusal) as a manifest row, and for
``--resume`` whether an earlier run finished the file already.

``row_for`` is what every batch engine calls (``local_job`` in threads on this machine, ``ray_job`` in
Ray actors) around ``pipeline.colorize_file``, so a result is bit-identical whichever engine made it.
It never raises for a bad input: every per-file problem becomes a "failed" row and the batch goes
on. Only a problem with the output folder itself (read-only, full, not writable) raises
``OutputFolderError``, which stops the batch: it would fail every later file the same way.
"""

from __future__ import annotations

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
from colorizer.pipeline import Failed, colorize_file, holds_local_film, photo_hints
from colorizer.plan import Decision, Done, Job
from colorizer.provenance import (
    KEY_MODEL,
    KEY_SETTINGS,
    looks_complete,
    provenance_text,
    read_provenance,
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

    @classmethod
    def of(cls, settings: Settings, colorizer, model_sha256: str, run: str, engine: str = "local") -> Context:
        """The context of a run of ``settings`` on ``colorizer``'s model (with SHA-256 ``model_sha256``)."""
        texts = {kind: provenance_text(model_sha256, settings.describe(kind, colorizer)) for kind in (PHOTO, FILM)}
        return cls(settings, settings.describe(None, colorizer), texts, model_sha256, run, engine)

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
    except OutputFolderError:
        raise
    except ColorizerError as error:
        size = {"width": error.width, "height": error.height} if isinstance(error, Failed) else {}
        message = str(error) if str(error).startswith(job.name) else f"{job.name}: {error}"
        return context.row(job, FAILED, error=message, seconds=_since(started), **size)
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
        if os.path.exists(film) and self.made_here(film, self.settings[FILM]) and holds_local_film(job.source):
            return Done(film, film.stat().st_size)
        if self.made_here(job.output, self.photo_settings(job)):
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

    def made_here(self, path: Path, settings: str | None) -> bool:
        """Whether ``path`` is a whole file made with this run's model and ``settings`` (as recorded)."""
        text = read_provenance(path)
        if settings is None or text.get(KEY_MODEL) != self.model_sha256 or text.get(KEY_SETTINGS) != settings:
            return False
        return looks_complete(path)
