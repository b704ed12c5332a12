"""Which files a batch reads and where each result goes: folder discovery, the mirrored output tree and
output names that never collide.

- A folder gives every file with an image or film suffix (``colorkit.files``), its subfolders
  too with ``recursive``; a file named on the command line is read whatever its suffix. Files that
  are not regular (FIFOs, devices, sockets) are refused by type, before anything opens them; files
  larger than any accepted image can be are refused by size; earlier outputs of the colorizer (their
  provenance entries, or the manifest) are skipped, not colorized again.
- With an output folder, the inputs' tree is mirrored under it, relative to the deepest folder that
  holds every input (one folder argument: its contents go straight into the output folder), so two
  folders that each hold ``photo.jpg`` get two outputs. Without one, each result goes beside its input.
- Names: ``<stem>_color.<format>``, unique per output folder (``colorizer.naming``, the rule every
  front end shares). The plan is a stream: memory grows with the largest folder, not the whole tree.
- Inputs on a remote filesystem (Ray) are planned by the same Planner over their listing (``listed``).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from colorizer.errors import ImageDecodeError, ImageTooLargeError
from colorizer.input_file import check_file_status
from colorizer.limits import DEFAULT_MAX_FILE_BYTES
from colorizer.manifest import FAILED, SKIPPED
from colorizer.naming import OUTPUT_SUFFIX, fit, output_names
from colorizer.pipeline import holds_local_film
from colorizer.provenance import is_our_output
from colorizer.settings import FILM
from colorkit.files import is_media_name

log = logging.getLogger(__name__)

OURS = ", not colorized again"
NOT_OURS = "{} is in the way: a file the colorizer did not make; not overwritten (--force overwrites it)"


@dataclass(frozen=True)
class Job:
    """One input to colorize. source: the file (a local path, or a URI for Ray); output: where its
    result goes (a photo's name; a film's goes beside it, ``naming.film_output``); name: the input
    relative to the inputs' common folder, for messages; kind: "film" when planning judged it one
    already (else the pipeline judges)."""

    source: str
    output: Path
    name: str
    kind: str | None = None


@dataclass(frozen=True)
class Decision:
    """An input settled while planning: skipped (with why) or failed before any work.
    output_bytes: for an input done in an earlier run, the size of its output."""

    source: str
    status: str
    reason: str
    output: Path | None = None
    output_bytes: int | None = None


@dataclass(frozen=True)
class Done:
    """An input's output that an earlier run finished (for --resume): the file, and its size."""

    output: Path
    output_bytes: int


@dataclass
class PlanCounts:
    """What the plan passed over without a row: files in folders without an image suffix, folders
    not entered (symbolic links, the output folder inside an input folder)."""

    ignored_files: int = 0
    ignored_folders: int = 0
    subfolders: int = 0  # not read without ``recursive``


@dataclass(frozen=True)
class Naming:
    """Where each input's output goes, as data a Ray worker can be given: the default rule (mirror
    the tree from ``root`` under ``output_dir``, or beside the input; ``<stem>_color<suffix>``) and
    the ``overrides`` (source -> output) for the few inputs whose names had to be made unique.
    scheme: for inputs on a remote filesystem ("s3"), whose sources are URIs and whose paths
    (``root``, and what pyarrow lists) are the filesystem's, without the scheme."""

    root: str
    output_dir: str | None
    suffix: str
    overrides: dict = field(default_factory=dict)
    scheme: str = ""

    def uri(self, path: str) -> str:
        """A filesystem path -> the source it stands for (the URI, for a remote filesystem)."""
        return f"{self.scheme}://{path}" if self.scheme and "://" not in path else path

    def path(self, source: str) -> str:
        """A source -> the filesystem's path (the URI without its scheme)."""
        return source.split("://", 1)[1] if self.scheme and "://" in source else source

    def out_folder(self, folder: str) -> str:
        """The output folder for inputs in ``folder``."""
        if self.output_dir is None:
            return folder
        relative = os.path.relpath(folder, self.root)
        return self.output_dir if relative == "." else os.path.join(self.output_dir, relative)

    def name(self, source: str) -> str:
        """``source`` relative to the root, for messages."""
        source = self.path(source)
        relative = os.path.relpath(source, self.root)
        if relative == "." or relative.startswith(".."):
            return os.path.basename(source) or source
        return relative

    def default_output(self, source: str) -> Path:
        folder, name = os.path.split(self.path(source))
        return Path(self.out_folder(folder)) / fit(Path(name).stem, f"{OUTPUT_SUFFIX}{self.suffix}")

    def job(self, path: str) -> Job:
        """The Job for ``path`` (a source, or the filesystem's path of one)."""
        source = self.uri(path)
        output = self.overrides.get(source)
        return Job(source, Path(output) if output else self.default_output(source), self.name(source))

    def with_overrides(self, jobs: Iterable[Job]) -> Naming:
        """This naming plus the outputs of ``jobs`` that the default rule would not give."""
        overrides = {job.source: str(job.output) for job in jobs if job.output != self.default_output(job.source)}
        return replace(self, overrides={**self.overrides, **overrides})


class Planner:
    """Iterates the jobs and decisions of a batch (see the module docstring), folder by folder.

    inputs: files and folders as given. output_dir: the root of the mirrored tree (None: beside
    each input). format: the output format's name ("png"...). known_outputs: real paths of outputs
    recorded in a manifest. done: for --resume, a function of a Job that returns its output (a
    photo's, or a film's MP4) when it is already there, whole and made the same way, else None
    (``batch.DoneCheck``). naming: the naming to use instead of the inputs' (a remote listing's).
    foreign: a function of a Job that returns a file the colorizer did not make standing at its
    output's name (``batch.ForeignCheck``): the job fails instead of writing over it; None (--force):
    write over it. force: also colorize inputs that carry the colorizer's provenance (a photo whose
    metadata was copied from one of our outputs); outputs the manifest records are still skipped.
    """

    def __init__(
        self,
        inputs: Sequence[Path | str],
        *,
        output_dir: Path | None = None,
        recursive: bool = False,
        format: str = "png",
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
        known_outputs: Collection[str] = frozenset(),
        done: Callable[[Job], Done | None] | None = None,
        naming: Naming | None = None,
        foreign: Callable[[Job], Path | None] | None = None,
        force: bool = False,
    ):
        self.inputs = [Path(os.path.abspath(path)) for path in inputs]
        self.output_dir = Path(os.path.abspath(output_dir)) if output_dir is not None else None
        self.recursive = recursive
        self.max_bytes = max_bytes
        self.known_outputs = known_outputs
        self.done = done
        self.foreign = foreign
        self.force = force
        self.counts = PlanCounts()
        root = _common_folder([path if path.is_dir() else path.parent for path in self.inputs])
        self.naming = naming or Naming(str(root), str(self.output_dir) if self.output_dir else None, f".{format}")
        self._output_real = os.path.realpath(self.output_dir) if self.output_dir else None
        self._visited: set[str] = set()

    def __iter__(self) -> Iterator[Job | Decision]:
        folders: list[Path] = []
        explicit: dict[Path, list[Path]] = {}
        for path in self.inputs:
            try:
                mode = os.stat(path).st_mode
            except OSError as error:
                yield Decision(str(path), FAILED, f"{self._name(path)}: {_reason(error)}")
                continue
            if stat.S_ISDIR(mode):
                folders.append(path)
            else:
                explicit.setdefault(path.parent, []).append(path)
        for folder in folders:
            yield from self._walk(folder, explicit)
        for folder, files in explicit.items():
            yield from self._folder(folder, [], [], files)

    def _walk(self, top: Path, explicit: dict[Path, list[Path]]) -> Iterator[Job | Decision]:
        stack = [top]
        while stack:
            folder = stack.pop()
            real = os.path.realpath(folder)
            if real in self._visited:
                continue
            self._visited.add(real)
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name)
            except OSError as error:
                yield Decision(str(folder), FAILED, f"{self._name(folder)}: cannot list the folder: {_reason(error)}")
                continue
            subfolders, files = [], []
            for entry in entries:
                path = folder / entry.name
                if _is_folder(entry):
                    if not self.recursive:
                        self.counts.subfolders += 1
                        continue
                    if entry.is_symlink():
                        log.warning("%s: a link to a folder, not followed", self._name(path))
                        self.counts.ignored_folders += 1
                    elif os.path.realpath(path) == self._output_real:
                        log.warning("%s: the output folder, not read as input", self._name(path))
                        self.counts.ignored_folders += 1
                    else:
                        subfolders.append(path)
                elif is_media_name(path):
                    files.append(path)
                else:
                    self.counts.ignored_files += 1
                    log.info("%s: not an image name, ignored", self._name(path))
            named = [path for path in explicit.pop(folder, []) if path not in files]
            yield from self._folder(folder, entries, files, named)
            stack.extend(reversed(subfolders))

    def _folder(self, folder: Path, entries: list, found: list[Path], named: list[Path]) -> Iterator[Job | Decision]:
        """Jobs for the image files ``found`` in one folder and the files ``named`` on the command line
        that are in it (``entries``: its listing, when it was listed)."""
        inputs, films, ours = [], set[str](), set()
        for path in found + named:
            decision = self._check(path, path in named, films)
            if decision is None:
                inputs.append(path)
            else:
                if decision.reason.endswith(OURS):
                    ours.add(path.name)
                yield decision
        reserved: Collection[str] = ()
        if os.path.realpath(self.naming.out_folder(str(folder))) == os.path.realpath(folder):  # among the inputs
            names = [entry.name for entry in entries] if entries else _listing(folder)
            reserved = [name for name in names if name not in ours]
        yield from self._jobs(str(folder), [str(path) for path in inputs], reserved, films)

    def listed(self, folders: Iterable[tuple[str, list[str]]]) -> Iterator[Job | Decision]:
        """Jobs for files listed elsewhere (a remote filesystem's listing: each folder's path and its
        files' paths, the filesystem's own), named by ``self.naming`` (whose ``scheme`` makes them
        URIs) and checked for --resume as local files are."""
        for folder, paths in folders:
            yield from self._jobs(folder, paths)

    def _jobs(
        self, folder: str, paths: list[str], reserved: Collection[str] = (), films: Collection[str] = ()
    ) -> Iterator[Job | Decision]:
        """Jobs (or, for --resume, decisions) for ``paths`` of one ``folder``, their output names made
        unique (``naming.output_names``), none of them a ``reserved`` name. films: paths judged films."""
        out_folder = Path(self.naming.out_folder(folder))
        names = output_names([os.path.basename(path) for path in paths], self.naming.suffix, reserved)
        for path, name in zip(paths, names):
            source = self.naming.uri(path)
            job = Job(source, out_folder / name, self.naming.name(path), FILM if path in films else None)
            done = self.done(job) if self.done else None
            if done is not None:
                yield Decision(
                    job.source, SKIPPED, f"{job.name}: done in an earlier run", done.output, done.output_bytes
                )
                continue
            taken = self.foreign(job) if self.foreign else None
            if taken is None:
                yield job
            else:
                yield Decision(job.source, FAILED, f"{job.name}: {NOT_OURS.format(taken.name)}", taken)

    def _check(self, path: Path, named: bool, films: set[str]) -> Decision | None:
        """None for a file to colorize (its path added to ``films`` when it was judged one), else why
        not. A special file found in a folder is skipped; one named on the command line fails."""
        try:
            status = os.stat(path)
        except OSError as error:
            return Decision(str(path), FAILED, f"{self._name(path)}: {_reason(error)}")
        try:  # the reader's own checks, so a refusal here reads as it would there
            check_file_status(status, self._name(path), self.max_bytes)
        except ImageTooLargeError as error:
            if not holds_local_film(path):  # films are read as a stream: a photo's size limit is not theirs
                return Decision(str(path), FAILED, str(error))
            films.add(str(path))
        except ImageDecodeError as error:  # a special file
            return Decision(str(path), FAILED if named else SKIPPED, str(error))
        if os.path.realpath(path) in self.known_outputs:
            return Decision(str(path), SKIPPED, f"{self._name(path)}: an output of an earlier run (manifest){OURS}")
        if not self.force and is_our_output(path):
            return Decision(
                str(path),
                SKIPPED,
                f"{self._name(path)}: an output of the colorizer (provenance; --force reads it){OURS}",
            )
        return None

    def _name(self, path: Path) -> str:
        return self.naming.name(str(path))


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _listing(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _common_folder(folders: list[Path]) -> Path:
    if not folders:
        return Path.cwd()
    try:
        return Path(os.path.commonpath([str(folder) for folder in folders]))
    except ValueError:  # different drives (Windows)
        return folders[0]


def _reason(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)
