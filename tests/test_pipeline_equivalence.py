"""The one pipeline changed no pixel: every front end's outputs (the command line's batches in every
format, photos and films; the app's one photo with its previews, many photos in a ZIP, a film) hold
exactly the pixels (a film: its coded media) and the provenance of those of the code before it
(``testkit.equivalence``: the commit before, from git, run side by side on the same inputs and
model). What later issues add without changing a pixel is left out of the comparison: the sRGB tag,
and ``Input``, the input's identity in the provenance (``equivalence.content_digest``)."""

from __future__ import annotations

import pytest

from testkit.equivalence import (
    CURRENT_APP,
    CURRENT_CLI,
    LEGACY_APP,
    LEGACY_COMMIT,
    legacy_tree,
    run_version,
    write_inputs,
)
from testkit.requirements import in_ci
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # every front end run twice, the code before from git: not in the quick subset


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, synthetic_model):
    work = tmp_path_factory.mktemp("equivalence")
    try:
        tree = legacy_tree(REPO_ROOT, work / "legacy")
    except LookupError as error:
        if in_ci():
            pytest.fail(f"CI needs the git history: {error}")
        pytest.skip(f"the code before the pipeline is not in this checkout's history: {error}")
    inputs = write_inputs(work / "in")
    old = run_version(tree, inputs, work / "old", synthetic_model, LEGACY_APP)
    new = run_version(REPO_ROOT, inputs, work / "new", synthetic_model, CURRENT_APP, CURRENT_CLI)
    return old, new


def test_every_front_end_wrote_the_same_files(outputs):
    old, new = outputs
    assert len(old) > 50, f"the old code wrote only {len(old)} files"
    assert sorted(new) == sorted(old)


def test_every_output_has_the_pixels_and_provenance_of_the_code_before(outputs):
    old, new = outputs
    changed = sorted(name for name in old if new.get(name) != old[name])
    assert not changed, f"{len(changed)} outputs differ from {LEGACY_COMMIT}'s: {changed[:10]}"


def test_outputs_of_both_kinds_and_every_format_were_compared(outputs):
    old, _ = outputs
    for kind in ("_color.png", "_color.jpg", "_color.webp", "_color.mp4", "before.png", ".zip#0"):
        assert any(kind in name for name in old), f"no {kind} output compared"
