"""`make check-report`: train the demo network briefly, write its report and a comparison
report, and take screenshots of both with headless Chromium, to look at before a release.

    python tools/check_report.py [--out check-report] [--steps 300]
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from neurodyn.demo import DEMO_CONFIG, run_demo
from neurodyn.report.compare import write_comparison_report
from neurodyn.report.screenshot import find_chromium, screenshot
from neurodyn.runs import parse_config, train_run
from neurodyn.runs.compare import compare_runs, comparison_setup, save_comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="check-report", help="folder for runs and screenshots")
    parser.add_argument("--steps", type=int, default=300, help="training steps of each run")
    args = parser.parse_args()
    out = Path(args.out)
    root = out / "runs"
    run, report = run_demo(root, steps=args.steps)
    # a second run of two networks, so the comparison has a run of one and a run of two
    data = copy.deepcopy(DEMO_CONFIG)
    data["name"] = "demo-seeds"
    data["model"]["seeds"] = [2, 3]
    data["train"].update(steps=args.steps, checkpoint_every=args.steps)
    other = train_run(parse_config(data), root)
    result = compare_runs([run, other], "cka", progress=True)
    folder = save_comparison(result, root, "check")
    setup = comparison_setup([run, other], "cka").describe()
    comparison = write_comparison_report(folder / "report.html", result, setup=setup)
    print(f"run report: {report}\ncomparison report: {comparison}")
    if find_chromium() is None:
        print("no Chromium installed (Debian: apt-get install chromium): no screenshots")
        return
    for name, page in (("run-report", report), ("compare-report", comparison)):
        print(f"screenshot: {screenshot(page, out / f'{name}.png')}")


if __name__ == "__main__":
    main()
