/*
 * plot.c: the figures of the synthesis sweep, from its CSV table, through
 * PLplot's SVG driver (built into PLplot, so nothing beyond libplplot-dev is
 * needed).
 *
 *   flow-plot results.csv OUTDIR
 *
 * writes, for each unit shape found in the table (dot products of 8x8 and 4x4
 * bits on 16 lanes, the shift-add), OUTDIR/<shape>.svg with three panels
 * against the output width OUT_W: area, energy per result from zero-delay
 * activity, and energy with glitches (SDF-annotated activity). One line per
 * architecture and rounding mode (floor, half up, half even), saturating
 * rows only (SAT = 1), operands from the network only; the dot product's
 * rounding folded into the adder tree (cim_dot_cheap) shows as markers.
 *
 * Exit status 0; 1 when the table cannot be read or a figure not written; 2
 * on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plplot.h>

#define ROWS_MAX 1024
#define LINE_MAX_CHARS 2048

/* ---------------------------------------------------------------- the table */

enum arch { ARCH_EXACT, ARCH_EARLY, ARCH_CHEAP, ARCH_SHIFT_ADD, ARCH_COUNT };

struct row {
    enum arch arch;
    int a_w, w_w, out_w, round, sat;
    double area_um2, energy_pj, energy_glitch_pj;
};

struct table {
    int n;
    struct row r[ROWS_MAX];
};

/* The value of KEY=... in the space-separated params field; `dflt` if absent. */
static int param(const char *params, const char *key, int dflt)
{
    size_t kl = strlen(key);
    for (const char *p = params; (p = strstr(p, key)) != NULL; p += kl)
        if ((p == params || p[-1] == ' ') && p[kl] == '=')
            return atoi(p + kl + 1);
    return dflt;
}

/* Split a CSV line in place at commas (no quoting in this table). */
static int split(char *line, char **field, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        field[n++] = p;
        p = strchr(p, ',');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    return n;
}

static int column(char **head, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (strcmp(head[k], name) == 0)
            return k;
    return -1;
}

/* Read the sweep's table; 0 on success, else -1 with a message on stderr. */
static int table_read(const char *path, struct table *t)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "flow-plot: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char hline[LINE_MAX_CHARS], line[LINE_MAX_CHARS];
    char *head[32], *fld[32];
    int rc = -1;
    if (fgets(hline, sizeof hline, f) == NULL) {
        fprintf(stderr, "flow-plot: %s: empty\n", path);
        goto done;
    }
    int nh = split(hline, head, 32);
    int c_unit = column(head, nh, "unit"), c_par = column(head, nh, "params");
    int c_area = column(head, nh, "area_um2"), c_e = column(head, nh, "energy_pj");
    int c_eg = column(head, nh, "energy_glitch_pj"), c_ops = column(head, nh, "operands");
    if (c_unit < 0 || c_par < 0 || c_area < 0 || c_e < 0 || c_eg < 0) {
        fprintf(stderr, "flow-plot: %s: not a sweep table (columns unit, params, area_um2, "
                        "energy_pj, energy_glitch_pj)\n", path);
        goto done;
    }
    t->n = 0;
    for (int ln = 2; fgets(line, sizeof line, f) != NULL; ln++) {
        int nf = split(line, fld, 32);
        if (nf < nh) {
            fprintf(stderr, "flow-plot: %s:%d: %d fields, expected %d\n", path, ln, nf, nh);
            goto done;
        }
        if (c_ops >= 0 && strcmp(fld[c_ops], "network") != 0)
            continue;
        if (t->n == ROWS_MAX) {
            fprintf(stderr, "flow-plot: %s: more than %d rows\n", path, ROWS_MAX);
            goto done;
        }
        struct row *r = &t->r[t->n++];
        const char *u = fld[c_unit], *p = fld[c_par];
        r->arch = strcmp(u, "cim_dot_early") == 0   ? ARCH_EARLY
                  : strcmp(u, "cim_dot_cheap") == 0 ? ARCH_CHEAP
                  : strcmp(u, "cim_shift_add") == 0 ? ARCH_SHIFT_ADD
                                                    : ARCH_EXACT;
        r->a_w = param(p, "A_W", 8);
        r->w_w = param(p, "W_W", 8);
        r->out_w = param(p, "OUT_W", 16);
        r->round = param(p, "ROUND", 0);
        r->sat = param(p, "SAT", 1);
        r->area_um2 = atof(fld[c_area]);
        r->energy_pj = atof(fld[c_e]);
        r->energy_glitch_pj = atof(fld[c_eg]);
    }
    rc = 0;
done:
    fclose(f);
    return rc;
}

/* ---------------------------------------------------------------- figures */

/* What one figure shows: the rows of one unit shape. */
struct shape {
    const char *file, *title, *unit_energy;
    int dot, a_w, w_w;
};

static int in_shape(const struct row *r, const struct shape *s)
{
    if (r->sat != 1)
        return 0;
    if (!s->dot)
        return r->arch == ARCH_SHIFT_ADD;
    return r->arch != ARCH_SHIFT_ADD && r->a_w == s->a_w && r->w_w == s->w_w;
}

/* One series: the rows of `arch` with rounding `round`, sorted by OUT_W,
 * into x (OUT_W) and y (the chosen quantity); returns the count. A row at
 * full width (nothing dropped) belongs to every rounding mode. */
static int series(const struct table *t, const struct shape *s, enum arch arch, int round,
                  int what, PLFLT *x, PLFLT *y)
{
    int n = 0, full = 0;
    for (int k = 0; k < t->n; k++)
        if (in_shape(&t->r[k], s) && t->r[k].out_w > full)
            full = t->r[k].out_w;
    for (int k = 0; k < t->n; k++) {
        const struct row *r = &t->r[k];
        if (!in_shape(r, s) || r->arch != arch || (r->round != round && r->out_w != full))
            continue;
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= x[j] == (PLFLT)r->out_w;
        if (dup)
            continue;
        x[n] = r->out_w;
        y[n] = what == 0 ? r->area_um2 / 1e3 : what == 1 ? r->energy_pj : r->energy_glitch_pj;
        n++;
    }
    for (int i = 1; i < n; i++) /* insertion sort by OUT_W */
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
            PLFLT tx = x[j], ty = y[j];
            x[j] = x[j - 1];
            y[j] = y[j - 1];
            x[j - 1] = tx;
            y[j - 1] = ty;
        }
    return n;
}

static const char *const round_names[3] = {"floor", "half up", "half even"};

/* One panel: quantity `what` (0 area, 1 energy, 2 energy with glitches). */
static void panel(const struct table *t, const struct shape *s, int what)
{
    static PLFLT x[ROWS_MAX], y[ROWS_MAX];
    PLFLT xmin = 1e9, xmax = -1e9, ymin = 1e30, ymax = -1e30;
    for (int a = 0; a < ARCH_COUNT; a++)
        for (int rd = 0; rd < 3; rd++) {
            int n = series(t, s, (enum arch)a, rd, what, x, y);
            for (int k = 0; k < n; k++) {
                xmin = x[k] < xmin ? x[k] : xmin;
                xmax = x[k] > xmax ? x[k] : xmax;
                ymin = y[k] < ymin ? y[k] : ymin;
                ymax = y[k] > ymax ? y[k] : ymax;
            }
        }
    if (xmin > xmax)
        return;
    PLFLT pad = (ymax - ymin) * 0.08 + ymax * 0.01;
    pladv(0);
    plvpor(0.12, 0.72, 0.15, 0.85);
    plwind(xmin - 0.5, xmax + 0.5, ymin - pad, ymax + pad);
    plcol0(15);
    plbox("bcnst", 2.0, 0, "bcnstv", 0.0, 0);
    char ylab[96];
    if (what == 0)
        snprintf(ylab, sizeof ylab, "area (1000 um#u2#d)");
    else
        snprintf(ylab, sizeof ylab, "pJ per %s, %s", s->unit_energy,
                 what == 1 ? "zero delay" : "with glitches");
    pllab("output width OUT_W (bits)", ylab, what == 0 ? s->title : "");

    PLINT colors[ARCH_COUNT] = {1, 9, 3, 1};
    const char *arch_names[ARCH_COUNT] = {"exact", "early", "cheap", "shift-add"};
    const char *text[9];
    char names[9][48];
    PLINT opt[9], lcol[9], lstyle[9], mcol[9], mnum[9];
    PLFLT lwid[9], msc[9];
    const char *msym[9];
    int nl = 0;
    for (int a = 0; a < ARCH_COUNT; a++)
        for (int rd = 0; rd < 3; rd++) {
            int n = series(t, s, (enum arch)a, rd, what, x, y);
            if (n == 0)
                continue;
            plcol0(colors[a]);
            pllsty(rd + 1);
            static const char *const sym[3] = {"#(728)", "#(727)", "#(852)"};
            if (a != ARCH_CHEAP)
                plline(n, x, y);
            plstring(n, x, y, sym[rd]);
            if (nl < 9) {
                snprintf(names[nl], sizeof names[nl], "%s, %s", arch_names[a], round_names[rd]);
                text[nl] = names[nl];
                opt[nl] = a == ARCH_CHEAP ? PL_LEGEND_SYMBOL : PL_LEGEND_LINE | PL_LEGEND_SYMBOL;
                lcol[nl] = mcol[nl] = colors[a];
                lstyle[nl] = rd + 1;
                lwid[nl] = 1.0;
                msc[nl] = 1.0;
                mnum[nl] = 2;
                msym[nl] = sym[rd];
                nl++;
            }
        }
    pllsty(1);
    if (nl > 0) {
        PLFLT lw, lh;
        PLINT tcol[9];
        for (int k = 0; k < nl; k++)
            tcol[k] = 15;
        pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                 PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.02, 0.0, 0.1, 0, 15, 1, 0, 0, nl,
                 opt, 1.0, 0.6, 1.5, 0.0, tcol, text, NULL, NULL, NULL, NULL, lcol, lstyle,
                 lwid, mcol, msc, mnum, msym);
    }
}

static int figure(const struct table *t, const struct shape *s, const char *dir)
{
    int any = 0;
    for (int k = 0; k < t->n; k++)
        any |= in_shape(&t->r[k], s);
    if (!any)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, s->file);
    FILE *probe = fopen(path, "w"); /* PLplot does not report an unwritable file */
    if (probe == NULL) {
        fprintf(stderr, "flow-plot: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fclose(probe);
    plsdev("svg");
    plsfnam(path);
    plspage(0, 0, 900, 1100, 0, 0);
    plscolbg(255, 255, 255);
    plscol0(15, 0, 0, 0);
    plssub(1, 3);
    plinit();
    plschr(0.0, 0.8);
    for (int what = 0; what < 3; what++)
        panel(t, s, what);
    plend();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: flow-plot results.csv OUTDIR\n");
        return 2;
    }
    static struct table t;
    if (table_read(argv[1], &t) != 0)
        return 1;
    static const struct shape shapes[] = {
        {"dot_8x8.svg", "16-lane dot product, 8x8 bits (SAT 1)", "dot product", 1, 8, 8},
        {"dot_4x4.svg", "16-lane dot product, 4x4 bits (SAT 1)", "dot product", 1, 4, 4},
        {"shift_add.svg", "shift-add, 6-bit ADC, 8x1-bit DAC, 4x2-bit cells (SAT 1)",
         "output", 0, 0, 0},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        if (figure(&t, &shapes[k], argv[2]) != 0)
            return 1;
    return 0;
}
