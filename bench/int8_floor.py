"""Benchmark: what holds the int8 network, against this CPU's int8 matrix-product floor.

Run by hand:  python -m bench.int8_floor [--runs 7]

1. The floor: onnxruntime's own int8 GEMM (a one-node MatMulInteger model, 2048^3, uint8 x int8 and
   uint8 x uint8) and numpy's float32 sgemm of the same size, best of --runs, in GOP/s (2 ops a
   multiply-add). The CPU flags say which int8 instructions exist (AVX-512 VNNI, AVX-VNNI or only
   AVX2's vpmaddubsw).
2. The int8 network (the benchmark's converted model, see bench/colorize_bench.py) at 224x224 with
   onnxruntime's profiler: the share of time per operator type, so that the time outside the int8
   convolutions (quantize / dequantize, float layers) shows.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

SIZE = 2048
NETWORK_GMAC = 32.0  # per 224x224 inference (bench/colorize_bench.py counts 64 GFLOP)


def cpu_flags() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    wanted = [flag for flag in flags if flag.startswith(("avx512", "avx_vnni", "amx")) or flag in ("avx2", "fma")]
    return " ".join(sorted(wanted)) or "unknown"


def matmul_integer_model(b_type: int) -> bytes:
    """A one-node model: uint8 A (SIZE x SIZE) x B (int8 or uint8, a constant) -> int32."""
    rng = np.random.default_rng(0)
    b = rng.integers(-128, 128, (SIZE, SIZE)) if b_type == TensorProto.INT8 else rng.integers(0, 256, (SIZE, SIZE))
    weight = helper.make_tensor(
        "b", b_type, (SIZE, SIZE), b.astype(np.int8 if b_type == TensorProto.INT8 else np.uint8).tobytes(), raw=True
    )
    node = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
    graph = helper.make_graph(
        [node],
        "qgemm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, (SIZE, SIZE))],
        [helper.make_tensor_value_info("y", TensorProto.INT32, (SIZE, SIZE))],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def best_seconds(function, runs: int) -> float:
    function()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_floor(runs: int) -> dict[str, float]:
    """GOP/s of int8 (u8s8, u8u8) and float32 products of SIZE^3."""
    operations = 2 * SIZE**3
    rates = {}
    a8 = np.random.default_rng(1).integers(0, 256, (SIZE, SIZE), dtype=np.uint8)
    for name, b_type in (
        ("int8 u8s8 (MatMulInteger)", TensorProto.INT8),
        ("int8 u8u8 (MatMulInteger)", TensorProto.UINT8),
    ):
        session = ort.InferenceSession(matmul_integer_model(b_type), providers=["CPUExecutionProvider"])
        rates[name] = operations / best_seconds(lambda session=session: session.run(None, {"a": a8}), runs) / 1e9
    a32 = np.random.default_rng(2).random((SIZE, SIZE), dtype=np.float32)
    rates["float32 sgemm (numpy)"] = operations / best_seconds(lambda: a32 @ a32, runs) / 1e9
    return rates


def network_profile(model: Path, runs: int) -> tuple[float, list[tuple[str, float]]]:
    """(best seconds of one 224x224 inference, [(operator type, share of the profiled time)])."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.enable_profiling = True
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: np.zeros((1, 1, 224, 224), np.float32)}
    seconds = best_seconds(lambda: session.run(None, feeds), runs)
    trace = Path(session.end_profiling())
    totals: dict[str, float] = collections.defaultdict(float)
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            totals[event["args"]["op_name"]] += event["dur"]
    trace.unlink()
    overall = sum(totals.values())
    return seconds, sorted(((op, time / overall) for op, time in totals.items()), key=lambda item: -item[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from bench.colorize_bench import model_path

    print(f"CPU flags: {cpu_flags()}; onnxruntime {ort.__version__}; best of {args.runs}")
    rates = gemm_floor(args.runs)
    print("| product, 2048^3 | GOP/s |\n|---|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:.0f} |")
    floor = rates["int8 u8s8 (MatMulInteger)"]
    for precision in ("int8", "fp32"):
        path = model_path(precision)
        onnx.checker.check_model(str(path))
        seconds, shares = network_profile(path, args.runs)
        rate = 2 * NETWORK_GMAC / seconds
        print(
            f"\n{precision} network, 224x224: {seconds * 1000:.0f} ms = {rate:.0f} GOP/s "
            f"({rate / floor:.0%} of the int8 GEMM floor); time per operator type:"
        )
        print("| operator | share |\n|---|---:|")
        for op, share in shares[:8]:
            print(f"| {op} | {share:.0%} |")


if __name__ == "__main__":
    main()
