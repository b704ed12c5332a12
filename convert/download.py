"""Fetch pinned files into a cache: every source tried in order, every byte verified, nothing
partial ever left under the final name."""

from __future__ import annotations

import hashlib
import http.client
import logging
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from colorkit.files import atomic_writer, remove_stale_parts, sha256_file
from convert.errors import DownloadError
from convert.lock import lock_beside
from convert.sources import PinnedFile

log = logging.getLogger(__name__)

OFFLINE_HINT = (
    "to convert offline, fetch the three files elsewhere and run: python -m convert "
    "--prototxt colorization_deploy_v2.prototxt --caffemodel colorization_release_v2.caffemodel "
    "--hull pts_in_hull.npy"
)
GUIDED_OFFLINE_HINT = (
    "to convert offline, fetch the files elsewhere and run: python -m convert "
    "--prototxt deploy_nodist.prototxt --caffemodel model.caffemodel "
    "(or deploy_nopred.prototxt with --hull pts_in_hull.npy for the distribution)"
)
_CHUNK = 1 << 20


class _Mismatch(Exception):
    """A source delivered bytes that do not match the pin."""


def fetch(
    file: PinnedFile,
    cache_dir: Path,
    *,
    mirrors: tuple[str, ...] = (),
    progress: bool = True,
    timeout: float = 30.0,
    offline_hint: str = OFFLINE_HINT,
) -> Path:
    """The verified cached copy of ``file``, downloading it first if needed.

    ``mirrors``: URL prefixes tried before the pinned URLs, as ``<prefix>/<file name>``.
    A cached copy is used only if it matches the pin (a bad one is deleted and fetched again).
    Concurrent callers serialize on a lock file beside the cached copy.
    Raises DownloadError naming every URL tried and ``offline_hint`` (the offline command).
    """
    target = cache_dir / file.name
    cache_dir.mkdir(parents=True, exist_ok=True)
    with lock_beside(target):
        remove_stale_parts(target)
        if target.exists():
            if _matches(target, file):
                log.info("using cached %s", target)
                return target
            log.warning("cached %s does not match its pinned SHA-256; fetching it again", target)
            target.unlink()
        urls = tuple(f"{prefix.rstrip('/')}/{file.name}" for prefix in mirrors) + file.urls
        failures = []
        for url in urls:
            try:
                _download(url, target, file, progress=progress, timeout=timeout)
                return target
            except (urllib.error.URLError, http.client.HTTPException, OSError, _Mismatch) as error:
                failures.append(f"{url} ({_describe(error)})")
                log.info("could not fetch %s: %s", url, _describe(error))
    raise DownloadError(f"could not fetch {file.name}; tried {', '.join(failures)}; {offline_hint}")


def _download(url: str, target: Path, file: PinnedFile, *, progress: bool, timeout: float) -> None:
    """Stream ``url`` into ``target`` atomically, hashing on the way; raise _Mismatch on bad bytes.

    A file without a pin is held to the size the server announces (a cut connection is refused),
    and its SHA-256 is logged as a warning: nothing public says what it should be."""
    request = urllib.request.Request(url, headers={"User-Agent": "colorizer-convert"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        announced = response.headers.get("Content-Length")
        expected = file.size
        if expected is None and announced is not None and announced.strip().isdigit():
            expected = int(announced)
        elif announced is not None and announced.strip() != str(expected):
            raise _Mismatch(f"server announces {announced} bytes, expected {expected}")
        digest, received = hashlib.sha256(), 0
        with (
            atomic_writer(target) as stream,
            tqdm(total=expected, unit="B", unit_scale=True, desc=file.name, disable=not progress, leave=False) as bar,
        ):
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if expected is not None and received > expected:
                    raise _Mismatch(f"more than the expected {expected} bytes")
                digest.update(chunk)
                stream.write(chunk)
                bar.update(len(chunk))
            if expected is not None and received != expected:
                raise _Mismatch(f"got {received} bytes, expected {expected} (truncated)")
            if file.pinned and digest.hexdigest() != file.sha256:
                raise _Mismatch(f"SHA-256 {digest.hexdigest()[:12]}... does not match the pin")
    if not file.pinned:
        log.warning(
            "fetched %s from %s: %d bytes, SHA-256 %s; no published checksum to verify it against",
            file.name,
            url,
            received,
            digest.hexdigest(),
        )
    log.info("fetched %s from %s", file.name, url)


def _matches(path: Path, file: PinnedFile) -> bool:
    if not file.pinned:  # nothing to check a cached copy against; it was written whole (atomic_writer)
        return True
    return path.stat().st_size == file.size and sha256_file(path) == file.sha256


def _describe(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__
