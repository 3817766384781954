/*
 * test_install.c: cim as it lands on a user's machine. `meson install
 * --destdir` puts everything under a scratch root once; then the installed
 * `cim` runs, the example program builds against the installed libcim through
 * pkg-config (shared and static) and runs, the man pages render without a
 * warning, and the bash completion completes commands, options and values.
 *
 * The build directory, the install paths and the tools come from meson
 * (tests/meson.build). A part whose tool is not installed is left out with one
 * line saying which, and the program then exits 77 (SKIP) if the rest passed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_testutil.h"
#include "testutil.h"

/* The install, made once by the unchecked fixture in the runner's process
 * before any test forks. */
static char root[600];        /* the destdir */
static int install_status = -1;
static char install_err[4096];

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? v : "";
}

/* ROOT + the absolute install path in $name, in one of 8 rotating buffers. */
static const char *installed(const char *name, const char *tail)
{
    static char buf[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s%s%s%s", root, env(name), *tail ? "/" : "", tail);
    return buf[k];
}

/* Run `sh -c cmd` (cmd made by printf from fmt); status and outputs in r. */
static void sh(struct cli_run *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void sh(struct cli_run *r, const char *fmt, ...)
{
    static char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_msg(n > 0 && (size_t)n < sizeof cmd, "command too long");
    test_run_prog(r, (const char *[]){"/bin/sh", "-c", cmd, NULL});
}

static void install_setup(void)
{
    snprintf(root, sizeof root, "%s/root", test_tmpdir());
    static struct cli_run r;
    test_run_prog(&r, (const char *[]){env("CIM_MESON"), "install", "-C", env("CIM_BUILDDIR"),
                                  "--no-rebuild", "--quiet", "--destdir", root, NULL});
    install_status = r.status;
    snprintf(install_err, sizeof install_err, "%.2000s%.2000s", r.out, r.err);
}

#define ASSERT_INSTALLED()                                                                 \
    ck_assert_msg(install_status == 0, "meson install --destdir failed (%d): %s",        \
                  install_status, install_err)

/* The commands `cim --help` lists (space-separated, in its order) into buf. */
static void help_commands(const char *cim, char *buf, size_t size)
{
    static struct cli_run r;
    sh(&r, "'%s' --help | sed -n '/^Commands:/,/^$/s/^  \\([a-z][a-z0-9-]*\\) .*/\\1/p' | "
           "tr '\\n' ' '", cim);
    ck_assert_int_eq(r.status, 0);
    const size_t n = strlen(r.out);
    ck_assert_uint_lt(n, size);
    memcpy(buf, r.out, n + 1);
    ck_assert_msg(strstr(buf, "train ") != NULL && strstr(buf, "infer ") != NULL,
                  "commands: %s", buf);
}

/* ---- files ------------------------------------------------------------------ */

START_TEST(test_files)
{
    ASSERT_INSTALLED();
    const char *want[] = {"libcim.so", "libcim.a", "pkgconfig/cim.pc"};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(test_exists(installed("CIM_LIBDIR", want[i])), "%s not installed",
                      installed("CIM_LIBDIR", want[i]));
    ck_assert(test_exists(installed("CIM_BINDIR", "cim")));
    const char *pub[] = {"base/err.h", "quant/round.h", "nn/model.h", "nn/integer.h",
                         "data/model_file.h", "cim/xbar.h"};
    for (int i = 0; i < 6; i++) {
        char h[64];
        snprintf(h, sizeof h, "cim/%s", pub[i]);
        ck_assert_msg(test_exists(installed("CIM_INCLUDEDIR", h)), "%s not installed", h);
    }
    /* internal headers stay in the sources; the generated configuration too */
    static struct cli_run r;
    sh(&r, "cd '%s' && find . -name cim_config.h -o -name h5io.h -o -name layers.h "
           "-o -path '*/cim/cim/*' \\( -name noise.h -o -name device.h -o -name adc.h "
           "-o -name array.h \\)", root);
    ck_assert_msg(r.status == 0 && r.out[0] == '\0', "installed but internal: %.2000s", r.out);
    /* every installed header compiles alone against the installed ones (and
     * the system's): none includes a header that is not installed */
    sh(&r, "for h in $(find '%s' -name '*.h'); do %s -std=c11 -Wall -Wextra -Wpedantic "
           "-Werror -fsyntax-only -I'%s' -x c \"$h\" || exit 1; done",
       installed("CIM_INCLUDEDIR", "cim"), env("CIM_CC"), installed("CIM_INCLUDEDIR", "cim"));
    ck_assert_msg(r.status == 0, "a header does not compile alone: %s", r.err);
    /* the shared library exports the public API and nothing internal */
    sh(&r, "nm -D --defined-only '%s' | awk '{print $3}'", installed("CIM_LIBDIR", "libcim.so"));
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "\ncim_xbar_alloc@") != NULL &&
                      strstr(r.out, "\ndata_model_load@") != NULL,
                  "public symbols missing: %.400s", r.out);
    ck_assert_msg(strstr(r.out, "data_h5_") == NULL && strstr(r.out, "cim_noise_normal") == NULL &&
                      strstr(r.out, "cim_device_") == NULL && strstr(r.out, "cli_") == NULL,
                  "internal symbols exported: %.2000s", r.out);
}
END_TEST

/* ---- the installed program ----------------------------------------------------- */

START_TEST(test_program)
{
    ASSERT_INSTALLED();
    static struct cli_run r, b;
    const char *cim = installed("CIM_BINDIR", "cim");
    test_run_prog(&r, (const char *[]){cim, "--version", NULL});
    test_run_cim(&b, (const char *[]){"--version", NULL});
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, b.out);
    /* cim links the layers statically: it runs from anywhere without a library
     * path */
    char model[1200];
    snprintf(model, sizeof model, "%s/data/weights/mlp-fmnist.h5", env("CIM_SRCDIR"));
    test_run_prog(&r, (const char *[]){cim, "eval", model, "--limit", "500", NULL});
    test_run_cim(&b, (const char *[]){"eval", model, "--limit", "500", NULL});
    ck_assert_msg(r.status == 0, "installed cim eval: %s", r.err);
    ck_assert_msg(strstr(r.out, "W8A8") != NULL, "%.2000s", r.out);
    ck_assert_str_eq(r.out, b.out);
    test_run_prog(&r, (const char *[]){cim, "help", "infer", NULL});
    ck_assert_msg(r.status == 0 && strncmp(r.out, "Usage: cim infer ", 17) == 0, "%.2000s", r.out);
}
END_TEST

/* ---- pkg-config and the example ------------------------------------------------ */

/* Build examples/crossbar_infer.c against the installed libcim, shared
 * (static = 0) or static, run it on 100 test images; its output in r. */
static void build_and_run_example(struct cli_run *r, int is_static)
{
    const char *san = env("CIM_SANITIZE");
    char sanitize[128] = "";
    if (*san && strcmp(san, "none") != 0)
        snprintf(sanitize, sizeof sanitize, "-fsanitize=%s", san);
    /* cim.pc names its prefix; the install sits under root */
    char pc[2400];
    snprintf(pc, sizeof pc, "PKG_CONFIG_PATH='%s' '%s' --define-variable=prefix='%s%s'",
             installed("CIM_LIBDIR", "pkgconfig"), env("CIM_PKG_CONFIG"), root,
             env("CIM_PREFIX"));
    const char *exe = test_tmp(is_static ? "example-static" : "example-shared");
    /* static: the same flags with --static, libcim.a named instead of -lcim */
    sh(r,
       "set -e; flags=$(%s %s --cflags --libs cim); %s\n"
       "%s -std=c11 -Wall -Wextra -Wpedantic -Werror %s '%s/examples/crossbar_infer.c' "
       "$flags -o '%s'\n"
       "LD_LIBRARY_PATH='%s' '%s' '%s/data/weights/lenet5-fmnist.h5' 100",
       pc, is_static ? "--static" : "",
       is_static ? "flags=$(echo \" $flags \" | sed 's/ -lcim / -l:libcim.a /')" : "",
       env("CIM_CC"), sanitize, env("CIM_SRCDIR"), exe,
       is_static ? "" : installed("CIM_LIBDIR", ""), exe, env("CIM_SRCDIR"));
}

/* "lenet5: 100 test images, crossbar N correct (...), exact integer N correct":
 * the ideal default crossbar equals the integer path. */
static void check_example_output(const struct cli_run *r)
{
    ck_assert_msg(r->status == 0, "example: %.2000s%.2000s", r->out, r->err);
    int n, xbar, exact;
    ck_assert_msg(sscanf(r->out, "lenet5: %d test images, crossbar %d correct (%*[^)]), exact "
                                 "integer %d correct", &n, &xbar, &exact) == 3,
                  "example output: %.2000s", r->out);
    ck_assert_int_eq(n, 100);
    ck_assert_int_eq(xbar, exact);
    ck_assert_int_ge(xbar, 80); /* lenet5 W8A8 is 90.8% on the full set */
}

START_TEST(test_example_shared)
{
    ASSERT_INSTALLED();
    static struct cli_run r;
    build_and_run_example(&r, 0);
    check_example_output(&r);
    /* it does need the shared library */
    sh(&r, "readelf -d '%s' | grep -c 'NEEDED.*libcim\\.so\\.'", test_tmp("example-shared"));
    ck_assert_msg(r.status == 0 && atoi(r.out) == 1, "example-shared: %s", r.out);
}
END_TEST

START_TEST(test_example_static)
{
    ASSERT_INSTALLED();
    static struct cli_run r;
    build_and_run_example(&r, 1);
    check_example_output(&r);
    sh(&r, "readelf -d '%s' | grep -c 'NEEDED.*libcim'", test_tmp("example-static"));
    ck_assert_msg(atoi(r.out) == 0, "example-static needs libcim.so: %s", r.out);
}
END_TEST

/* ---- man pages ---------------------------------------------------------------- */

/* Render one page: stderr must stay empty (no roff warning); text in r. */
static void render(struct cli_run *r, const char *page)
{
    if (*env("CIM_MAN"))
        sh(r, "MANWIDTH=80 '%s' --warnings -E UTF-8 -l '%s' 2>&1 >'%s' | tee /dev/stderr "
              "| wc -c && cat '%s'",
           env("CIM_MAN"), page, test_tmp("page.txt"), test_tmp("page.txt"));
    else
        sh(r, "'%s' -man -ww -Tutf8 '%s' 2>&1 >'%s' | tee /dev/stderr | wc -c && cat '%s'",
           env("CIM_GROFF"), page, test_tmp("page.txt"), test_tmp("page.txt"));
    ck_assert_msg(r->status == 0 && strncmp(r->out, "0\n", 2) == 0, "%s: %.3000s", page, r->err);
}

START_TEST(test_man)
{
    ASSERT_INSTALLED();
    static struct cli_run r;
    char cmds[1024], page[64];
    help_commands(installed("CIM_BINDIR", "cim"), cmds, sizeof cmds);
    render(&r, installed("CIM_MANDIR", "man1/cim.1"));
    ck_assert_msg(strstr(r.out, "SYNOPSIS") && strstr(r.out, "cim COMMAND [OPTIONS]"),
                  "%.3000s", r.out);
    const char *see = strstr(r.out, "SEE ALSO");
    ck_assert_msg(see != NULL, "cim.1 has no SEE ALSO: %.3000s", r.out);
    for (char *c = strtok(cmds, " "); c != NULL; c = strtok(NULL, " ")) {
        char ref[64];
        snprintf(ref, sizeof ref, "cim-%s(1)", c);
        ck_assert_msg(strstr(see, ref) != NULL, "cim.1's SEE ALSO lacks %s: %s", ref, see);
    }
    help_commands(installed("CIM_BINDIR", "cim"), cmds, sizeof cmds);
    for (char *c = strtok(cmds, " "); c != NULL; c = strtok(NULL, " ")) {
        snprintf(page, sizeof page, "man1/cim-%s.1", c);
        ck_assert_msg(test_exists(installed("CIM_MANDIR", page)), "no man page %s", page);
        render(&r, installed("CIM_MANDIR", page));
        char syn[64];
        snprintf(syn, sizeof syn, "cim %s", c);
        ck_assert_msg(strstr(r.out, "NAME") && strstr(r.out, "SYNOPSIS") &&
                          strstr(r.out, syn) && strstr(r.out, "OPTIONS") &&
                          strstr(r.out, "--help") && strstr(r.out, "cim(1)"),
                      "%s: %.3000s", page, r.out);
    }
}
END_TEST

/* ---- bash completion ------------------------------------------------------------ */

/* What completing `line` (up to its end) offers, one per line, sorted. */
static void complete(struct cli_run *r, const char *line)
{
    sh(r,
       "cd '%s' && PATH='%s':\"$PATH\" '%s' --norc --noprofile -c '\n"
       ". \"$0\"; . \"$1\"\n"
       "COMP_LINE=$2; COMP_POINT=${#COMP_LINE}\n"
       "read -ra COMP_WORDS <<< \"$COMP_LINE\"\n"
       "[[ $COMP_LINE == *\" \" ]] && COMP_WORDS+=(\"\")\n"
       "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
       "_cim cim \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
       "((${#COMPREPLY[@]})) && printf \"%%s\\n\" \"${COMPREPLY[@]}\" | sort | tr \"\\n\" \" \"\n"
       "exit 0\n"
       "' '%s' '%s' '%s'",
       test_tmp("files"), installed("CIM_BINDIR", ""), env("CIM_BASH"),
       env("CIM_BASH_COMPLETION"), installed("CIM_COMPLETIONSDIR", "cim"), line);
    ck_assert_msg(r->status == 0, "completing '%s': %s", line, r->err);
}

#define EXPECT_COMPLETION(line, want)                                                      \
    do {                                                                                   \
        complete(&r, line);                                                                \
        ck_assert_msg(strcmp(r.out, want) == 0, "'%s' completes to '%s', expected '%s'",   \
                      line, r.out, want);                                                  \
    } while (0)

START_TEST(test_completion)
{
    ASSERT_INSTALLED();
    static struct cli_run r;
    ck_assert_msg(test_exists(installed("CIM_COMPLETIONSDIR", "cim")), "no completion file");
    /* a directory to complete file names in */
    sh(&r, "mkdir -p '%s/sub' && cd '%s' && touch a.h5 b.json c.txt", test_tmp("files"),
       test_tmp("files"));
    ck_assert_int_eq(r.status, 0);
    EXPECT_COMPLETION("cim tr", "train ");
    EXPECT_COMPLETION("cim i", "infer info ");
    EXPECT_COMPLETION("cim help i", "infer info ");
    EXPECT_COMPLETION("cim --v", "--version ");
    EXPECT_COMPLETION("cim infer --adc-", "--adc-bits --adc-range ");
    EXPECT_COMPLETION("cim train --sch", "--schedule --scheme ");
    EXPECT_COMPLETION("cim infer --encoding ", "differential offset ");
    EXPECT_COMPLETION("cim train --model m", "mlp ");
    EXPECT_COMPLETION("cim eval ", "a.h5 sub ");
    EXPECT_COMPLETION("cim infer a.h5 --config ", "b.json sub ");
    EXPECT_COMPLETION("cim infer a.h5 --data ", "sub ");
    EXPECT_COMPLETION("cim infer a.h5 --adc-bits ", "");
}
END_TEST

/* ---- runner --------------------------------------------------------------------- */

int main(void)
{
    Suite *s = suite_create("install");
    TCase *tc = tcase_create("install");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, install_setup, NULL);
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_program);
    int skipped = 0;
    if (*env("CIM_PKG_CONFIG")) {
        tcase_add_test(tc, test_example_shared);
        tcase_add_test(tc, test_example_static);
    } else {
        printf("install: skipping the example: pkg-config is not installed (Debian package "
               "pkgconf)\n");
        skipped++;
    }
    if (!*env("CIM_HELP2MAN")) {
        printf("install: skipping the man pages: help2man was not found when the build was "
               "configured (Debian package help2man)\n");
        skipped++;
    } else if (!*env("CIM_MAN") && !*env("CIM_GROFF")) {
        printf("install: skipping the man pages: neither man nor groff is installed (Debian "
               "package man-db or groff-base)\n");
        skipped++;
    } else {
        tcase_add_test(tc, test_man);
    }
    if (*env("CIM_BASH") && access(env("CIM_BASH_COMPLETION"), R_OK) == 0) {
        tcase_add_test(tc, test_completion);
    } else {
        printf("install: skipping the bash completion: bash or its completion framework is "
               "not installed (Debian package bash-completion)\n");
        skipped++;
    }
    suite_add_tcase(s, tc);
    const int status = test_run_suite(s);
    return status != EXIT_SUCCESS ? status : skipped != 0 ? 77 : EXIT_SUCCESS;
}
