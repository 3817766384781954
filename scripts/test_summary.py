"""Sum Check's results over meson testlog.json files into one line: N passed, N failed.

Each Check program ends with "NN%: Checks: N, Failures: F, Errors: E"; a program
that died before that line (crash, timeout, sanitizer exit) counts as one failure.
"""
import json
import re
import sys

CLOSING = re.compile(r"^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)", re.M)


def tally(test):
    """(passed, failed, skipped) of one meson test entry."""
    if test.get("result") == "SKIP":
        return 0, 0, 1
    ok = test.get("result") == "OK"
    found = CLOSING.findall(test.get("stdout") or "")
    if not found:
        return (1, 0, 0) if ok else (0, 1, 0)
    passed = sum(int(n) - int(f) - int(e) for n, f, e in found)
    failed = sum(int(f) + int(e) for _, f, e in found)
    if not ok and failed == 0:
        failed = 1  # Check said all was well, yet the program failed (sanitizer, exit code)
    return passed, failed, 0


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.strip():
                    p, fl, s = tally(json.loads(line))
                    passed, failed, skipped = passed + p, failed + fl, skipped + s
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["build/meson-logs/testlog.json"]))
