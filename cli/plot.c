/* plot.c: line figures of sweep results through PLplot; see plot.h. */
#include "cli/plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/atomic.h"

#ifdef CIM_HAVE_PLPLOT
#include <setjmp.h>

#include <plplot.h>
#endif

/* ---- arguments ---------------------------------------------------------------- */

/* A value that can be drawn: finite, and positive on a logarithmic axis. */
static int plot_x_ok(double x, int logx)
{
    return isfinite(x) && (!logx || x > 0.0);
}

/* ".png" -> 0, ".svg" -> 1, anything else -> -1 (case ignored). */
static int plot_format(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (dot == NULL || dot[1] == '\0' || dot == (slash ? slash + 1 : path))
        return -1;
    if (strcasecmp(dot, ".png") == 0)
        return 0;
    if (strcasecmp(dot, ".svg") == 0)
        return 1;
    return -1;
}

/* Everything the caller can get wrong, checked before PLplot is touched. */
static int plot_check(const char *path, const struct cli_plot *p,
                      const struct cli_plot_series *s, int ns, struct cim_err *err)
{
    if (path == NULL || path[0] == '\0')
        return cim_err_set(err, CIM_EINVAL, "empty figure file name");
    if (plot_format(path) < 0)
        return cim_err_set(err, CIM_EINVAL, "%s: unknown figure format; expected a name "
                           "ending in .png or .svg", path);
    if (p == NULL)
        return cim_err_set(err, CIM_EINVAL, "%s: no figure description", path);
    if (s == NULL || ns <= 0)
        return cim_err_set(err, CIM_EINVAL, "%s: no series to plot", path);
    if (isinf(p->ymin) || isinf(p->ymax))
        return cim_err_set(err, CIM_EINVAL, "%s: y axis limits must be finite or NaN "
                           "(automatic)", path);
    if (!isnan(p->ymin) && !isnan(p->ymax) && !(p->ymin < p->ymax))
        return cim_err_set(err, CIM_EINVAL, "%s: y axis from %g to %g is empty; ymin must "
                           "be below ymax", path, p->ymin, p->ymax);
    long points = 0;
    for (int k = 0; k < ns; k++) {
        const struct cli_plot_series *c = &s[k];
        if (c->n < 0)
            return cim_err_set(err, CIM_EINVAL, "%s: series %d has %d points", path, k, c->n);
        if (c->n > 0 && (c->x == NULL || c->y == NULL))
            return cim_err_set(err, CIM_EINVAL, "%s: series %d has no x or y values", path, k);
        if ((c->ylo == NULL) != (c->yhi == NULL))
            return cim_err_set(err, CIM_EINVAL, "%s: series %d gives only one end of its "
                               "error bars; pass both ylo and yhi or neither", path, k);
        for (int i = 0; i < c->n; i++)
            points += plot_x_ok(c->x[i], p->logx) && isfinite(c->y[i]);
    }
    if (points == 0)
        return cim_err_set(err, CIM_EINVAL, "%s: no finite data point to plot%s", path,
                           p->logx ? " (a logarithmic x axis needs x > 0)" : "");
    return CIM_OK;
}

#ifndef CIM_HAVE_PLPLOT

int cli_plot_write(const char *path, const struct cli_plot *p, const struct cli_plot_series *s,
                   int ns, struct cim_err *err)
{
    int rc = plot_check(path, p, s, ns, err);
    if (rc != CIM_OK)
        return rc;
    return cim_err_set(err, CIM_EUNSUPPORTED, "%s: cim was built without PLplot; install "
                       "the Debian packages libplplot-dev and plplot-driver-cairo and "
                       "rebuild", path);
}

#else

/* ---- look ----------------------------------------------------------------------- */

/* The page, in pixels for pngcairo (the svg device takes them as points). */
#define PLOT_WIDTH_PX 800
#define PLOT_HEIGHT_PX 600

/* Text height relative to PLplot's default, and the plot area within the page
 * (normalized page coordinates): room on the left for the y tick labels and the
 * rotated y label, below for the x tick labels and x label, above for the title. */
#define PLOT_TEXT_SCALE 1.0
#define PLOT_VP_LEFT 0.10
#define PLOT_VP_RIGHT 0.97
#define PLOT_VP_BOTTOM 0.11
#define PLOT_VP_TOP 0.92

/* Lines and markers: widths in PLplot's units (about a pixel on pngcairo). */
#define PLOT_LINE_WIDTH 2.0
#define PLOT_BAR_WIDTH 1.5

/* Margins of an automatic axis range, as fractions of the data's span. */
#define PLOT_Y_MARGIN 0.05
#define PLOT_X_MARGIN 0.03

/* cmap0: 0 background, 1 axes and text, 2 grid, 3 legend frame, then the series.
 * Series colours are Tableau 10 (matplotlib's default cycle), distinct on white. */
enum { PLOT_COL_BG, PLOT_COL_FG, PLOT_COL_GRID, PLOT_COL_FRAME, PLOT_COL_SERIES };
static const unsigned char plot_rgb[][3] = {
    {255, 255, 255}, {34, 34, 34},    {222, 222, 222}, {160, 160, 160},
    {31, 119, 180},  {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},   {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};
#define PLOT_NCOL ((int)(sizeof plot_rgb / sizeof plot_rgb[0]))
#define PLOT_NSERIES_COL (PLOT_NCOL - PLOT_COL_SERIES)

/* Markers as UTF-8 glyphs (DejaVu Sans has all of them), each scaled so that
 * they look the same size: filled circle, square, up triangle, diamond, down
 * triangle, star. With 10 colours, a colour and marker pair repeats only after
 * lcm(10, 6) = 30 series. */
static const struct {
    const char *glyph;
    double scale; /* of the text height */
} plot_markers[] = {
    {"\xe2\x97\x8f", 0.85}, {"\xe2\x96\xa0", 0.85}, {"\xe2\x96\xb2", 0.95},
    {"\xe2\x97\x86", 1.1},  {"\xe2\x96\xbc", 0.95}, {"\xe2\x98\x85", 1.0},
};
#define PLOT_NMARKERS ((int)(sizeof plot_markers / sizeof plot_markers[0]))

/* ---- PLplot errors ---------------------------------------------------------------- */

/* PLplot reports a failed call through its abort handler (and goes on), and a
 * fatal error through its exit handler, after which it would call exit(). The
 * exit handler jumps back to cli_plot_write instead. Both are process-wide, as
 * is all PLplot state: hence "one thread at a time" in plot.h. */
static jmp_buf plot_jump;
static char plot_errmsg[256];
static char plot_errbuf[1024]; /* plsError's buffer: PLplot formats into it unbounded */
static PLINT plot_errcode;

static void plot_on_abort(PLCHAR_VECTOR msg)
{
    if (plot_errmsg[0] == '\0')
        snprintf(plot_errmsg, sizeof plot_errmsg, "%s", msg && *msg ? msg : "unknown error");
}

static int plot_on_exit(PLCHAR_VECTOR msg)
{
    plot_on_abort(msg);
    longjmp(plot_jump, 1);
}

/* ---- layout ----------------------------------------------------------------------- */

/* Where the legend goes: inside one of eight spots of the plot area, or outside
 * on its right when each of them would hide data. */
enum plot_spot {
    PLOT_SPOT_TOP_RIGHT, /* inside, in order of preference */
    PLOT_SPOT_TOP_LEFT,
    PLOT_SPOT_BOTTOM_RIGHT,
    PLOT_SPOT_BOTTOM_LEFT,
    PLOT_SPOT_RIGHT,
    PLOT_SPOT_LEFT,
    PLOT_SPOT_TOP,
    PLOT_SPOT_BOTTOM,
    PLOT_SPOT_OUTSIDE /* right of the plot area; also the count of inside spots */
};

/* Offset of an inside legend from the frame, and gap between the frame and an
 * outside legend, in normalized viewport units; the length of the line sample
 * before each legend entry, the same units. */
#define PLOT_LEGEND_INSET 0.025
#define PLOT_LEGEND_GAP 0.03
#define PLOT_LEGEND_SAMPLE 0.08

struct plot_job {
    const char *tmp_path;
    int svg;
    const struct cli_plot *p;
    const struct cli_plot_series *s;
    int ns;
    double wx0, wx1, wy0, wy1; /* world box; x in log10 units on a log axis */
    double xtick;              /* major tick interval, 0: PLplot's choice */
    int nxsub;                 /* minor intervals per major one, 0: PLplot's choice */
    char *title, *xlabel, *ylabel;
    int nlegend;      /* series with a label */
    char **legend;    /* their escaped labels */
    int *legend_of;   /* the series of each legend entry */
    PLFLT *bx, *by, *blo, *bhi; /* scratch, as long as the longest series */
};

/* PLplot reads "#" as its escape character; "##" is a literal "#". */
static char *plot_escape(const char *s)
{
    if (s == NULL)
        s = "";
    size_t n = strlen(s);
    char *e = malloc(2 * n + 1), *o = e;
    if (e == NULL)
        return NULL;
    for (; *s; s++) {
        if (*s == '#')
            *o++ = '#';
        *o++ = *s;
    }
    *o = '\0';
    return e;
}

static double plot_tx(const struct plot_job *j, double x)
{
    return j->p->logx ? log10(x) : x;
}

/* The world box: the data's range (error bars included) plus a margin, or the
 * caller's y limits. A single x or y value gets a range around it. */
static void plot_ranges(struct plot_job *j)
{
    const struct cli_plot *p = j->p;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int integral = !p->logx;
    for (int k = 0; k < j->ns; k++) {
        const struct cli_plot_series *c = &j->s[k];
        for (int i = 0; i < c->n; i++) {
            if (!plot_x_ok(c->x[i], p->logx) || !isfinite(c->y[i]))
                continue;
            double x = plot_tx(j, c->x[i]);
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, c->y[i]);
            y1 = fmax(y1, c->y[i]);
            integral &= c->x[i] == nearbyint(c->x[i]);
            if (c->ylo && isfinite(c->ylo[i]) && isfinite(c->yhi[i])) {
                y0 = fmin(y0, fmin(c->ylo[i], c->yhi[i]));
                y1 = fmax(y1, fmax(c->ylo[i], c->yhi[i]));
            }
        }
    }
    double xs = x1 - x0;
    if (xs > 0) {
        j->wx0 = x0 - PLOT_X_MARGIN * xs;
        j->wx1 = x1 + PLOT_X_MARGIN * xs;
    } else {
        double h = p->logx ? 0.5 : fmax(1.0, 0.1 * fabs(x0));
        j->wx0 = x0 - h;
        j->wx1 = x1 + h;
    }
    j->xtick = 0.0;
    j->nxsub = 0;
    if (integral && xs > 0 && xs <= 12) {
        j->xtick = 1.0;
        j->nxsub = 1;
    }

    /* y: the caller's limits where given; when only one is given, the other comes
     * from the data and, should the data lie beyond the given one, from it. */
    double ys = y1 - y0;
    double lo, hi;
    if (ys > 0) {
        lo = y0 - PLOT_Y_MARGIN * ys;
        hi = y1 + PLOT_Y_MARGIN * ys;
    } else {
        double h = fabs(y0) > 0 ? 0.1 * fabs(y0) : 1.0;
        lo = y0 - h;
        hi = y1 + h;
    }
    if (!isnan(p->ymin)) {
        lo = p->ymin;
        if (isnan(p->ymax) && hi <= lo)
            hi = lo + (ys > 0 ? ys : fmax(1.0, fabs(lo) * 0.1));
    }
    if (!isnan(p->ymax)) {
        hi = p->ymax;
        if (isnan(p->ymin) && lo >= hi)
            lo = hi - (ys > 0 ? ys : fmax(1.0, fabs(hi) * 0.1));
    }
    j->wy0 = lo;
    j->wy1 = hi;
}

/* The legend's box {left, right, bottom, top} in normalized viewport coordinates
 * at spot `sp`, for a legend w wide and h high. Outside, it starts just right of
 * the plot area, level with its top. */
static void plot_spot_box(enum plot_spot sp, double w, double h, double box[4])
{
    double in = PLOT_LEGEND_INSET;
    int right = sp == PLOT_SPOT_TOP_RIGHT || sp == PLOT_SPOT_BOTTOM_RIGHT || sp == PLOT_SPOT_RIGHT;
    int left = sp == PLOT_SPOT_TOP_LEFT || sp == PLOT_SPOT_BOTTOM_LEFT || sp == PLOT_SPOT_LEFT;
    int top = sp == PLOT_SPOT_TOP_RIGHT || sp == PLOT_SPOT_TOP_LEFT || sp == PLOT_SPOT_TOP;
    int bottom = sp == PLOT_SPOT_BOTTOM_RIGHT || sp == PLOT_SPOT_BOTTOM_LEFT ||
                 sp == PLOT_SPOT_BOTTOM;
    if (sp == PLOT_SPOT_OUTSIDE) {
        box[0] = 1 + PLOT_LEGEND_GAP;
        box[2] = 1 - h;
    } else {
        box[0] = right ? 1 - in - w : left ? in : 0.5 - w / 2;
        box[2] = top ? 1 - in - h : bottom ? in : 0.5 - h / 2;
    }
    box[1] = box[0] + w;
    box[3] = box[2] + h;
}

/* How much of the data a legend box would hide: the number of sample points,
 * taken along every drawn line, at every marker and along every error bar, that
 * fall inside the box grown by a marker's half size. Coordinates are normalized
 * to the plot area. */
#define PLOT_SAMPLES_PER_SEGMENT 24
#define PLOT_MARKER_HALF 0.02

static long plot_hidden(const struct plot_job *j, const double box[4])
{
    long hits = 0;
    double bx0 = box[0] - PLOT_MARKER_HALF, bx1 = box[1] + PLOT_MARKER_HALF;
    double by0 = box[2] - PLOT_MARKER_HALF, by1 = box[3] + PLOT_MARKER_HALF;
    double sx = 1.0 / (j->wx1 - j->wx0), sy = 1.0 / (j->wy1 - j->wy0);
#define PLOT_IN(u, v) ((u) >= bx0 && (u) <= bx1 && (v) >= by0 && (v) <= by1)
    for (int k = 0; k < j->ns; k++) {
        const struct cli_plot_series *c = &j->s[k];
        int prev = 0;
        double pu = 0, pv = 0;
        for (int i = 0; i < c->n; i++) {
            if (!plot_x_ok(c->x[i], j->p->logx) || !isfinite(c->y[i])) {
                prev = 0;
                continue;
            }
            double u = (plot_tx(j, c->x[i]) - j->wx0) * sx, v = (c->y[i] - j->wy0) * sy;
            hits += 4 * PLOT_IN(u, v); /* a hidden marker weighs more than a bit of line */
            if (prev && c->style != CLI_PLOT_MARKERS)
                for (int t = 1; t < PLOT_SAMPLES_PER_SEGMENT; t++) {
                    double f = (double)t / PLOT_SAMPLES_PER_SEGMENT;
                    hits += PLOT_IN(pu + f * (u - pu), pv + f * (v - pv));
                }
            if (c->ylo && isfinite(c->ylo[i]) && isfinite(c->yhi[i])) {
                double v0 = (c->ylo[i] - j->wy0) * sy, v1 = (c->yhi[i] - j->wy0) * sy;
                for (int t = 0; t <= 8; t++)
                    hits += PLOT_IN(u, v0 + (v1 - v0) * t / 8.0);
            }
            prev = 1;
            pu = u;
            pv = v;
        }
    }
#undef PLOT_IN
    return hits;
}

/* The spot that hides the least data, in order of preference on ties; outside
 * when every inside spot hides some. w and h: legend size, viewport units. */
static enum plot_spot plot_choose_spot(const struct plot_job *j, double w, double h)
{
    if (w > 0.5 || h > 0.6)
        return PLOT_SPOT_OUTSIDE;
    enum plot_spot best = PLOT_SPOT_OUTSIDE;
    long best_hits = 1;
    for (int sp = 0; sp < PLOT_SPOT_OUTSIDE; sp++) {
        double box[4];
        plot_spot_box((enum plot_spot)sp, w, h, box);
        long n = plot_hidden(j, box);
        if (n < best_hits) {
            best = (enum plot_spot)sp;
            best_hits = n;
        }
    }
    return best;
}

/* ---- drawing ------------------------------------------------------------------------ */

static PLINT plot_series_colour(int k)
{
    return PLOT_COL_SERIES + k % PLOT_NSERIES_COL;
}

/* One series: its line, broken at missing points, its error bars, its markers. */
static void plot_draw_series(const struct plot_job *j, int k)
{
    const struct cli_plot_series *c = &j->s[k];
    plcol0(plot_series_colour(k));

    /* error bars first, so that the line and the markers stay on top */
    if (c->ylo) {
        int m = 0;
        for (int i = 0; i < c->n; i++)
            if (plot_x_ok(c->x[i], j->p->logx) && isfinite(c->y[i]) && isfinite(c->ylo[i]) &&
                isfinite(c->yhi[i])) {
                j->bx[m] = plot_tx(j, c->x[i]);
                j->blo[m] = c->ylo[i];
                j->bhi[m] = c->yhi[i];
                m++;
            }
        if (m > 0) {
            plwidth(PLOT_BAR_WIDTH);
            plerry(m, j->bx, j->blo, j->bhi);
        }
    }

    plwidth(PLOT_LINE_WIDTH);
    int m = 0;
    for (int i = 0; i <= c->n && c->style != CLI_PLOT_MARKERS; i++) {
        int ok = i < c->n && plot_x_ok(c->x[i], j->p->logx) && isfinite(c->y[i]);
        if (ok) {
            j->bx[m] = plot_tx(j, c->x[i]);
            j->by[m] = c->y[i];
            m++;
        } else {
            if (m > 1)
                plline(m, j->bx, j->by);
            m = 0;
        }
    }

    m = 0;
    for (int i = 0; i < c->n && c->style != CLI_PLOT_LINE; i++)
        if (plot_x_ok(c->x[i], j->p->logx) && isfinite(c->y[i])) {
            j->bx[m] = plot_tx(j, c->x[i]);
            j->by[m] = c->y[i];
            m++;
        }
    if (m > 0) {
        plschr(0.0, PLOT_TEXT_SCALE * plot_markers[k % PLOT_NMARKERS].scale);
        plstring(m, j->bx, j->by, plot_markers[k % PLOT_NMARKERS].glyph);
        plschr(0.0, PLOT_TEXT_SCALE);
    }
}

/* The legend with its top left corner at that of plot_spot_box(spot, w0, h0)
 * (w0, h0: its size measured by an earlier pass; 0 the first time); its size, in
 * normalized viewport units, into *w and *h.
 *
 * PLplot draws a legend's markers at the left end of the line sample; one marker
 * in its middle reads better, so pllegend draws box, lines and text, and the
 * markers go on top at the centre of each sample. pllegend's geometry (5.15,
 * src/pllegend.c): rows drow = h / n apart from the top, the sample starting
 * 0.4 character heights right of the box's left edge. */
static void plot_draw_legend(const struct plot_job *j, enum plot_spot spot, double w0, double h0,
                             PLFLT *w, PLFLT *h)
{
    int n = j->nlegend;
    PLINT *opt = malloc((size_t)n * sizeof *opt * 4);
    PLFLT *lw = malloc((size_t)n * sizeof *lw);
    if (opt == NULL || lw == NULL) {
        free(opt);
        free(lw);
        plot_on_abort("out of memory for the legend");
        return;
    }
    PLINT *tcol = opt + n, *col = opt + 2 * n, *style = opt + 3 * n;
    for (int e = 0; e < n; e++) {
        opt[e] = j->s[j->legend_of[e]].style == CLI_PLOT_MARKERS ? PL_LEGEND_NONE : PL_LEGEND_LINE;
        tcol[e] = PLOT_COL_FG;
        col[e] = plot_series_colour(j->legend_of[e]);
        style[e] = 1;
        lw[e] = PLOT_LINE_WIDTH;
    }
    double box[4];
    plot_spot_box(spot, w0, h0, box);
    pllegend(w, h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_LEFT | PL_POSITION_TOP | PL_POSITION_INSIDE | PL_POSITION_VIEWPORT,
             box[0], 1 - box[3], PLOT_LEGEND_SAMPLE, PLOT_COL_BG, PLOT_COL_FRAME, 1, 0, 0, n,
             opt, 1.0, 1.0, 2.0, 0.0, tcol, (PLCHAR_MATRIX)j->legend, NULL, NULL, NULL, NULL, col,
             style, lw, NULL, NULL, NULL, NULL);
    free(opt);
    free(lw);

    /* the markers, in normalized subpage coordinates so that nothing clips them */
    PLFLT def, ht, sx0, sx1, sy0, sy1, vx0, vx1, vy0, vy1;
    plgchr(&def, &ht);
    plgspa(&sx0, &sx1, &sy0, &sy1);
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    double border = 0.4 * ht / (sy1 - sy0) / (vx1 - vx0);
    PLFLT mx = vx0 + (box[0] + border + PLOT_LEGEND_SAMPLE / 2) * (vx1 - vx0);
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, 1.0, 0.0, 1.0);
    for (int e = 0; e < n; e++) {
        int k = j->legend_of[e];
        if (j->s[k].style == CLI_PLOT_LINE)
            continue;
        PLFLT my = vy0 + (box[3] - (e + 0.5) * *h / n) * (vy1 - vy0);
        plcol0(plot_series_colour(k));
        plschr(0.0, PLOT_TEXT_SCALE * plot_markers[k % PLOT_NMARKERS].scale);
        plstring(1, &mx, &my, plot_markers[k % PLOT_NMARKERS].glyph);
    }
    plschr(0.0, PLOT_TEXT_SCALE);
    plvpor(vx0, vx1, vy0, vy1);
    plwind(j->wx0, j->wx1, j->wy0, j->wy1);
}

/* One complete rendering into j->tmp_path: PLplot from plinit to plend, with
 * the plot area's right edge at vp_right (normalized page units). The legend goes
 * to `spot` given its size w0, h0 from an earlier pass; its size comes back in
 * *lw, *lh (normalized viewport units). */
static void plot_render(const struct plot_job *j, enum plot_spot spot, double w0, double h0,
                        double vp_right, PLFLT *lw, PLFLT *lh)
{
    PLINT r[PLOT_NCOL], g[PLOT_NCOL], b[PLOT_NCOL];
    for (int i = 0; i < PLOT_NCOL; i++) {
        r[i] = plot_rgb[i][0];
        g[i] = plot_rgb[i][1];
        b[i] = plot_rgb[i][2];
    }
    plsError(&plot_errcode, plot_errbuf);
    plsdev(j->svg ? "svg" : "pngcairo");
    plsfnam(j->tmp_path);
    plspage(0.0, 0.0, PLOT_WIDTH_PX, PLOT_HEIGHT_PX, 0, 0);
    plscmap0(r, g, b, PLOT_NCOL);
    plinit();
    pladv(0);
    plschr(0.0, PLOT_TEXT_SCALE);
    plvpor(PLOT_VP_LEFT, vp_right, PLOT_VP_BOTTOM, PLOT_VP_TOP);
    plwind(j->wx0, j->wx1, j->wy0, j->wy1);

    const char *lx = j->p->logx ? "l" : "";
    char xg[8], xa[16];
    snprintf(xg, sizeof xg, "g%s", lx);
    snprintf(xa, sizeof xa, "bcnst%s", lx);

    /* grid under everything, data, then the frame and ticks over the data */
    plcol0(PLOT_COL_GRID);
    plwidth(1.0);
    plbox(xg, j->xtick, j->nxsub, "g", 0.0, 0);
    for (int k = 0; k < j->ns; k++)
        plot_draw_series(j, k);
    plcol0(PLOT_COL_FG);
    plwidth(1.0);
    plbox(xa, j->xtick, j->nxsub, "bcnstv", 0.0, 0);
    plmtex("b", 3.0, 0.5, 0.5, j->xlabel);
    plmtex("l", 3.6, 0.5, 0.5, j->ylabel);
    plschr(0.0, 1.1 * PLOT_TEXT_SCALE);
    plmtex("t", 1.2, 0.5, 0.5, j->title);
    plschr(0.0, PLOT_TEXT_SCALE);

    *lw = *lh = 0.0;
    if (j->nlegend > 0)
        plot_draw_legend(j, spot, w0, h0, lw, lh);
    plend();
}

/* Whether `path` is a complete file of the format: its first bytes and its last.
 * PLplot's drivers do not report a failed write (a full disk, a file size
 * limit), and a PNG or SVG cut short still starts right; so the end is checked
 * too: a PNG ends with its IEND chunk (type and CRC are fixed bytes), an SVG
 * with its closing tag. */
static int plot_file_ok(const char *path, int svg)
{
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size <= 16)
        return 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    unsigned char head[8] = {0}, tail[64] = {0};
    size_t n = fread(head, 1, sizeof head, f);
    const long back = st.st_size < (off_t)sizeof tail ? (long)st.st_size : (long)sizeof tail;
    size_t nt = 0;
    if (fseek(f, -back, SEEK_END) == 0)
        nt = fread(tail, 1, (size_t)back, f);
    fclose(f);
    if (nt != (size_t)back)
        return 0;
    if (svg) {
        while (nt > 0 && (tail[nt - 1] == '\n' || tail[nt - 1] == '\r' || tail[nt - 1] == ' '))
            nt--;
        return n >= 5 && (memcmp(head, "<?xml", 5) == 0 || memcmp(head, "<svg", 4) == 0) &&
               nt >= 6 && memcmp(tail + nt - 6, "</svg>", 6) == 0;
    }
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char iend[8] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    return n == 8 && memcmp(head, png, 8) == 0 && memcmp(tail + nt - 8, iend, 8) == 0;
}

/* Is PLplot's device `name` installed? Its drivers are plug-ins, packaged apart
 * (Debian's pngcairo is in plplot-driver-cairo); asking plinit for a missing one
 * would make PLplot prompt on stdin for another. */
static int plot_have_device(const char *name)
{
    enum { NDEV = 128 };
    const char *menu[NDEV], *devs[NDEV];
    const char **pm = menu, **pd = devs;
    int n = NDEV;
    plgDevs(&pm, &pd, &n);
    for (int i = 0; i < n; i++)
        if (devs[i] != NULL && strcmp(devs[i], name) == 0)
            return 1;
    return 0;
}

static void plot_job_free(struct plot_job *j)
{
    free(j->title);
    free(j->xlabel);
    free(j->ylabel);
    if (j->legend)
        for (int e = 0; e < j->nlegend; e++)
            free(j->legend[e]);
    free(j->legend);
    free(j->legend_of);
    free(j->bx);
    free(j->by);
    free(j->blo);
    free(j->bhi);
}

static int plot_job_init(struct plot_job *j, const struct cli_plot *p,
                         const struct cli_plot_series *s, int ns)
{
    memset(j, 0, sizeof *j);
    j->p = p;
    j->s = s;
    j->ns = ns;
    int nmax = 1;
    for (int k = 0; k < ns; k++)
        nmax = s[k].n > nmax ? s[k].n : nmax;
    j->bx = malloc((size_t)nmax * sizeof *j->bx);
    j->by = malloc((size_t)nmax * sizeof *j->by);
    j->blo = malloc((size_t)nmax * sizeof *j->blo);
    j->bhi = malloc((size_t)nmax * sizeof *j->bhi);
    j->title = plot_escape(p->title);
    j->xlabel = plot_escape(p->xlabel);
    j->ylabel = plot_escape(p->ylabel);
    j->legend = calloc((size_t)ns, sizeof *j->legend);
    j->legend_of = calloc((size_t)ns, sizeof *j->legend_of);
    if (!j->bx || !j->by || !j->blo || !j->bhi || !j->title || !j->xlabel || !j->ylabel ||
        !j->legend || !j->legend_of)
        return CIM_ENOMEM;
    for (int k = 0; k < ns; k++) {
        if (s[k].label == NULL || s[k].label[0] == '\0')
            continue;
        j->legend[j->nlegend] = plot_escape(s[k].label);
        if (j->legend[j->nlegend] == NULL)
            return CIM_ENOMEM;
        j->legend_of[j->nlegend++] = k;
    }
    plot_ranges(j);
    return CIM_OK;
}

/* ---- the figure --------------------------------------------------------------------- */

/* Draw twice when needed: the legend's size is known only once PLplot has laid
 * out its text, so the first pass puts it top left (a spot whose corner does not
 * depend on the size) and measures it, and a second pass moves it when that spot
 * hides data. A figure is a few hundred drawing calls; a pass takes milliseconds. */
static void plot_passes(struct plot_job *j)
{
    PLFLT lw, lh;
    plot_render(j, PLOT_SPOT_TOP_LEFT, 0.0, 0.0, PLOT_VP_RIGHT, &lw, &lh);
    if (plot_errmsg[0] != '\0' || j->nlegend == 0)
        return;
    enum plot_spot spot = plot_choose_spot(j, lw, lh);
    if (spot == PLOT_SPOT_TOP_LEFT)
        return;
    /* Outside, narrow the plot area so that the legend, a gap right of the new
     * area's frame (scaled with it), ends at the plot area's old right edge plus
     * a little: right + gap * (right - left) + w = PLOT_VP_RIGHT + 0.015. */
    double right = PLOT_VP_RIGHT;
    if (spot == PLOT_SPOT_OUTSIDE)
        right = (PLOT_VP_RIGHT + 0.015 - lw * (PLOT_VP_RIGHT - PLOT_VP_LEFT) +
                 PLOT_LEGEND_GAP * PLOT_VP_LEFT) / (1 + PLOT_LEGEND_GAP);
    plot_render(j, spot, lw, lh, right, &lw, &lh);
}

int cli_plot_write(const char *path, const struct cli_plot *p, const struct cli_plot_series *s,
                   int ns, struct cim_err *err)
{
    int rc = plot_check(path, p, s, ns, err);
    if (rc != CIM_OK)
        return rc;
    int svg = plot_format(path) == 1;
    const char *dev = svg ? "svg" : "pngcairo";

    struct data_atomic a;
    rc = data_atomic_begin(&a, path, err);
    if (rc != CIM_OK)
        return rc;

    struct plot_job job;
    if (plot_job_init(&job, p, s, ns) != CIM_OK) {
        plot_job_free(&job);
        return cim_err_set(err, CIM_ENOMEM, "%s: out of memory for the figure", path);
    }
    job.tmp_path = a.tmp_path;
    job.svg = svg;

    /* Create the file ourselves: PLplot, when it cannot, retries and then exits. */
    FILE *f = fopen(a.tmp_path, "wb");
    if (f == NULL || fclose(f) != 0) {
        int e = errno;
        plot_job_free(&job);
        data_atomic_abort(&a);
        return cim_err_set(err, CIM_EIO, "%s: cannot create the figure file: %s", path,
                           strerror(e));
    }

    plot_errmsg[0] = '\0';
    plot_errbuf[0] = '\0';
    plot_errcode = 0;
    plsabort(plot_on_abort);
    plsexit(plot_on_exit);
    volatile int have_dev = 1;
    if (setjmp(plot_jump) == 0) {
        have_dev = plot_have_device(dev);
        if (have_dev)
            plot_passes(&job);
    }
    plend();
    plsabort(NULL);
    plsexit(NULL);
    plot_job_free(&job);

    if (!have_dev) {
        data_atomic_abort(&a);
        return cim_err_set(err, CIM_EUNSUPPORTED, "%s: PLplot has no %s device; install the "
                           "Debian package %s", path, dev,
                           svg ? "libplplot17" : "plplot-driver-cairo");
    }
    if (plot_errmsg[0] != '\0' || plot_errcode != 0) {
        data_atomic_abort(&a);
        return cim_err_set(err, CIM_EIO, "%s: PLplot failed: %s", path,
                           plot_errmsg[0] ? plot_errmsg : "unknown error");
    }
    if (!plot_file_ok(a.tmp_path, svg)) {
        data_atomic_abort(&a);
        return cim_err_set(err, CIM_EIO, "%s: cannot write: PLplot wrote no complete %s file "
                           "(disk full?)", path, svg ? "SVG" : "PNG");
    }
    return data_atomic_commit(&a, err);
}

#endif
