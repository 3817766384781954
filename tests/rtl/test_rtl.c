/*
 * test_rtl.c: the Verilog periphery (rtl/) against the C models, bit for bit.
 *
 * For each parameter point, rtl-vectors (tests/rtl/rtl_vectors.c) writes
 * realistic operands (slices of the shipped lenet5's layers on test images)
 * and edge-case operands and the outputs that quant/round.h and
 * cim/periph.h expect; Icarus Verilog compiles the testbench of rtl/tb/ with
 * the point's parameters (-P overrides), runs it, and every OUT_W-bit result
 * must equal the expected one, with out_valid at the documented latency and
 * no X or Z bit. Verilator lints every module at several points. The points
 * cover both rounding extremes and the middle, wrap and saturate, outputs
 * narrower than, equal to and wider than the accumulator, unsigned and signed
 * activations, 1, 3 and 16 lanes, the three dot-product architectures
 * (exact, truncated datapath, rounding folded into the adder tree), and the
 * shift-add with narrow and lossless accumulators.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "rtl_run.h"
#include "testutil.h"

#define VECTORS_REALISTIC 120 /* per point, beside ~40 edge cases */
#define MODEL "data/weights/lenet5-fmnist.h5" /* the realistic operands' source */
#define LOG_MAX 4000

/* ---------------------------------------------------------------- points */

struct dot_point {
    int n, a_w, w_w, a_signed, out_w, shift, round, sat, arch; /* 0 exact, 1 early, 2 cheap */
};

static const char *const arch_names[3] = {"exact", "early", "cheap"};
static const char *const arch_units[3] = {"cim_dot", "cim_dot_early", "cim_dot_cheap"};

/* ACC_W = A_W + W_W + clog2(N): 20 for 16 lanes of 8x8, 18 for 3, 16 for 1. */
static const struct dot_point dot_points[] = {
    {16, 8, 8, 0, 20, 0, 0, 1, 0},  /* full width, nothing dropped */
    {16, 8, 8, 0, 16, 4, 0, 1, 0},  /* MSB-aligned, floor */
    {16, 8, 8, 0, 16, 4, 2, 0, 0},  /* MSB-aligned, half even, wrap */
    {16, 8, 8, 0, 8, 6, 1, 1, 0},   /* narrow: overflows both ways, saturated */
    {16, 8, 8, 0, 8, 6, 2, 0, 0},   /* ... wrapped */
    {16, 8, 8, 0, 8, 12, 2, 1, 0},  /* MSB-aligned 8 bits */
    {16, 4, 4, 0, 8, 4, 2, 1, 0},   /* the nested 4-bit precision */
    {3, 8, 8, 1, 12, 3, 2, 1, 0},   /* signed activations, 3 lanes */
    {3, 8, 8, 1, 6, 5, 0, 0, 0},
    {3, 8, 8, 1, 24, 0, 1, 1, 0},   /* output wider than the accumulator */
    {3, 8, 8, 1, 4, 22, 2, 1, 0},   /* SHIFT beyond the accumulator */
    {1, 8, 8, 0, 16, 0, 1, 1, 0},   /* one lane, full width */
    {1, 8, 8, 1, 4, 2, 2, 1, 0},
    {16, 8, 8, 0, 1, 19, 1, 1, 0},  /* a one-bit output */
    {16, 8, 8, 0, 20, 0, 2, 1, 1},  /* early, nothing to drop */
    {16, 8, 8, 0, 12, 8, 0, 0, 1},  /* early, DROP 6 */
    {16, 8, 8, 0, 8, 12, 2, 1, 1},  /* early, DROP 10 */
    {3, 8, 8, 1, 6, 5, 1, 1, 1},    /* early, signed */
    {1, 8, 8, 0, 6, 14, 1, 0, 1},   /* early, DROP limited to A_W + W_W - 2 */
    {16, 8, 8, 0, 12, 8, 1, 1, 2},  /* cheap rounding: half up in the tree */
    {16, 8, 8, 0, 8, 12, 2, 0, 2},  /* ... half even, wrapped */
    {16, 8, 8, 0, 8, 6, 2, 1, 2},   /* ... saturated both ways */
    {16, 4, 4, 0, 6, 6, 2, 1, 2},
    {3, 8, 8, 1, 6, 5, 2, 1, 2},    /* ... signed activations */
    {3, 8, 8, 1, 4, 22, 2, 1, 2},   /* ... SHIFT beyond the accumulator */
    {1, 8, 8, 0, 16, 0, 1, 1, 2},   /* ... nothing dropped */
    {1, 8, 8, 0, 4, 1, 2, 0, 2},    /* ... one bit dropped */
};

struct sa_point {
    int adc, dac, in_slices, cell, w_slices, acc_w, out_w, shift, round, sat;
};

/* acc_w 0: the lossless width (22 for the first rows). */
static const struct sa_point sa_points[] = {
    {6, 1, 8, 2, 4, 0, 22, 0, 0, 1},  /* lossless, full width */
    {6, 1, 8, 2, 4, 0, 16, 6, 2, 1},
    {6, 1, 8, 2, 4, 0, 8, 10, 1, 0},
    {6, 1, 8, 2, 4, 0, 8, 8, 0, 1},
    {4, 2, 4, 4, 2, 0, 6, 6, 1, 0},
    {5, 1, 1, 1, 1, 4, 3, 1, 2, 1},   /* one slice each, accumulator wraps */
    {8, 4, 2, 4, 2, 12, 10, 2, 0, 0}, /* accumulator narrower than lossless (18) */
    {3, 1, 4, 1, 4, 0, 12, 0, 2, 1},
};

/* ---------------------------------------------------------------- helpers */

static const char *srcdir(void)
{
    const char *s = getenv("CIM_SRCDIR");
    ck_assert_msg(s != NULL && *s != '\0', "CIM_SRCDIR is not set (run through meson test)");
    return s;
}

static void point_dir(char *dir, size_t size, const char *kind, int idx)
{
    snprintf(dir, size, "%s/%s-%d", test_tmpdir(), kind, idx);
    ck_assert_msg(mkdir(dir, 0755) == 0, "cannot create %s", dir);
}

/* Run `cmd`, failing the test with the tail of its log when it exits non-zero. */
static void must_run(const char *what, const char *cmd, const char *dir)
{
    char log[1100], text[LOG_MAX];
    snprintf(log, sizeof log, "%s/%s.log", dir, what);
    int st = rtl_run(cmd, log);
    ck_assert_msg(st == 0, "%s failed (status %d): %s\n%s", what, st, cmd,
                  rtl_slurp(log, text, sizeof text));
}

/* Parse one line of hex digits (no X or Z) into *v; 0 when it is not that. */
static int parse_hex(const char *line, uint64_t *v)
{
    const char *p = line;
    uint64_t x = 0;
    int digits = 0;
    for (; *p != '\0' && *p != '\n'; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return 0;
        if (digits++ >= 16)
            return 0;
        x = (x << 4) | (uint64_t)d;
    }
    *v = x;
    return digits > 0;
}

/* Compare the simulator's results with the expected ones: 0 when every
 * result matches; otherwise 1 with `why` naming the first mismatch (index and
 * both values), a count mismatch, an X or Z bit, or cycles where the testbench
 * saw out_valid off its latency. */
static int compare_outputs(const char *dir, const char *label, int out_w, char *why,
                           size_t why_size)
{
    char path[1100], line[256], want_line[256];
    uint64_t mask = out_w >= 64 ? UINT64_MAX : (UINT64_C(1) << out_w) - 1;
    long k = 0, results = -1, errors = -1;
    int bad = 1;
    snprintf(path, sizeof path, "%s/y.hex", dir);
    FILE *fe = fopen(path, "r");
    snprintf(path, sizeof path, "%s/got.hex", dir);
    FILE *fg = fopen(path, "r");
    if (fe == NULL || fg == NULL) {
        snprintf(why, why_size, "%s: cannot read y.hex or got.hex in %s", label, dir);
        goto done;
    }
    for (; fgets(want_line, sizeof want_line, fe) != NULL; k++) {
        uint64_t want, got;
        if (!parse_hex(want_line, &want)) {
            snprintf(why, why_size, "%s: bad expected line %ld", label, k);
            goto done;
        }
        if (fgets(line, sizeof line, fg) == NULL || strncmp(line, "end", 3) == 0) {
            snprintf(why, why_size, "%s: simulation gave %ld results, expected more", label,
                     k);
            goto done;
        }
        if (!parse_hex(line, &got)) {
            snprintf(why, why_size, "%s: vector %ld: result '%.40s' is not clean hex (X or Z?)",
                     label, k, line);
            goto done;
        }
        if ((got & mask) != (want & mask)) {
            snprintf(why, why_size,
                     "%s: vector %ld: Verilog gives 0x%" PRIx64 ", C expects 0x%" PRIx64
                     " (%d bits)",
                     label, k, got & mask, want & mask, out_w);
            goto done;
        }
    }
    if (fgets(line, sizeof line, fg) == NULL ||
        sscanf(line, "end %ld %ld", &results, &errors) != 2) {
        snprintf(why, why_size, "%s: more results than the %ld expected, or no end line", label,
                 k);
        goto done;
    }
    if (results != k) {
        snprintf(why, why_size, "%s: %ld results for %ld vectors", label, results, k);
        goto done;
    }
    if (errors != 0) {
        snprintf(why, why_size, "%s: %ld cycles with out_valid off the documented latency",
                 label, errors);
        goto done;
    }
    bad = 0;
done:
    if (fe != NULL)
        fclose(fe);
    if (fg != NULL)
        fclose(fg);
    return bad;
}

static void assert_outputs(const char *dir, const char *label, int out_w)
{
    char why[600];
    ck_assert_msg(compare_outputs(dir, label, out_w, why, sizeof why) == 0, "%s", why);
}

/* The number of vectors from rtl-vectors' report line. */
static long vector_count(const char *dir)
{
    char path[1100], text[LOG_MAX];
    snprintf(path, sizeof path, "%s/vectors.log", dir);
    long n = -1;
    ck_assert_msg(sscanf(rtl_slurp(path, text, sizeof text), "vectors %ld", &n) == 1 && n > 0,
                  "rtl-vectors printed no count: %s", text);
    return n;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_dot)
{
    const struct dot_point *p = &dot_points[_i];
    const char *gen = rtl_tool("CIM_RTL_VECTORS", "(built by meson: rtl-vectors)");
    const char *iverilog = rtl_tool("CIM_IVERILOG", "iverilog");
    const char *vvp = rtl_tool("CIM_VVP", "iverilog");
    const char *src = srcdir();
    char dir[1024], cmd[16384], label[200];
    point_dir(dir, sizeof dir, "dot", _i);
    snprintf(label, sizeof label,
             "%s N=%d A_W=%d W_W=%d A_SIGNED=%d OUT_W=%d SHIFT=%d ROUND=%d SAT=%d",
             arch_units[p->arch], p->n, p->a_w, p->w_w, p->a_signed,
             p->out_w, p->shift, p->round, p->sat);

    snprintf(cmd, sizeof cmd,
             "'%s' dot --dir '%s' --n %d --a-w %d --w-w %d --a-signed %d --out-w %d "
             "--shift %d --round %d --sat %d --arch %s --count %d --seed %d --model '%s/%s'",
             gen, dir, p->n, p->a_w, p->w_w, p->a_signed, p->out_w, p->shift, p->round,
             p->sat, arch_names[p->arch], VECTORS_REALISTIC, 100 + _i, src, MODEL);
    must_run("vectors", cmd, dir);
    long nv = vector_count(dir);

    snprintf(cmd, sizeof cmd,
             "'%s' -g2012 -o '%s/sim' -s tb_cim_dot -Ptb_cim_dot.N=%d -Ptb_cim_dot.A_W=%d "
             "-Ptb_cim_dot.W_W=%d -Ptb_cim_dot.A_SIGNED=%d -Ptb_cim_dot.OUT_W=%d "
             "-Ptb_cim_dot.SHIFT=%d -Ptb_cim_dot.ROUND=%d -Ptb_cim_dot.SAT=%d "
             "-Ptb_cim_dot.ARCH=%d -Ptb_cim_dot.NV=%ld '%s/rtl/tb/tb_cim_dot.v' "
             "'%s/rtl/cim_dot.v' '%s/rtl/cim_dot_early.v' '%s/rtl/cim_dot_cheap.v' "
             "'%s/rtl/cim_dot_sum.v' '%s/rtl/cim_requant.v'",
             iverilog, dir, p->n, p->a_w, p->w_w, p->a_signed, p->out_w, p->shift, p->round,
             p->sat, p->arch, nv, src, src, src, src, src, src);
    must_run("iverilog", cmd, dir);
    snprintf(cmd, sizeof cmd, "'%s' -n '%s/sim' +a='%s/a.hex' +w='%s/w.hex' +out='%s/got.hex'",
             vvp, dir, dir, dir, dir);
    must_run("vvp", cmd, dir);
    assert_outputs(dir, label, p->out_w);
}
END_TEST

START_TEST(test_shift_add)
{
    const struct sa_point *p = &sa_points[_i];
    const char *gen = rtl_tool("CIM_RTL_VECTORS", "(built by meson: rtl-vectors)");
    const char *iverilog = rtl_tool("CIM_IVERILOG", "iverilog");
    const char *vvp = rtl_tool("CIM_VVP", "iverilog");
    const char *src = srcdir();
    char dir[1024], cmd[16384], label[200];
    point_dir(dir, sizeof dir, "sa", _i);

    snprintf(cmd, sizeof cmd,
             "'%s' shift-add --dir '%s' --adc %d --dac %d --in-slices %d --cell %d "
             "--w-slices %d --acc-w %d --out-w %d --shift %d --round %d --sat %d "
             "--count %d --seed %d --model '%s/%s'",
             gen, dir, p->adc, p->dac, p->in_slices, p->cell, p->w_slices, p->acc_w, p->out_w,
             p->shift, p->round, p->sat, VECTORS_REALISTIC, 200 + _i, src, MODEL);
    must_run("vectors", cmd, dir);
    long nv = vector_count(dir);
    /* The accumulator width the generator used (lossless when acc_w is 0). */
    char path[1100], text[LOG_MAX];
    int acc_w = p->acc_w;
    if (acc_w == 0) {
        snprintf(path, sizeof path, "%s/vectors.log", dir);
        const char *at = strstr(rtl_slurp(path, text, sizeof text), "acc_w ");
        ck_assert_msg(at != NULL && sscanf(at, "acc_w %d", &acc_w) == 1,
                      "rtl-vectors printed no accumulator width: %s", text);
    }
    snprintf(label, sizeof label,
             "cim_shift_add ADC_W=%d DAC_BITS=%d IN_SLICES=%d CELL_BITS=%d W_SLICES=%d "
             "ACC_W=%d OUT_W=%d SHIFT=%d ROUND=%d SAT=%d",
             p->adc, p->dac, p->in_slices, p->cell, p->w_slices, acc_w, p->out_w, p->shift,
             p->round, p->sat);

    const char *t = "tb_cim_shift_add";
    snprintf(cmd, sizeof cmd,
             "'%s' -g2012 -o '%s/sim' -s %s -P%s.ADC_W=%d -P%s.DAC_BITS=%d "
             "-P%s.IN_SLICES=%d -P%s.CELL_BITS=%d -P%s.W_SLICES=%d -P%s.ACC_W=%d "
             "-P%s.OUT_W=%d -P%s.SHIFT=%d -P%s.ROUND=%d -P%s.SAT=%d -P%s.NV=%ld "
             "'%s/rtl/tb/tb_cim_shift_add.v' '%s/rtl/cim_shift_add.v' '%s/rtl/cim_requant.v'",
             iverilog, dir, t, t, p->adc, t, p->dac, t, p->in_slices, t, p->cell, t,
             p->w_slices, t, acc_w, t, p->out_w, t, p->shift, t, p->round, t, p->sat, t, nv,
             src, src, src);
    must_run("iverilog", cmd, dir);
    snprintf(cmd, sizeof cmd, "'%s' -n '%s/sim' +d='%s/d.hex' +out='%s/got.hex'", vvp, dir,
             dir, dir);
    must_run("vvp", cmd, dir);
    assert_outputs(dir, label, p->out_w);
}
END_TEST

/* The comparison itself must catch a wrong bit, an X, a missing result and a
 * latency error: feed it doctored files. */
START_TEST(test_compare_catches)
{
    static const char *const got_files[] = {
        "0005\n00ff\nend 2 0\n", /* one bit off */
        "0004\n00x0\nend 2 0\n", /* an X */
        "0004\nend 1 0\n",       /* a result missing */
        "0004\n00f0\nend 2 1\n", /* out_valid late */
    };
    char dir[1024], path[1100];
    point_dir(dir, sizeof dir, "cmp", _i);
    snprintf(path, sizeof path, "%s/y.hex", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("0004\n00f0\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/got.hex", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(got_files[_i], f);
    fclose(f);
    char why[600];
    ck_assert_msg(compare_outputs(dir, "doctored", 16, why, sizeof why) != 0,
                  "doctored file %d passed", _i);
}
END_TEST

/* The same comparison on agreeing files passes. */
START_TEST(test_compare_accepts)
{
    char dir[1024], path[1100];
    point_dir(dir, sizeof dir, "cmp-ok", 0);
    snprintf(path, sizeof path, "%s/y.hex", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("0004\n00f0\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/got.hex", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("0004\n00F0\nend 2 0\n", f);
    fclose(f);
    assert_outputs(dir, "agreeing", 16);
}
END_TEST

/* Verilator -Wall at parameter points that reach every generate branch. */
static const char *const lint_points[] = {
    "--top-module cim_dot",
    "--top-module cim_dot -GN=1 -GOUT_W=16 -GSHIFT=0 -GROUND=1",
    "--top-module cim_dot -GN=3 -GA_SIGNED=1 -GOUT_W=6 -GSHIFT=5 -GROUND=2 -GSAT=0",
    "--top-module cim_dot -GOUT_W=24 -GSHIFT=0 -GROUND=2",
    "--top-module cim_dot -GOUT_W=1 -GSHIFT=19 -GROUND=2",
    "--top-module cim_dot -GOUT_W=4 -GSHIFT=30 -GROUND=1 -GSAT=0",
    "--top-module cim_dot_early",
    "--top-module cim_dot_early -GOUT_W=8 -GSHIFT=12 -GROUND=2",
    "--top-module cim_dot_early -GN=1 -GOUT_W=6 -GSHIFT=14 -GSAT=0",
    "--top-module cim_dot_cheap",
    "--top-module cim_dot_cheap -GOUT_W=8 -GSHIFT=12 -GROUND=2 -GSAT=0",
    "--top-module cim_dot_cheap -GN=3 -GA_SIGNED=1 -GOUT_W=4 -GSHIFT=22 -GROUND=2",
    "--top-module cim_dot_cheap -GN=1 -GOUT_W=4 -GSHIFT=1 -GROUND=1",
    "--top-module cim_shift_add",
    "--top-module cim_shift_add -GW_SLICES=1 -GIN_SLICES=1 -GACC_W=4 -GOUT_W=3 -GSHIFT=1 "
    "-GROUND=2",
    "--top-module cim_shift_add -GDAC_BITS=4 -GIN_SLICES=2 -GCELL_BITS=4 -GW_SLICES=2 "
    "-GACC_W=12 -GOUT_W=10 -GSHIFT=2 -GSAT=0",
    "--top-module cim_shift_add -GACC_W=22 -GOUT_W=8 -GSHIFT=10 -GROUND=1",
};

START_TEST(test_lint)
{
    const char *verilator = rtl_tool("CIM_VERILATOR", "verilator");
    const char *src = srcdir();
    char dir[1024], cmd[8192], log[1100], text[LOG_MAX];
    point_dir(dir, sizeof dir, "lint", _i);
    snprintf(cmd, sizeof cmd,
             "'%s' --lint-only -Wall %s '%s/rtl/cim_dot.v' '%s/rtl/cim_dot_early.v' "
             "'%s/rtl/cim_dot_cheap.v' '%s/rtl/cim_dot_sum.v' '%s/rtl/cim_requant.v' "
             "'%s/rtl/cim_shift_add.v'",
             verilator, lint_points[_i], src, src, src, src, src, src);
    snprintf(log, sizeof log, "%s/lint.log", dir);
    int st = rtl_run(cmd, log);
    rtl_slurp(log, text, sizeof text);
    ck_assert_msg(st == 0 && text[0] == '\0', "verilator %s: status %d\n%s", lint_points[_i],
                  st, text);
}
END_TEST

#define N_OF(x) ((int)(sizeof(x) / sizeof((x)[0])))

static Suite *rtl_suite(void)
{
    Suite *s = suite_create("rtl");
    TCase *tc = tcase_create("dot");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_dot, 0, N_OF(dot_points));
    suite_add_tcase(s, tc);
    tc = tcase_create("shift_add");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_shift_add, 0, N_OF(sa_points));
    suite_add_tcase(s, tc);
    tc = tcase_create("compare");
    tcase_add_loop_test(tc, test_compare_catches, 0, 4);
    tcase_add_test(tc, test_compare_accepts);
    suite_add_tcase(s, tc);
    tc = tcase_create("lint");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_lint, 0, N_OF(lint_points));
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(rtl_suite)
