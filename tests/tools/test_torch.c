/*
 * test_torch.c: the PyTorch interop tools (tools/import_torch.py,
 * tools/export_torch.py) against cim itself.
 *
 * The shipped quantized models go into PyTorch and back out to HDF5: cim must
 * see the re-exported file as the original (the same accuracy in FP32 and at
 * every stored precision), and PyTorch's FP32, W8A8 and W4A4 accuracies on the
 * full test set must agree with cim's. A model built from scratch in PyTorch
 * (seeded random weights, steps as a user's QAT gives them) must give cim the
 * accuracies PyTorch gives it, and a module cim has no layer for must be
 * refused in one line, leaving no file.
 *
 * The tools run under Debian's /usr/bin/python3 (python3-torch, python3-h5py);
 * without them the program skips (exit 77). The scripts are found through
 * $CIM_SRCDIR, cim through $CIM_BIN, the data as cim finds it ($CIM_DATA).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli/cli_testutil.h"
#include "testutil.h"

/* Debian's python, where python3-torch installs; a python3 first on PATH (a
 * pyenv, a venv) may lack torch. */

/* Test images on which PyTorch's count of correct predictions may differ from
 * cim's. PyTorch and cim sum the same float32 products in different orders
 * (cim through its sgemm's blocking, PyTorch through its own convolution and
 * matmul kernels), so a logit can differ in its last bits and a near tie
 * between two classes can flip; in a quantized network the same can move an
 * activation that lies within float rounding of a code boundary by one code.
 * Everything else (weight codes, ties to even, the nesting, input codes) is
 * computed exactly as cim computes it. Measured: 0 images of 10,000 on both
 * shipped models at FP32, W8A8 and W4A4, and running PyTorch's networks in
 * float64 instead changes no prediction; 2 leaves room for other kernel
 * builds. A wrong W4A4 semantics moves the count by far more: rounded instead
 * of truncated 4-bit weight codes by 57 (mlp) and 107 (lenet5), input codes
 * requantized instead of truncated by 17 and 26 (docs/PYTORCH.md). */
#define TORCH_FP32_IMAGES_MAX 2
#define TORCH_QUANT_IMAGES_MAX 2

static const char *srcdir(void)
{
    const char *s = getenv("CIM_SRCDIR");
    ck_assert_msg(s != NULL && *s, "CIM_SRCDIR is not set");
    return s;
}

/* "$CIM_SRCDIR/rel", in one of 8 rotating buffers. */
static const char *src(const char *rel)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", srcdir(), rel);
    return buf[k];
}

/* Run a Python script of the tree with up to 6 arguments; assert exit 0. */
static void python(struct cli_run *r, const char *script, const char *const *args)
{
    const char *argv[9] = {TEST_PYTHON, src(script)};
    for (int i = 0; i < 6 && args[i] != NULL; i++)
        argv[2 + i] = args[i];
    test_run_prog(r, argv);
    ck_assert_msg(r->status == 0, "%s: exit %d; stderr: %s", script, r->status, r->err);
}

static json_t *json_out(const struct cli_run *r)
{
    json_error_t e;
    json_t *j = json_loads(r->out, 0, &e);
    ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, r->out);
    return j;
}

/* `cim eval FILE --json [extra]` as JSON. */
static json_t *cim_eval(const char *file, const char *extra1, const char *extra2)
{
    static struct cli_run r;
    test_run_cim(&r, (const char *[]){"eval", file, "--json", extra1, extra2, NULL});
    ck_assert_msg(r.status == 0, "cim eval %s: exit %d; %s", file, r.status, r.err);
    return json_out(&r);
}

/* The correct count of precision `label` in an eval object's "results", or -1. */
static long correct_of(const json_t *j, const char *label)
{
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(j, "results"), i, row)
        if (strcmp(json_string_value(json_object_get(row, "precision")), label) == 0)
            return (long)json_integer_value(json_object_get(row, "correct"));
    return -1;
}

/* Assert that PyTorch's count `t` is within the tolerance of cim's `c`. */
static void expect_agree(const char *what, const char *label, long t, long c)
{
    long tol = strcmp(label, "FP32") == 0 ? TORCH_FP32_IMAGES_MAX : TORCH_QUANT_IMAGES_MAX;
    printf("%s %s: PyTorch %ld, cim %ld correct of 10000\n", what, label, t, c);
    ck_assert_msg(t >= 0 && c >= 0, "%s %s: missing in PyTorch (%ld) or cim (%ld)", what,
                  label, t, c);
    ck_assert_msg(labs(t - c) <= tol, "%s %s: PyTorch %ld correct, cim %ld: more than %ld apart",
                  what, label, t, c, tol);
}

/* ---- the shipped models, there and back -------------------------------------- */

static const char *const shipped[] = {"lenet5-fmnist.h5", "mlp-fmnist.h5"};

START_TEST(test_roundtrip)
{
    char rel[256];
    snprintf(rel, sizeof rel, "data/weights/%s", shipped[_i]);
    const char *orig = src(rel), *pt = test_tmp("model.pt"), *back = test_tmp("back.h5");
    static struct cli_run r;
    python(&r, "tools/import_torch.py",
           (const char *[]){orig, "--eval", "--json", "--out", pt, NULL});
    json_t *jt = json_out(&r);
    python(&r, "tools/export_torch.py", (const char *[]){pt, back, NULL});
    ck_assert_msg(r.err[0] == '\0', "export_torch.py: %s", r.err);

    json_t *jo = cim_eval(orig, NULL, NULL), *jb = cim_eval(back, NULL, NULL);
    const json_t *rows = json_object_get(jo, "results");
    ck_assert_int_eq(json_array_size(rows), 3); /* FP32, W8A8, W4A4 */
    ck_assert_int_eq(json_array_size(json_object_get(jb, "results")), 3);
    ck_assert_int_eq(json_array_size(json_object_get(jt, "results")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(jb, "architecture")),
                     json_string_value(json_object_get(jo, "architecture")));
    ck_assert_str_eq(json_string_value(json_object_get(jb, "scheme")),
                     json_string_value(json_object_get(jo, "scheme")));
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        const char *label = json_string_value(json_object_get(row, "precision"));
        long c = correct_of(jo, label);
        ck_assert_msg(correct_of(jb, label) == c, "%s %s: re-exported %ld, original %ld",
                      shipped[_i], label, correct_of(jb, label), c);
        expect_agree(shipped[_i], label, correct_of(jt, label), c);
    }
    json_decref(jt);
    json_decref(jo);
    json_decref(jb);
}
END_TEST

/* ---- a model made in PyTorch ------------------------------------------------- */

START_TEST(test_scratch)
{
    static struct cli_run r;
    python(&r, "tests/tools/torch_scratch.py", (const char *[]){"models", test_tmpdir(), NULL});
    json_t *jt = json_out(&r);
    const char *fp = test_tmp("scratch-fp32.h5"), *q = test_tmp("scratch-q.h5");
#define TORCH(label) (long)json_integer_value(json_object_get(jt, label))

    /* FP32 only: one row, and cim eval --ptq quantizes it after training */
    json_t *jf = cim_eval(fp, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(jf, "results")), 1);
    const long fp32 = correct_of(jf, "FP32");
    expect_agree("scratch", "FP32", TORCH("FP32"), fp32);
    json_decref(jf);
    jf = cim_eval(fp, "--ptq", "max");
    ck_assert_int_eq(json_array_size(json_object_get(jf, "results")), 3);
    ck_assert_int_eq(correct_of(jf, "FP32"), fp32);
    json_decref(jf);

    /* with the user's steps: every precision */
    json_t *jq = cim_eval(q, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(jq, "results")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(jq, "architecture")), "scratch");
    const char *labels[] = {"FP32", "W8A8", "W4A4"};
    for (int k = 0; k < 3; k++)
        expect_agree("scratch", labels[k], TORCH(labels[k]), correct_of(jq, labels[k]));
#undef TORCH
    json_decref(jq);
    json_decref(jt);
}
END_TEST

/* The entries of directory d besides . and .. */
static int dir_entries(const char *d)
{
    DIR *dir = opendir(d);
    ck_assert_ptr_nonnull(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(dir);
    return n;
}

START_TEST(test_unsupported)
{
    static struct cli_run r;
    char d[600], bad[700], out[700];
    snprintf(d, sizeof d, "%s", test_tmp("bad"));
    ck_assert_int_eq(mkdir(d, 0755), 0);
    python(&r, "tests/tools/torch_scratch.py", (const char *[]){"bad", d, NULL});
    snprintf(bad, sizeof bad, "%s/bad.pt", d);
    snprintf(out, sizeof out, "%s/bad.h5", d);

    test_run_prog(&r, (const char *[]){TEST_PYTHON, src("tools/export_torch.py"), bad, out, NULL});
    ck_assert_msg(r.status == 1, "exit %d; stderr: %s", r.status, r.err);
    ck_assert_msg(test_count_lines(r.err) == 1, "expected one line: %s", r.err);
    ck_assert_msg(strstr(r.err, "bad.pt: module 2 (Sigmoid): unsupported") != NULL, "%s", r.err);
    ck_assert(!test_exists(out));
    ck_assert_int_eq(dir_entries(d), 1); /* bad.pt alone: no temporary file either */

    /* and the importer on a file that is not HDF5 */
    test_run_prog(&r, (const char *[]){TEST_PYTHON, src("tools/import_torch.py"), bad, NULL});
    ck_assert_msg(r.status == 1, "exit %d; stderr: %s", r.status, r.err);
    ck_assert_msg(test_count_lines(r.err) == 1, "expected one line: %s", r.err);
    ck_assert_msg(strstr(r.err, "bad.pt: not an HDF5 file") != NULL, "%s", r.err);
}
END_TEST

static Suite *tools_suite(void)
{
    Suite *s = suite_create("tools");
    TCase *tc = tcase_create("torch");
    tcase_set_timeout(tc, 240); /* under ASan and a loaded machine too */
    tcase_add_loop_test(tc, test_roundtrip, 0, 2);
    tcase_add_test(tc, test_scratch);
    tcase_add_test(tc, test_unsupported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!test_python_has("torch, h5py", "python3-torch python3-h5py"))
        return 77;
    return test_run_suite(tools_suite());
}
