"""Seconds per test file (and per lesson notebook) from `make test`'s build/test-results.xml.

Usage: python tools/test_times.py [build/test-results.xml]
"""
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def main(path: str = "build/test-results.xml") -> None:
    totals: dict[str, float] = defaultdict(float)
    for case in ET.parse(path).iter("testcase"):
        totals[case.get("file") or case.get("classname", "?").split("::")[0]] += float(case.get("time", 0))
    for name, seconds in sorted(totals.items()):
        print(f"{seconds:8.1f} s  {name}")
    print(f"{sum(totals.values()):8.1f} s  total")


if __name__ == "__main__":
    main(*sys.argv[1:])
