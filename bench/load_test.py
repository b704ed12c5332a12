"""Load test: many gradio_client clients against one app on 127.0.0.1 (the workload and its
measurements live in testkit.load, which tests/test_load.py runs in a reduced form).

Run by hand (several minutes; prints Markdown tables):

    python -m bench.load_test                          # 32 clients, 400 requests of mixed sizes
    python -m bench.load_test --clients 8 --requests 40 --service-samples 3
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from testkit.load import (
    RssSampler,
    full_workload,
    machine_line,
    queue_full_burst,
    report,
    run_load,
    server_process,
    service_times,
)


def main() -> None:
    from bench.colorize_bench import model_path
    from testkit.app_server import running_app

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--service-samples", type=int, default=5, help="sequential requests per kind")
    parser.add_argument("--burst", type=int, default=48, help="raw queue/join requests sent at once (0: skip)")
    args = parser.parse_args()

    model = model_path()
    kinds = full_workload()
    with tempfile.TemporaryDirectory(prefix="load_test") as work:
        work_dir = Path(work)
        with running_app(model, work_dir / "server") as url:
            server = server_process(url)
            print(machine_line(model))
            medians = service_times(url, kinds, args.service_samples, work_dir / "files", work_dir / "service")
            with RssSampler(server) as rss:
                outcomes, wall = run_load(
                    url, kinds, args.clients, args.requests, work_dir / "files", work_dir / "downloads"
                )
            burst = None
            if args.burst:
                burst = queue_full_burst(url, work_dir / "files" / kinds[1].filename, args.burst)
            report(outcomes, wall, args.clients, medians, rss.samples, burst)


if __name__ == "__main__":
    main()
