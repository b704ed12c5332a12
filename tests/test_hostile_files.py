"""The second hostile corpus (testkit/hostile_files.py) read through the library, each file in a fresh
process whose peak memory and time are measured.

Every file must be refused with the library's own exception and a one-line message naming it (never
its folder), or decoded to the expected shape; and reading it must stay within its bound: peak RSS
above the reader's baseline at most BASE_RSS_BYTES + RSS_BYTES_PER_PIXEL x the pixels it really holds,
at most MAX_SECONDS + SECONDS_PER_MEGAPIXEL x its megapixels of CPU time. Release files (prototxt, caffemodel, hull) go through the converter's readers.
"""

from __future__ import annotations

import pytest

from testkit.hostile_files import Refused, case_names, cases, measure_many

pytestmark = pytest.mark.slow  # a hostile corpus: not in the quick subset

NAMES = case_names()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    return {case.name: case for case in cases(tmp_path_factory.mktemp("hostile_files"))}


@pytest.fixture(scope="module")
def results(corpus) -> dict:
    """Each file read in a process of its own (forked from one that imported the readers)."""
    return dict(zip(corpus, measure_many(list(corpus.values()))))


def test_corpus_covers_every_class_of_the_issue():
    required = {
        "wide_4999999x10.png",
        "tall_10x4999999.png",  # one dimension huge
        "exif_amplified.png",
        "exif_amplified.tiff",
        "exif_amplified.webp",  # EXIF amplification
        "lying_chunk_16bit.png",
        "many_scans.jpg",  # lying chunk lengths, many-scan progressive JPEG
        "bigtiff_offset.tif",
        "text_strip_offsets.tif",  # BigTIFF OverflowError, TIFF TypeError
        "garbage.avif",
        "garbage.heic",  # RuntimeError from libavif / libheif
        "sparse_30GB.png",
        "fifo.png",
        "dev_zero",  # special and huge files
        "deep_nesting.prototxt",
        "huge_header.npy",
        "nan_weights.caffemodel",
        "nan_hull.npy",  # converter
        "icc_tag_count.png",
        "icc_curve_2_31_16bit.tif",
        "icc_app2_wrong_sequence.jpg",
        "icc_iccp_bomb.png",  # hostile colour profiles (testkit.hostile_profiles)
    }
    assert required <= set(NAMES), sorted(required - set(NAMES))


def test_corpus_is_small_on_disk(corpus):
    allocated = sum(
        case.path.stat().st_blocks * 512
        for case in corpus.values()
        if case.path.is_file() and case.path.parent.name.startswith("hostile_files")
    )
    assert allocated < 32 << 20, f"{allocated / 2**20:.0f} MiB on disk"


@pytest.mark.parametrize("name", NAMES)
def test_read_in_a_process_of_its_own_within_bounds(corpus, results, name):
    case, result = corpus[name], results[name]

    assert result.outcome != "crashed", f"{name}: {result.error}: {result.message}"
    if isinstance(case.expect, Refused):
        assert result.outcome == "refused", f"{name}: decoded as {result.shape} {result.dtype}"
        assert result.error == case.expect.error, f"{name}: {result.error}: {result.message}"
        assert "\n" not in result.message, result.message
        if case.role == "image":  # a server shows it to users: the file's name only, never its folder
            assert str(case.path.parent) not in result.message, result.message
    else:
        assert result.outcome == "decoded", f"{name}: {result.error}: {result.message}"
    assert result.matches(case.expect), f"{name}: got {result}, expected {case.expect}"
    bound = case.bound
    assert result.rss_bytes <= bound.rss_bytes, (
        f"{name}: peak RSS +{result.rss_bytes / 2**20:.1f} MiB > {bound.rss_bytes / 2**20:.1f} MiB for {case.pixels:,} pixels"
    )
    assert result.cpu_seconds <= bound.seconds, (
        f"{name}: {result.cpu_seconds:.2f} CPU s > {bound.seconds:.1f} s for {case.pixels:,} pixels"
    )
