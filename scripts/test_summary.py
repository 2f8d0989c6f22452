"""The summary at the end of scripts/test.sh: each step's time, pytest's counts, every skip and why.

Reads what test.sh leaves in its results directory: ``steps.tsv`` (one line
per step: name, seconds, exit status), ``pytest.xml`` (pytest's JUnit
report), ``*-units.xml`` (ansible-test units' reports) and
``skips/<step>.txt`` (the reason of a step that skipped itself: Molecule's
kind scenario writes it where ``DASKHUB_TEST_SKIPS`` points).
Exits non-zero when pytest ran no test at all, so that a suite that collects
nothing cannot pass.

    python scripts/test_summary.py build/test-results
"""

from __future__ import annotations

import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path


def steps(results: Path) -> list[tuple[str, int, int]]:
    path = results / "steps.tsv"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        name, seconds, status = line.split("\t")
        rows.append((name, int(seconds), int(status)))
    return rows


def pytest_report(results: Path, name: str = "pytest.xml") -> dict | None:
    """Counts, skips (test id, reason) and failures of a pytest JUnit XML; None without one."""
    path = results / name
    if not path.exists():
        return None
    root = ET.parse(path).getroot()  # noqa: S314  our own pytest run wrote it
    counts = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    skips, failures = [], []
    for case in root.iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        counts["tests"] += 1
        if (skipped := case.find("skipped")) is not None:
            counts["skipped"] += 1
            reason = skipped.get("message") or (skipped.text or "").strip() or "no reason given"
            skips.append((test_id, reason))
        elif case.find("failure") is not None:
            counts["failed"] += 1
            failures.append(test_id)
        elif case.find("error") is not None:
            counts["errors"] += 1
            failures.append(test_id)
        else:
            counts["passed"] += 1
    seconds = sum(float(suite.get("time", 0)) for suite in root.iter("testsuite"))
    return {"counts": counts, "skips": skips, "failures": failures, "seconds": seconds}


def self_skips(results: Path) -> list[tuple[str, str]]:
    """(step, reason) of every step that skipped itself and said why in ``skips/<step>.txt``.

    A file, not a line of the step's log: Ansible's output folds a long
    message across lines and colours it.
    """
    return [
        (path.stem, " ".join(path.read_text(errors="replace").split()) or "no reason given")
        for path in sorted((results / "skips").glob("*.txt"))
    ]


def print_counts(label: str, report: dict) -> None:
    counts = report["counts"]
    print(
        f"{label}: {counts['tests']} tests, {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['errors']} errors, {counts['skipped']} skipped ({report['seconds']:.0f} s in tests)"
    )
    for test_id in report["failures"]:
        print(f"  FAILED {test_id}")


def main(results: Path) -> int:
    print("\n=== Summary")
    rows = steps(results)
    width = max([len(row[0]) for row in rows] + [4])
    for name, seconds, status in rows:
        print(f"{name:<{width}}  {seconds:>5} s  {'ok' if status == 0 else f'FAILED (exit {status})'}")
    total = sum(row[1] for row in rows)
    print(f"{'total':<{width}}  {total:>5} s  (the steps' sum; some run side by side)")
    started = results / "started"
    if started.exists():
        wall = int(time.time()) - int(started.read_text().strip())
        print(f"{'wall':<{width}}  {wall:>5} s  (from the start of scripts/test.sh, bootstrap included)")

    status = 0
    report = pytest_report(results)
    if report is None:
        print("pytest: no report (the pytest step did not run)")
    else:
        print_counts("pytest", report)
        if report["counts"]["tests"] == 0:
            print("pytest ran no test: that is a failure")
            status = 1
    skips = list(report["skips"]) if report else []
    # ansible-test units' pytest (tests/unit/plugins), one report per test context.
    for path in sorted(results.glob("*-units.xml")):
        units = pytest_report(results, path.name)
        print_counts(f"ansible-test units ({path.stem})", units)
        skips += units["skips"]
    skips += [(f"{step} (step)", reason) for step, reason in self_skips(results)]
    print(f"skipped: {len(skips)}" + (":" if skips else ""))
    for what, reason in skips:
        print(f"  {what}: {reason}")
    return status


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/test-results")))
