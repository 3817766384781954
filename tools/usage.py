"""Command lines of cim's Python tools: bad usage is one line and exit 2, as in cim.

argparse prints its whole usage block on an error; scripts and logs want the one
line that says what was wrong.

    from usage import Parser
    ap = Parser(prog="export_torch.py", description="...")
"""
import argparse
import sys


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(2)
