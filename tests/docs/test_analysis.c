/* test_analysis.c: the Python blocks of docs/ANALYSIS.md run as they stand, and
 * the output the page shows is the output they print.
 *
 * Each ```python block is written to a file and run with /usr/bin/python3 in a
 * scratch directory that links docs/ and data/ of the source tree (so that the
 * figures the blocks save land in the scratch directory). Skipped, exit 77,
 * where Debian's python3-pandas, python3-h5py or python3-matplotlib is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define DOC_MAX (1 << 16)
#define OUT_MAX (1 << 16)
#define BLOCKS_MAX 8

static char doc[DOC_MAX];
static char out[OUT_MAX];

/* The source tree, an absolute path (meson's project_source_root). */
static const char *srcdir(void)
{
    const char *s = getenv("CIM_SRCDIR");
    return s != NULL && *s ? s : ".";
}

static void read_doc(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/ANALYSIS.md", srcdir());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: cannot open", path);
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    ck_assert_msg(n < sizeof doc - 1, "%s: larger than the test reads", path);
    doc[n] = '\0';
    fclose(f);
}

/* The fenced blocks of `doc` opened by "```lang" (lang "" for a bare fence):
 * their text (copied, NUL-terminated) in blocks[]; returns how many. */
static int fenced_blocks(const char *lang, char **blocks, int max)
{
    int n = 0;
    const char *open = NULL; /* the first line of the block being read */
    int keep = 0;
    for (const char *line = doc; *line != '\0' && n < max;) {
        const char *eol = strchr(line, '\n');
        const size_t len = eol != NULL ? (size_t)(eol - line) : strlen(line);
        if (len >= 3 && strncmp(line, "```", 3) == 0) {
            if (open == NULL) {
                open = eol != NULL ? eol + 1 : line + len;
                keep = len - 3 == strlen(lang) && strncmp(line + 3, lang, len - 3) == 0;
            } else {
                if (keep) {
                    blocks[n] = strndup(open, (size_t)(line - open));
                    ck_assert_ptr_nonnull(blocks[n]);
                    n++;
                }
                open = NULL;
            }
        }
        line = eol != NULL ? eol + 1 : line + len;
    }
    ck_assert_msg(open == NULL || n == max, "docs/ANALYSIS.md: an unclosed ``` block");
    return n;
}

/* A scratch directory with docs/ and data/ linked from the source tree. */
static const char *workdir(void)
{
    static char dir[1024];
    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "%s/analysis", test_tmpdir());
        ck_assert(mkdir(dir, 0755) == 0);
        const char *links[] = {"docs", "data"};
        for (int i = 0; i < 2; i++) {
            char from[1100], to[1100];
            snprintf(from, sizeof from, "%s/%s", srcdir(), links[i]);
            snprintf(to, sizeof to, "%s/%s", dir, links[i]);
            ck_assert_int_eq(symlink(from, to), 0);
        }
    }
    return dir;
}

/* Run `code` with Python in workdir(); its exit status, stdout+stderr in out. */
static int run_python(const char *code, int index)
{
    char script[1100], cmd[4096];
    snprintf(script, sizeof script, "%s/block%d.py", workdir(), index);
    FILE *f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fputs(code, f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && MPLBACKEND=Agg " TEST_PYTHON " '%s' 2>&1", workdir(),
             script);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_analysis_blocks_run)
{
    read_doc();
    char *py[BLOCKS_MAX], *shown[BLOCKS_MAX];
    const int npy = fenced_blocks("python", py, BLOCKS_MAX);
    const int nshown = fenced_blocks("", shown, BLOCKS_MAX);
    ck_assert_int_eq(npy, 3); /* the table, the store, the figure */
    ck_assert_int_ge(nshown, 1);
    for (int i = 0; i < npy; i++) {
        const int st = run_python(py[i], i);
        ck_assert_msg(st == 0, "docs/ANALYSIS.md python block %d failed:\n%s", i + 1, out);
        if (i == 0) /* the page shows what the first block prints */
            ck_assert_msg(strstr(out, shown[0]) != NULL,
                          "docs/ANALYSIS.md: block 1 printed\n%s\nbut the page shows\n%s", out,
                          shown[0]);
    }
    /* the figure block saved its figure, a PNG */
    char png[1100];
    snprintf(png, sizeof png, "%s/adc_study.png", workdir());
    FILE *f = fopen(png, "rb");
    ck_assert_msg(f != NULL, "%s: the figure block saved nothing", png);
    unsigned char magic[8] = {0};
    ck_assert_int_eq(fread(magic, 1, 8, f), 8);
    fclose(f);
    ck_assert(memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0);
    for (int i = 0; i < npy; i++)
        free(py[i]);
    for (int i = 0; i < nshown; i++)
        free(shown[i]);
}
END_TEST

static Suite *docs_suite(void)
{
    Suite *s = suite_create("docs");
    TCase *t = tcase_create("analysis");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_analysis_blocks_run);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    if (!test_python_has("pandas, h5py, matplotlib",
                         "python3-pandas python3-h5py python3-matplotlib"))
        return 77;
    return test_run_suite(docs_suite());
}
