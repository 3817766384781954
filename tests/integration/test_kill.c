/*
 * test_kill.c: nothing is lost when cim is killed at a random moment.
 *
 * A small training run (mlp) and a small sweep (lenet5, 6 runs) are killed
 * with SIGKILL at seeded-random moments spread over the whole run, from just
 * after the start to just past the end, the moments being fractions of the
 * measured duration of an uninterrupted run so that they land inside the run
 * on any machine. After every kill, each file in the output directory is
 * either absent or complete: a model equals the uninterrupted one, a
 * checkpoint and the sweep store load, the CSV and the figure equal the
 * uninterrupted run's byte for byte; only temporary names may be left over.
 * The run is then resumed (`--resume CHECKPOINT`, or the same command when no
 * checkpoint exists yet; the same sweep command), killed again, and finally
 * resumed to the end, which must give the uninterrupted run's weights bit for
 * bit (the sweep: its CSV byte for byte and every stored run) and leave no
 * temporary file behind, not even those that a writer killed half-way leaves
 * (planted by a child that dies mid-write before the last resume, since a
 * random kill rarely lands inside a write of a few milliseconds).
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/atomic.h"
#include "data/model_file.h"
#include "data/sweep_file.h"
#include "nn/model.h"
#include "cli/cli_testutil.h"
#include "testutil.h"

/* Episodes per target (each starts afresh and is killed several times). */
#define EPISODES 4
/* Kills of the resumed runs in each episode, after the first kill. */
#define CHAIN 4
/* Where a resumed run is killed, as a fraction of the uninterrupted duration:
 * anywhere in the first half (a resumed run has less left to do). */
#define CHAIN_SPAN 0.5
/* The seed of the kill moments: fixed, so that a failure can be replayed. */
#define KILL_SEED 2385u

/* ---- seeded moments --------------------------------------------------------- */

static uint64_t rng_state;

/* splitmix64 (Steele, Lea, Flood 2014): enough for spreading a few moments. */
static double uniform(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

/* The first kill of episode e, as a fraction of the uninterrupted duration:
 * stratified over the run, the first episode just after the start, the last
 * one around the end (it may finish first, which is a case too). */
static double first_fraction(int e)
{
    const double u = uniform();
    if (e == 0)
        return 0.002 + 0.03 * u;
    if (e == EPISODES - 1)
        return 0.92 + 0.12 * u;
    return (e + u) / EPISODES;
}

/* ---- files -------------------------------------------------------------------- */

static char dir_path[600];

/* A fresh directory for an episode. */
static const char *episode_dir(const char *what, int e)
{
    snprintf(dir_path, sizeof dir_path, "%s/%s-%d", test_tmpdir(), what, e);
    ck_assert_int_eq(mkdir(dir_path, 0700), 0);
    return dir_path;
}

static const char *in_dir(const char *dir, const char *name)
{
    static char buf[8][1000];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Whether `name` is a temporary name of `base` (".<base>.tmp-..."). */
static int is_tmp_of(const char *name, const char *base)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* Read a whole file (NULL when it is missing); *n its size. Caller frees. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    ck_assert_ptr_nonnull(buf);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
    }
    fclose(f);
    buf[len] = '\0';
    *n = len;
    return buf;
}

/* Whether two files hold the same bytes (both must exist). */
static int same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    ck_assert_msg(x != NULL && y != NULL, "%s or %s is missing", a, b);
    const int same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* Whether two models hold the same weights and biases, bit for bit. */
static int same_weights(const struct nn_model *a, const struct nn_model *b)
{
    if (a->n_layers != b->n_layers)
        return 0;
    for (int i = 0; i < a->n_layers; i++) {
        const struct nn_layer *la = &a->layers[i], *lb = &b->layers[i];
        if ((la->weight.data == NULL) != (lb->weight.data == NULL))
            return 0;
        if (la->weight.data == NULL)
            continue;
        if (nn_tensor_size(&la->weight) != nn_tensor_size(&lb->weight) ||
            memcmp(la->weight.data, lb->weight.data, nn_tensor_size(&la->weight) * sizeof(float)) ||
            memcmp(la->bias.data, lb->bias.data, nn_tensor_size(&la->bias) * sizeof(float)))
            return 0;
    }
    return 1;
}

static int model_file_equal(const char *path, const struct nn_model *want)
{
    struct cim_err err = {0};
    struct nn_model *m = data_model_load(path, &err);
    ck_assert_msg(m != NULL, "%s does not load: %s", path, err.msg);
    const int same = same_weights(m, want);
    nn_model_free(m);
    return same;
}

/* ---- training ----------------------------------------------------------------- */

#define TRAIN_EPOCHS 6
#define TRAIN_ARGS                                                                      \
    "train", "--model", "mlp", "--epochs", "6", "--limit", "3000", "--batch", "50",     \
        "--seed", "5", "--threads", "1", "--quiet"

static struct nn_model *train_full;

/* After a kill: the final model, if there, is the uninterrupted one; the
 * checkpoint, if there, loads; nothing else but temporary names. Returns the
 * number of temporary files. */
static int train_check_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int tmp = 0;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name, *p = in_dir(dir, n);
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (is_tmp_of(n, "part.h5") || is_tmp_of(n, "part.ckpt.h5")) {
            tmp++;
        } else if (strcmp(n, "part.h5") == 0) {
            ck_assert_msg(model_file_equal(p, train_full),
                          "%s differs from the uninterrupted run", p);
        } else if (strcmp(n, "part.ckpt.h5") == 0) {
            struct nn_model *m = NULL;
            struct data_checkpoint ck;
            struct cim_err err = {0};
            ck_assert_msg(data_checkpoint_load(p, &m, &ck, &err) == CIM_OK, "%s: %s", p, err.msg);
            ck_assert_msg(ck.epoch >= 1 && ck.epoch <= TRAIN_EPOCHS, "%s: epoch %d", p,
                          ck.epoch);
            data_checkpoint_release(&ck);
            nn_model_free(m);
        } else {
            ck_abort_msg("unexpected file %s after a kill", p);
        }
    }
    closedir(d);
    return tmp;
}

/* The command that continues the run in `dir`: --resume when a checkpoint is
 * there, the first command when nothing is; NULL when the run is complete. */
static const char *const *train_next(const char *dir)
{
    static char part[700], ckpt[700];
    static const char *resume[] = {"train", "--resume", ckpt, "--out", part, "--threads", "1",
                                   "--quiet", NULL};
    static const char *first[] = {TRAIN_ARGS, "--out", part, NULL};
    snprintf(part, sizeof part, "%s", in_dir(dir, "part.h5"));
    snprintf(ckpt, sizeof ckpt, "%s", in_dir(dir, "part.ckpt.h5"));
    if (test_exists(ckpt))
        return resume;
    return test_exists(part) ? NULL : first;
}

/* Leave a stale temporary file of `path` as a writer killed half-way does:
 * a child begins an atomic write, writes part of it and dies by SIGKILL. Its
 * name carries the dead child's pid, so the next commit of `path` must remove
 * it. */
static void plant_stale(const char *path)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct data_atomic a;
        if (data_atomic_begin(&a, path, NULL) != CIM_OK)
            _exit(1);
        FILE *f = fopen(a.tmp_path, "w");
        if (f == NULL)
            _exit(1);
        fputs("half", f);
        fflush(f);
        raise(SIGKILL);
        _exit(1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the planting child failed");
}

static void no_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        ck_assert_msg(strstr(e->d_name, ".tmp-") == NULL, "%s/%s survived the resume", dir,
                      e->d_name);
    closedir(d);
}

START_TEST(test_train_killed)
{
    rng_state = KILL_SEED;
    static struct cli_run r;
    const char *full = in_dir(test_tmpdir(), "full.h5");
    const double t0 = test_now();
    test_run_cim(&r, (const char *[]){TRAIN_ARGS, "--out", full, NULL});
    const double t_full = test_now() - t0;
    ck_assert_msg(r.status == 0, "uninterrupted run: %s", r.err);
    struct cim_err err = {0};
    train_full = data_model_load(full, &err);
    ck_assert_msg(train_full != NULL, "%s", err.msg);

    int kills = 0, tmp_seen = 0;
    for (int e = 0; e < EPISODES; e++) {
        const char *dir = episode_dir("train", e);
        double f = first_fraction(e);
        for (int k = 0; k <= CHAIN; k++) {
            const char *const *next = train_next(dir);
            if (next == NULL)
                break;
            int st = 0;
            if (test_run_cim_killed_after(next, f * t_full, &st)) {
                kills++;
                tmp_seen += train_check_dir(dir);
            } else {
                ck_assert_msg(st == 0, "a run ended with status %d before its kill", st);
            }
            f = CHAIN_SPAN * uniform();
        }
        /* resume to the end, past what two killed writers left */
        if (train_next(dir) != NULL) {
            plant_stale(in_dir(dir, "part.h5"));
            plant_stale(in_dir(dir, "part.ckpt.h5"));
        }
        const char *const *next;
        while ((next = train_next(dir)) != NULL) {
            test_run_cim(&r, next);
            ck_assert_msg(r.status == 0, "resume: %s", r.err);
        }
        ck_assert_msg(model_file_equal(in_dir(dir, "part.h5"), train_full),
                      "episode %d: the resumed run differs from the uninterrupted one", e);
        ck_assert(!test_exists(in_dir(dir, "part.ckpt.h5")));
        no_temporaries(dir);
    }
    fprintf(stderr, "train: uninterrupted %.2f s, %d kills, %d temporary files left by them\n",
            t_full, kills, tmp_seen);
    /* not vacuous: most moments land inside a run, though a machine whose load
     * drops after the measurement may finish some runs first */
    ck_assert_msg(kills >= 2, "only %d kills landed inside a run", kills);
    nn_model_free(train_full);
}
END_TEST

/* ---- sweep -------------------------------------------------------------------- */

static const char *lenet5(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/data/weights/lenet5-fmnist.h5", getenv("CIM_SRCDIR"));
    return path;
}

#define SWEEP_RUNS 6
#define SWEEP_ARGS(prefix)                                                                \
    "sweep", lenet5(), "--vary", "adc-bits=4,5,6", "--seeds", "2", "--prog-noise", "0.03", \
        "--read-noise", "0.01", "--adc-range", "max", "--calib", "32", "--images", "100",  \
        "--threads", "1", "--quiet", "--out", prefix, NULL

static struct data_sweep sweep_full;
static char full_csv[720], full_png[720];

/* A stored run equals the run of the uninterrupted sweep at the same point and seed. */
static void same_run(const struct data_sweep_run *a)
{
    for (int i = 0; i < sweep_full.n; i++) {
        const struct data_sweep_run *b = &sweep_full.runs[i];
        if (b->point != a->point || b->seed_index != a->seed_index)
            continue;
        ck_assert_str_eq(a->config, b->config);
        ck_assert_int_eq(a->correct, b->correct);
        ck_assert_str_eq(a->layers, b->layers);
        return;
    }
    ck_abort_msg("stored run of point %d, seed %d is not in the uninterrupted sweep", a->point,
                 a->seed_index);
}

/* After a kill: the store, if there, loads and its runs are the uninterrupted
 * sweep's; the CSV and the figure, if there, are the uninterrupted ones; nothing
 * else but temporary names. Returns the number of temporary files. */
static int sweep_check_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int tmp = 0;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name, *p = in_dir(dir, n);
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (is_tmp_of(n, "part.h5") || is_tmp_of(n, "part.csv") || is_tmp_of(n, "part.png")) {
            tmp++;
        } else if (strcmp(n, "part.h5") == 0) {
            struct data_sweep s;
            struct cim_err err = {0};
            ck_assert_msg(data_sweep_load(p, &s, &err) == CIM_OK, "%s: %s", p, err.msg);
            ck_assert(s.n >= 0 && s.n <= SWEEP_RUNS);
            for (int i = 0; i < s.n; i++)
                same_run(&s.runs[i]);
            data_sweep_release(&s);
        } else if (strcmp(n, "part.csv") == 0) {
            ck_assert_msg(same_bytes(p, full_csv), "%s differs from the uninterrupted one", p);
        } else if (strcmp(n, "part.png") == 0 && test_exists(full_png)) {
            ck_assert_msg(same_bytes(p, full_png), "%s differs from the uninterrupted one", p);
        } else {
            ck_abort_msg("unexpected file %s after a kill", p);
        }
    }
    closedir(d);
    return tmp;
}

START_TEST(test_sweep_killed)
{
    rng_state = KILL_SEED + 1;
    static struct cli_run r;
    char full[700];
    snprintf(full, sizeof full, "%s", in_dir(test_tmpdir(), "full"));
    snprintf(full_csv, sizeof full_csv, "%s.csv", full);
    snprintf(full_png, sizeof full_png, "%s.png", full);
    const double t0 = test_now();
    test_run_cim(&r, (const char *[]){SWEEP_ARGS(full)});
    const double t_full = test_now() - t0;
    ck_assert_msg(r.status == 0, "uninterrupted sweep: %s", r.err);
    struct cim_err err = {0};
    char full_h5[720];
    snprintf(full_h5, sizeof full_h5, "%s.h5", full);
    ck_assert_msg(data_sweep_load(full_h5, &sweep_full, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(sweep_full.n, SWEEP_RUNS);

    int kills = 0, tmp_seen = 0;
    for (int e = 0; e < EPISODES; e++) {
        const char *dir = episode_dir("sweep", e);
        char part[700];
        snprintf(part, sizeof part, "%s", in_dir(dir, "part"));
        const char *const args[] = {SWEEP_ARGS(part)};
        double f = first_fraction(e);
        int done = 0;
        for (int k = 0; k <= CHAIN && !done; k++) {
            int st = 0;
            if (test_run_cim_killed_after(args, f * t_full, &st)) {
                kills++;
                tmp_seen += sweep_check_dir(dir);
            } else {
                ck_assert_msg(st == 0, "a sweep ended with status %d before its kill", st);
                done = 1;
            }
            f = CHAIN_SPAN * uniform();
        }
        if (!done) {
            /* past what killed writers of each output left */
            plant_stale(in_dir(dir, "part.h5"));
            plant_stale(in_dir(dir, "part.csv"));
            if (test_exists(full_png))
                plant_stale(in_dir(dir, "part.png"));
            test_run_cim(&r, args);
            ck_assert_msg(r.status == 0, "resume: %s", r.err);
        }
        ck_assert_msg(same_bytes(in_dir(dir, "part.csv"), full_csv),
                      "episode %d: the resumed sweep's CSV differs", e);
        if (test_exists(full_png))
            ck_assert_msg(same_bytes(in_dir(dir, "part.png"), full_png),
                          "episode %d: the resumed sweep's figure differs", e);
        struct data_sweep s;
        ck_assert_msg(data_sweep_load(in_dir(dir, "part.h5"), &s, &err) == CIM_OK, "%s",
                      err.msg);
        ck_assert_int_eq(s.n, SWEEP_RUNS);
        for (int i = 0; i < s.n; i++)
            same_run(&s.runs[i]);
        data_sweep_release(&s);
        no_temporaries(dir);
    }
    fprintf(stderr, "sweep: uninterrupted %.2f s, %d kills, %d temporary files left by them\n",
            t_full, kills, tmp_seen);
    ck_assert_msg(kills >= 2, "only %d kills landed inside a sweep", kills);
    data_sweep_release(&sweep_full);
}
END_TEST

static Suite *integration_suite(void)
{
    Suite *s = suite_create("integration");
    TCase *tc = tcase_create("kill");
    tcase_set_timeout(tc, 600); /* an ASan build on 2 loaded cores */
    tcase_add_test(tc, test_train_killed);
    tcase_add_test(tc, test_sweep_killed);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(integration_suite)
