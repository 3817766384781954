#!/usr/bin/env python3
"""Write a man page of cim with help2man, from cim's own --help.

    man.py HELP2MAN CIM OUTPUT            cim(1), from `cim --help`
    man.py HELP2MAN CIM OUTPUT COMMAND    cim-COMMAND(1), from `cim COMMAND --help`

The NAME line of a command's page is its summary in `cim --help`; cim(1)'s
SEE ALSO lists the page of every command found there, so nothing here can go
stale when a command or an option changes.
"""
import os
import re
import subprocess
import sys
import tempfile

NAME = "model a compute-in-memory accelerator: train networks, run them on a crossbar model"


def run(argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def commands(cim):
    """(name, summary) of each command under "Commands:" in `cim --help`."""
    text = run([cim, "--help"])
    block = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    return [tuple(m.groups()) for m in re.finditer(r"^  (\S+) +(.*)$", block, re.M)]


def main():
    help2man, cim, output = sys.argv[1:4]
    command = sys.argv[4] if len(sys.argv) > 4 else None
    version = run([cim, "--version"]).split()[1]
    cmds = commands(cim)
    if command is None:
        page, name, help_option = "cim", NAME, "--help"
        see_also = ",\n".join(f".BR cim\\-{c} (1)" for c, _ in cmds)
    else:
        summaries = dict(cmds)
        if command not in summaries:
            sys.exit(f"man.py: `{cim} --help` lists no command '{command}'")
        page, name, help_option = f"cim-{command}", summaries[command], f"{command} --help"
        see_also = ".BR cim (1)"
    with tempfile.NamedTemporaryFile("w", suffix=".h2m", delete=False) as inc:
        inc.write(f"[SEE ALSO]\n{see_also}\n")
    try:
        roff = run([help2man, "--no-info",
                    f"--name={name}", f"--help-option={help_option}",
                    f"--version-string={page} {version}", f"--source=cim {version}",
                    f"--include={inc.name}", cim])
    finally:
        os.unlink(inc.name)
    if command is not None:
        # help2man takes the first word of "Usage: cim COMMAND ..." as the
        # program; the synopsis reads better with the command in bold too.
        # ".B cim" then "\fI\,train \/\fR[..." becomes ".B cim train" then "[...".
        roff = re.sub(r"^\.B cim\n\\fI\\," + re.escape(command) + " ",
                      lambda _: f".B cim {command}\n\\fI\\,", roff, count=1, flags=re.M)
        roff = roff.replace("\\fI\\,\\/\\fR", "")
    # Left-aligned and unhyphenated: options and file names stay whole.
    roff = re.sub(r"^(\.TH .*\n)", r"\1.ad l\n.nh\n", roff, count=1, flags=re.M)
    with open(output, "w", encoding="utf-8") as f:
        f.write(roff)


if __name__ == "__main__":
    main()
