"""Bad inputs give one clear line, never a traceback or a half-written model.

Each case is a broken copy of the synthetic release. From Python it raises the specific
``convert.errors`` class; from ``python -m convert`` it exits with status 2, prints exactly one line
``error: ...`` on stderr that names what is wrong, and writes no output file.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from colorkit.files import PART_SUFFIX
from convert import caffe_io
from convert.eccv16 import convert_release
from convert.errors import BlobError, CaffeParseError, ConversionError, HullError, UnsupportedLayerError
from convert.graph import build_model
from testkit import synthetic
from testkit.hostile_files import deep_prototxt, huge_npy_header

REPO_ROOT = Path(__file__).resolve().parents[1]

Weights = dict[str, list[np.ndarray]]


@dataclass(frozen=True)
class Inputs:
    prototxt: Path
    caffemodel: Path
    hull: Path


@dataclass(frozen=True)
class Case:
    """A broken release: ``build`` writes it into a folder and returns it with the fragments its
    one-line message must contain."""

    error: type[ConversionError]
    build: Callable[[Path, Inputs, Weights], tuple[Inputs, list[str]]]


# --- the broken files ---------------------------------------------------------------------------

UNSUPPORTED_LAYERS = """
layer {
  name: "pool_a"
  type: "Pooling"
  bottom: "conv8_313"
  top: "pool_a"
  pooling_param { pool: MAX kernel_size: 2 }
}
layer {
  name: "norm_x"
  type: "LRN"
  bottom: "pool_a"
  top: "norm_x"
  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }
}
layer {
  name: "pool_b"
  type: "Pooling"
  bottom: "norm_x"
  top: "pool_b"
  pooling_param { pool: AVE kernel_size: 2 }
}
"""

# (the line as it stands stripped, what replaces it, what the parser says)
SYNTAX_ERRORS = {
    "unterminated_string": ('name: "bw_conv1_1"', 'name: "bw_conv1_1', "missing ending quote"),
    "not_an_integer": ("num_output: 64", "num_output: sixty-four", "sixty-four"),
    "missing_colon": ('type: "ReLU"', 'type "ReLU"', 'Expected ":"'),
}


def with_line_replaced(text: str, old: str, new: str) -> tuple[str, int]:
    """``text`` with the first line whose stripped content is ``old`` replaced (indentation kept),
    and that line's 1-based number."""
    lines = text.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.strip() == old)
    lines[index] = lines[index].replace(old, new)
    return "".join(lines), index + 1


def write_weights(path: Path, prototxt: Path, weights: Weights) -> Path:
    types = {layer.name: layer.type for layer in caffe_io.read_prototxt(prototxt).layer}
    path.write_bytes(synthetic.caffemodel_bytes(weights, types))
    return path


def unsupported_layers(folder, release, weights):
    prototxt = folder / "unsupported.prototxt"
    prototxt.write_text(release.prototxt.read_text() + UNSUPPORTED_LAYERS)
    return Inputs(prototxt, release.caffemodel, release.hull), [
        "Pooling (pool_a, pool_b)",
        "LRN (norm_x)",
        "LAYER_CONVERTERS",
    ]


def missing_blob(folder, release, weights):
    without = {name: blobs for name, blobs in weights.items() if name != "conv2_1"}
    caffemodel = write_weights(folder / "missing.caffemodel", release.prototxt, without)
    return Inputs(release.prototxt, caffemodel, release.hull), ["'conv2_1'", "Convolution", "no weights"]


def wrong_blob_shape(folder, release, weights):
    misshapen = {**weights, "conv8_313": [np.zeros((313, 128, 1, 1), np.float32), weights["conv8_313"][1]]}
    caffemodel = write_weights(folder / "misshapen.caffemodel", release.prototxt, misshapen)
    return Inputs(release.prototxt, caffemodel, release.hull), [
        "'conv8_313'",
        "blob 0",
        "(313, 128, 1, 1)",
        "(313, 256, 1, 1)",
    ]


def truncated_caffemodel(folder, release, weights):
    data = release.caffemodel.read_bytes()
    caffemodel = folder / "truncated.caffemodel"
    caffemodel.write_bytes(data[: len(data) // 2])
    return Inputs(release.prototxt, caffemodel, release.hull), [
        str(caffemodel),
        "not a Caffe model",
        "truncated",
        f"{len(data) // 2} bytes",
    ]


def caffemodel_of(name: str, data: bytes):
    def build(folder, release, weights):
        caffemodel = folder / name
        caffemodel.write_bytes(data)
        return Inputs(release.prototxt, caffemodel, release.hull), [str(caffemodel), "not a Caffe model"]

    return build


def caffemodel_is_the_prototxt(folder, release, weights):
    return Inputs(release.prototxt, release.prototxt, release.hull), [str(release.prototxt), "not a Caffe model"]


def prototxt_syntax_error(kind: str):
    old, new, reason = SYNTAX_ERRORS[kind]

    def build(folder, release, weights):
        text, line = with_line_replaced(release.prototxt.read_text(), old, new)
        prototxt = folder / f"{kind}.prototxt"
        prototxt.write_text(text)
        return Inputs(prototxt, release.caffemodel, release.hull), [
            str(prototxt),
            f"syntax error at line {line},",
            reason,
        ]

    return build


def prototxt_is_binary(folder, release, weights):
    prototxt = folder / "binary.prototxt"
    prototxt.write_bytes(np.random.default_rng(0).bytes(4096))
    return Inputs(prototxt, release.caffemodel, release.hull), [str(prototxt), "not a text prototxt"]


def hull_of_shape(shape: tuple[int, ...]):
    def build(folder, release, weights):
        hull = folder / "hull.npy"
        np.save(hull, np.zeros(shape, np.int64))
        return Inputs(release.prototxt, release.caffemodel, hull), [str(hull), "(313, 2)", str(shape)]

    return build


def hull_of(name: str, data: bytes):
    def build(folder, release, weights):
        hull = folder / name
        hull.write_bytes(data)
        return Inputs(release.prototxt, release.caffemodel, hull), [str(hull), "not a .npy array"]

    return build


def hull_of_strings(folder, release, weights):
    hull = folder / "strings.npy"
    np.save(hull, np.full((313, 2), "ab"))
    return Inputs(release.prototxt, release.caffemodel, hull), [str(hull), "numeric", "(313, 2)"]


def hull_truncated(folder, release, weights):
    data = release.hull.read_bytes()
    hull = folder / "truncated.npy"
    hull.write_bytes(data[: len(data) // 2])
    return Inputs(release.prototxt, release.caffemodel, hull), [str(hull), "not a .npy array"]


def prototxt_deeply_nested(folder, release, weights):
    prototxt = folder / "deep.prototxt"
    prototxt.write_bytes(deep_prototxt(100_000))
    return Inputs(prototxt, release.caffemodel, release.hull), [
        str(prototxt),
        f"nested more than {caffe_io.MAX_NESTING} levels deep at line 5",
    ]


def prototxt_nan_filler(folder, release, weights):
    text = release.prototxt.read_text()
    assert "value: 2.606" in text, "the release's temperature Scale takes its factor from a constant filler"
    prototxt = folder / "nan_filler.prototxt"
    prototxt.write_text(text.replace("value: 2.606", "value: nan"))
    return Inputs(prototxt, release.caffemodel, release.hull), ["'conv8_313_rh'", "NaN or infinite"]


def hull_declaring(values: int):
    def build(folder, release, weights):
        hull = folder / "huge.npy"
        hull.write_bytes(huge_npy_header(values))
        return Inputs(release.prototxt, release.caffemodel, hull), [
            str(hull),
            "(313, 2)",
            f"({values},)",
            f"{values:,} values",
        ]

    return build


def hull_with(value: float):
    def build(folder, release, weights):
        hull = folder / "bad_values.npy"
        points = np.load(release.hull).astype(np.float64)
        points[100, 0] = value
        np.save(hull, points)
        return Inputs(release.prototxt, release.caffemodel, hull), [
            str(hull),
            "1 of its 626 values are NaN or infinite",
        ]

    return build


def weights_with(value: float):
    def build(folder, release, weights):
        damaged = [blob.copy() for blob in weights["conv4_2"]]
        damaged[0][5, 7, 1, 2] = value
        damaged[1][3] = value
        caffemodel = write_weights(folder / "damaged.caffemodel", release.prototxt, {**weights, "conv4_2": damaged})
        return Inputs(release.prototxt, caffemodel, release.hull), [
            str(caffemodel),
            "layer 'conv4_2'",
            "blob 0 (512, 512, 3, 3) holds 1 NaN or infinite values",
        ]

    return build


def missing_file(role: str):
    def build(folder, release, weights):
        files = {"prototxt": release.prototxt, "caffemodel": release.caffemodel, "hull": release.hull}
        files[role] = folder / f"absent.{role}"
        return Inputs(**files), [str(files[role])]

    return build


CASES = {
    "unsupported_layers": Case(UnsupportedLayerError, unsupported_layers),
    "missing_blob": Case(BlobError, missing_blob),
    "wrong_blob_shape": Case(BlobError, wrong_blob_shape),
    "truncated_caffemodel": Case(CaffeParseError, truncated_caffemodel),
    "caffemodel_random_bytes": Case(
        CaffeParseError, caffemodel_of("random.caffemodel", np.random.default_rng(0).bytes(4096))
    ),
    "caffemodel_is_text": Case(CaffeParseError, caffemodel_is_the_prototxt),
    "caffemodel_empty": Case(CaffeParseError, caffemodel_of("empty.caffemodel", b"")),
    **{f"prototxt_{kind}": Case(CaffeParseError, prototxt_syntax_error(kind)) for kind in SYNTAX_ERRORS},
    "prototxt_is_binary": Case(CaffeParseError, prototxt_is_binary),
    "prototxt_deeply_nested": Case(CaffeParseError, prototxt_deeply_nested),
    "prototxt_nan_filler": Case(BlobError, prototxt_nan_filler),
    "hull_declaring_1e11_values": Case(HullError, hull_declaring(10**11)),
    "hull_with_nan": Case(HullError, hull_with(np.nan)),
    "hull_with_inf": Case(HullError, hull_with(-np.inf)),
    "weights_with_nan": Case(BlobError, weights_with(np.nan)),
    "weights_with_inf": Case(BlobError, weights_with(np.inf)),
    "hull_312_points": Case(HullError, hull_of_shape((312, 2))),
    "hull_transposed": Case(HullError, hull_of_shape((2, 313))),
    "hull_strings": Case(HullError, hull_of_strings),
    "hull_not_npy": Case(HullError, hull_of("hull.txt", b"-90 50\n-90 60\n")),
    "hull_truncated": Case(HullError, hull_truncated),
    "missing_prototxt": Case(CaffeParseError, missing_file("prototxt")),
    "missing_caffemodel": Case(CaffeParseError, missing_file("caffemodel")),
    "missing_hull": Case(HullError, missing_file("hull")),
}
# One command-line run per kind of failure (each is a fresh interpreter reading a 129 MB model).
CLI_CASES = [
    "unsupported_layers",
    "missing_blob",
    "wrong_blob_shape",
    "truncated_caffemodel",
    "caffemodel_random_bytes",
    "caffemodel_is_text",
    "prototxt_missing_colon",
    "prototxt_is_binary",
    "hull_312_points",
    "hull_not_npy",
    "missing_caffemodel",
    "prototxt_deeply_nested",
    "prototxt_nan_filler",
    "hull_declaring_1e11_values",
    "hull_with_nan",
    "weights_with_nan",
]


@pytest.fixture(scope="module")
def weights(deploy_prototxt) -> Weights:
    return synthetic.random_weights(caffe_io.read_prototxt(deploy_prototxt))


@pytest.fixture(scope="module")
def broken(tmp_path_factory, synthetic_release, weights) -> Callable[[str], tuple[Inputs, list[str]]]:
    """Case name -> its files (written once per module) and expected message fragments."""
    built: dict[str, tuple[Inputs, list[str]]] = {}
    release = Inputs(synthetic_release.prototxt, synthetic_release.caffemodel, synthetic_release.hull)

    def get(name: str) -> tuple[Inputs, list[str]]:
        if name not in built:
            built[name] = CASES[name].build(tmp_path_factory.mktemp(name), release, weights)
        return built[name]

    return get


def run_convert(inputs: Inputs, output: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "convert",
            "--prototxt",
            str(inputs.prototxt),
            "--caffemodel",
            str(inputs.caffemodel),
            "--hull",
            str(inputs.hull),
            "--output",
            str(output),
            "--cache-dir",
            str(output.parent / "cache"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, output: Path, fragments: list[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} missing from: {lines[0]}"
    assert not output.exists()
    assert not list(output.parent.glob(f"*{PART_SUFFIX}"))


# --- the Python API -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_api_raises_specific_error_with_one_line(broken, name):
    inputs, fragments = broken(name)

    with pytest.raises(CASES[name].error) as caught:
        convert_release(inputs.prototxt, inputs.caffemodel, inputs.hull)

    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"


def test_api_missing_bias_blob_is_counted(deploy_prototxt, weights):
    net = caffe_io.read_prototxt(deploy_prototxt)
    no_bias = {**weights, "bw_conv1_1": weights["bw_conv1_1"][:1]}

    with pytest.raises(BlobError, match=r"'bw_conv1_1' \(Convolution\): expected 2 blobs, the caffemodel has 1"):
        build_model(net, no_bias)


def test_api_missing_blob_names_the_layer_not_its_output(deploy_prototxt, weights):
    """The first convolution is named bw_conv1_1 but writes blob conv1_1: the message names the layer."""
    net = caffe_io.read_prototxt(deploy_prototxt)

    with pytest.raises(BlobError, match="'bw_conv1_1'"):
        build_model(net, {name: blobs for name, blobs in weights.items() if name != "bw_conv1_1"})


def test_api_missing_blob_names_expected_shapes(deploy_prototxt, weights):
    net = caffe_io.read_prototxt(deploy_prototxt)

    with pytest.raises(BlobError) as caught:
        build_model(net, {name: blobs for name, blobs in weights.items() if name != "bw_conv1_1"})

    assert "(64, 1, 3, 3)" in str(caught.value), str(caught.value)


def test_api_unreadable_hull_names_expected_shape(broken):
    inputs, _ = broken("hull_not_npy")

    with pytest.raises(HullError) as caught:
        caffe_io.read_hull(inputs.hull)

    assert "(313, 2)" in str(caught.value), str(caught.value)


def test_syntax_error_after_unsupported_layer_is_a_parse_error(tmp_path, deploy_prototxt):
    text = deploy_prototxt.read_text() + UNSUPPORTED_LAYERS
    text, line = with_line_replaced(text, 'top: "pool_b"', 'top: "pool_b')
    prototxt = tmp_path / "both.prototxt"
    prototxt.write_text(text)

    with pytest.raises(CaffeParseError, match=f"line {line},"):
        caffe_io.read_prototxt(prototxt)


def test_nesting_counts_blocks_not_braces_in_strings_or_comments(tmp_path, deploy_prototxt):
    prototxt = tmp_path / "braces.prototxt"
    braces = "{" * (2 * caffe_io.MAX_NESTING)
    prototxt.write_text(f'# {braces}\nname: "{braces}"\n' + deploy_prototxt.read_text().split("\n", 1)[1])
    assert caffe_io.read_prototxt(prototxt).name == braces

    def layer_nesting(inner: int) -> str:  # layer { pooling_param { + inner levels
        return f'layer {{ name: "p" type: "Pooling" pooling_param {{ {"x { " * inner}{"} " * inner}}} }}\n'

    prototxt.write_text(layer_nesting(caffe_io.MAX_NESTING - 1))
    with pytest.raises(CaffeParseError, match=f"nested more than {caffe_io.MAX_NESTING} levels deep at line 1"):
        caffe_io.read_prototxt(prototxt)
    prototxt.write_text(layer_nesting(caffe_io.MAX_NESTING - 2))
    assert caffe_io.read_prototxt(prototxt).layer[0].name == "p"


def test_misspelt_param_on_supported_layer_is_not_silently_dropped(tmp_path):
    prototxt = tmp_path / "typo.prototxt"
    prototxt.write_text(
        'name: "tiny"\n'
        'layer { name: "data" type: "Input" top: "data"\n'
        "        input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }\n"
        'layer { name: "relu" type: "ReLU" bottom: "data" top: "out"\n'
        "        rleu_param { negative_slope: 0.2 } }\n"
    )

    with pytest.raises(ConversionError, match="rleu_param"):
        build_model(caffe_io.read_prototxt(prototxt), {})


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.slow  # a converter subprocess
@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_exits_2_with_one_line(broken, tmp_path, name):
    inputs, fragments = broken(name)
    output = tmp_path / "out" / "m.onnx"

    assert_one_line_error(run_convert(inputs, output), output, fragments)


@pytest.mark.slow  # a converter subprocess
def test_cli_unwritable_output_exits_2_with_one_line(synthetic_release, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    output = tmp_path / "a_file" / "m.onnx"
    inputs = Inputs(synthetic_release.prototxt, synthetic_release.caffemodel, synthetic_release.hull)

    assert_one_line_error(run_convert(inputs, output), output, [str(output)])
