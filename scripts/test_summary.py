"""Sum Check's results over a meson testlog.json into one line: N passed, N failed.

Each Check program ends with "NN%: Checks: N, Failures: F, Errors: E"; a program
that died before that line (crash, timeout) counts as one failure.
"""
import json
import re
import sys

CLOSING = re.compile(r"^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)", re.M)


def main(path):
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            if t.get("result") == "SKIP":
                skipped += 1
                continue
            found = CLOSING.findall(t.get("stdout") or "")
            if not found:
                ok = t.get("result") == "OK"
                passed += ok
                failed += not ok
                continue
            for n, fails, errors in found:
                passed += int(n) - int(fails) - int(errors)
                failed += int(fails) + int(errors)
            if t.get("result") != "OK" and all(int(f) + int(e) == 0 for _, f, e in found):
                failed += 1
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json"))
