#!/usr/bin/env python3
"""Turn the synthesis flow's results (rtl/flow/results.csv) into the C table
cim_periph_cost_rows of cim/energy.h: one row per synthesized cim_shift_add.
Usage: periph_cost.py RESULTS.csv OUT.c"""
import csv
import sys

KEYS = ["ADC_W", "DAC_BITS", "IN_SLICES", "CELL_BITS", "W_SLICES", "ACC_W", "OUT_W", "ROUND", "SAT"]


def main(src, dst):
    rows = []
    with open(src, newline="") as f:
        for r in csv.DictReader(f):
            if r["unit"] != "cim_shift_add":
                continue
            p = dict(kv.split("=") for kv in r["params"].split())
            ints = ", ".join(str(int(p[k])) for k in KEYS)
            rows.append("    {%s, %s, %s, %s}," % (ints, float(r["area_um2"]), float(r["energy_pj"]),
                                                 float(r["energy_glitch_pj"])))
    if not rows:
        sys.exit("periph_cost.py: %s: no cim_shift_add row" % src)
    out = ["/* Generated from %s by cim/periph_cost.py; do not edit. */" % src.split("/")[-1],
           '#include "cim/energy.h"', "",
           "const struct cim_periph_cost_row cim_periph_cost_rows[] = {"] + rows + [
           "};", "const int cim_periph_cost_count = %d;" % len(rows), ""]
    with open(dst + ".tmp", "w") as f:
        f.write("\n".join(out))
    import os
    os.replace(dst + ".tmp", dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
