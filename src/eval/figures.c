/* figures.c: the paper's figures through gnuplot and libpng (see figures.h). */
#define _DEFAULT_SOURCE
#include "eval/figures.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "io/atomicfile.h"
#include "io/csv.h"
#include "eval/eval.h"
#include "data/dataset.h"
#include "eval/experiment.h"
#include "io/npy.h"
#include "io/pngio.h"
#include "train/run.h"
#include "train/views.h"
#include "transform/transform.h"

/* ---------------------------------------------------------------- gnuplot */

/* Colours of the series, one per configuration, legible on white. */
static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
#define NPALETTE ((int)(sizeof palette / sizeof *palette))

typedef struct {
    char dir[4300]; /* a temporary folder for data files and the script */
    char png[4400], tmp[4500];
    FILE *script;
    int nfiles;
} Plot;

/* A plot that will become outdir/name (a PNG), drawn at width x height. */
static int plot_open(Plot *p, const char *outdir, const char *name, int width, int height, DtclError *err)
{
    snprintf(p->png, sizeof p->png, "%s/%s", outdir, name);
    snprintf(p->tmp, sizeof p->tmp, "%s.tmp.png", p->png);
    snprintf(p->dir, sizeof p->dir, "%s/.gnuplot.XXXXXX", outdir);
    if (!mkdtemp(p->dir))
        return dtcl_fail(err, "%s: cannot create a temporary folder: %s", outdir, strerror(errno));
    char path[4400];
    snprintf(path, sizeof path, "%s/plot.gp", p->dir);
    p->script = fopen(path, "w");
    p->nfiles = 0;
    if (!p->script)
        return dtcl_fail(err, "%s: cannot write: %s", path, strerror(errno));
    /* pngcairo at a fixed size, a legible font */
    fprintf(p->script, "set terminal pngcairo size %d,%d enhanced font 'Sans,12' linewidth 1.5\n"
                       "set output '%s'\nset encoding utf8\n", width, height, p->tmp);
    return 0;
}

/* A new data file in the plot's folder; its path into path. */
static FILE *plot_data(Plot *p, char *path, size_t size)
{
    snprintf(path, size, "%s/d%03d.dat", p->dir, p->nfiles++);
    return fopen(path, "w");
}

/* Runs the script, which writes the temporary PNG; renames it onto the
 * plot's name and says so on log. -2 when gnuplot fails (a failure at run
 * time, not bad input). */
static int plot_run(Plot *p, FILE *log, DtclError *err)
{
    const char *png = p->png, *tmp_png = p->tmp;
    fclose(p->script);
    p->script = NULL;
    char cmd[9000], glog[4400];
    snprintf(glog, sizeof glog, "%s/gnuplot.log", p->dir);
    snprintf(cmd, sizeof cmd, "gnuplot '%s/plot.gp' > '%s' 2>&1", p->dir, glog);
    int st = system(cmd);
    int rc = 0;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char msg[600] = "";
        FILE *f = fopen(glog, "r");
        if (f) {
            size_t n = fread(msg, 1, sizeof msg - 1, f);
            msg[n] = 0;
            fclose(f);
        }
        dtcl_fail(err, "%s: gnuplot failed (status %d): %s", png, WIFEXITED(st) ? WEXITSTATUS(st) : -1, msg);
        rc = -2;
        unlink(tmp_png);
    } else if (rename(tmp_png, png) != 0) {
        rc = dtcl_fail(err, "%s: cannot rename %s onto it: %s", png, tmp_png, strerror(errno));
    }
    dtcl_remove_tree(p->dir);
    if (rc == 0 && log)
        fprintf(log, "%s\n", png);
    return rc;
}

static void plot_abort(Plot *p)
{
    if (p->script)
        fclose(p->script);
    p->script = NULL;
    dtcl_remove_tree(p->dir);
}

static int have_gnuplot(void)
{
    return system("gnuplot --version > /dev/null 2>&1") == 0;
}


/* ---------------------------------------------------------------- reading */

typedef struct {
    int epoch;
    double mean, std, t[3];
} Point;

/* summary.csv's rows for one configuration under one protocol (epoch,
 * auc_mean, auc_std); a summary.csv without a protocol column (an older
 * dtcl) holds the linear protocol's. */
static int summary_series(const DtclCsv *csv, const char *name, const char *protocol, Point *pts, int max)
{
    int cc = dtcl_csv_column(csv, "configuration"), ce = dtcl_csv_column(csv, "epoch");
    int cm = dtcl_csv_column(csv, "auc_mean"), cs = dtcl_csv_column(csv, "auc_std");
    int cp = dtcl_csv_column(csv, "protocol");
    int n = 0;
    for (size_t i = 0; cc >= 0 && ce >= 0 && cm >= 0 && cs >= 0 && i < csv->nrows && n < max; i++) {
        if (strcmp(dtcl_csv_cell(csv, i, cc), name) != 0)
            continue;
        if (cp >= 0 ? strcmp(dtcl_csv_cell(csv, i, cp), protocol) != 0 : strcmp(protocol, "linear") != 0)
            continue;
        pts[n].epoch = atoi(dtcl_csv_cell(csv, i, ce));
        pts[n].mean = strtod(dtcl_csv_cell(csv, i, cm), NULL);
        pts[n].std = strtod(dtcl_csv_cell(csv, i, cs), NULL);
        n++;
    }
    return n;
}

static int file_exists(const char *p)
{
    return access(p, F_OK) == 0;
}

/* ---------------------------------------------------------------- Fig. 2 */

/* One panel of Fig. 2: the configurations `members' under protocol p. */
static void fig2_panel(Plot *p, const DtclCsv *csv, const int *members, int nm, int protocol, int key)
{
    int ncfg;
    const DtclExpConfigInfo *cfg = dtcl_experiment_configs(&ncfg);
    const char *pname = dtcl_protocols[protocol].name;
    Point pts[1024];
    char plots[16384] = "";
    size_t len = 0;
    int last_epoch = 0;
    for (int k = 0; k < nm; k++) {
        const DtclExpConfigInfo *c = &cfg[members[k]];
        int n = summary_series(csv, c->name, pname, pts, 1024);
        const char *col = palette[k % NPALETTE];
        if (n == 0)
            continue;
        if (dtcl_strategies[c->strategy].step == DTCL_STEP_SUPERVISED) { /* a reference line at its last epoch */
            len += (size_t)snprintf(plots + len, sizeof plots - len,
                                    "%s%.6f with lines dt 2 lw 2 lc rgb '%s' title '%s (epoch %d)'", len ? ", " : "",
                                    pts[n - 1].mean, col, c->label, pts[n - 1].epoch);
            continue;
        }
        char dp[4400];
        FILE *d = plot_data(p, dp, sizeof dp);
        if (!d)
            continue;
        for (int i = 0; i < n; i++) {
            fprintf(d, "%d %.6f %.6f\n", pts[i].epoch, pts[i].mean, pts[i].std);
            last_epoch = pts[i].epoch > last_epoch ? pts[i].epoch : last_epoch;
        }
        fclose(d);
        len += (size_t)snprintf(plots + len, sizeof plots - len,
                                "%s'%s' using 1:($2-$3):($2+$3) with filledcurves lc rgb '%s' notitle, "
                                "'%s' using 1:2 with linespoints pt 7 ps 0.8 lc rgb '%s' title '%s'",
                                len ? ", " : "", dp, col, dp, col, c->label);
    }
    if (summary_series(csv, "untrained", pname, pts, 1) == 1) /* the untrained encoder: a dotted black line */
        len += (size_t)snprintf(plots + len, sizeof plots - len,
                                "%s%.6f with lines dt 3 lw 2 lc rgb 'black' title 'untrained encoder (epoch 0)'",
                                len ? ", " : "", pts[0].mean);
    fprintf(p->script, "set title '%s'\n", dtcl_protocols[protocol].title);
    fprintf(p->script, key ? "set key bottom right box opaque font ',10'\n" : "unset key\n");
    fprintf(p->script, last_epoch <= 12 ? "set xtics 1\n" : "set xtics autofreq\n");
    fprintf(p->script, "set xrange [0:%d]\n", last_epoch > 0 ? last_epoch : 1);
    if (len)
        fprintf(p->script, "plot %s\n", plots);
    else /* no data under this protocol: an empty panel that says so */
        fprintf(p->script, "set label 1 'not evaluated' at graph 0.5,0.5 center\nplot NaN notitle\nunset label 1\n");
}

static int fig2_experiment(const char *exp, const char *outdir, FILE *log, DtclError *err)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/summary.csv", exp);
    DtclCsv csv;
    if (dtcl_csv_load(path, &csv, err) != 0)
        return -1;
    int ncfg;
    const DtclExpConfigInfo *cfg = dtcl_experiment_configs(&ncfg);
    int members[32], nm = dtcl_experiment_members(DTCL_EXP_FIG2, members, 32);
    Point pts[1024];
    int any = 0;
    for (int k = 0; k < nm; k++)
        any += summary_series(&csv, cfg[members[k]].name, "linear", pts, 1024) > 0;
    if (!any) { /* not a fig2 experiment: every configuration present */
        for (nm = 0; nm < ncfg && nm < 32; nm++)
            members[nm] = nm;
        for (int k = 0; k < nm; k++)
            any += summary_series(&csv, cfg[members[k]].name, "linear", pts, 1024) > 0;
    }
    if (!any) {
        dtcl_csv_free(&csv);
        return dtcl_fail(err, "%s/summary.csv: no evaluated configuration to plot", exp);
    }
    Plot p;
    if (plot_open(&p, outdir, "fig2.png", 2400, 1400, err) != 0) {
        dtcl_csv_free(&csv);
        return -1;
    }
    fprintf(p.script, "set multiplot layout 2,3 title 'Evaluation during training (cf. the paper, Fig. 2): AUC mean "
                      "± s.d. over repeats and test sets, one panel per protocol' font ',14'\n"
                      "set xlabel 'epoch'\nset ylabel 'AUC'\nset grid\nset style fill transparent solid 0.15 "
                      "noborder\n");
    for (int q = 0; q < DTCL_NPROTOCOLS; q++)
        fig2_panel(&p, &csv, members, nm, q, q == 0);
    fprintf(p.script, "unset multiplot\n");
    dtcl_csv_free(&csv);
    return plot_run(&p, log, err);
}

static int auc_run(const char *run, const char *outdir, FILE *log, DtclError *err)
{
    DtclEvalRow rows[4096];
    int n = dtcl_eval_read(run, rows, 4096);
    if (n == 0)
        return 0; /* not evaluated: no curve */
    Plot p;
    if (plot_open(&p, outdir, "auc.png", 1000, 700, err) != 0)
        return -1;
    char dp[4400];
    FILE *d = plot_data(&p, dp, sizeof dp); /* epoch, linear per test set, then each protocol's mean */
    for (int i = 0; d && i < n; i++) {
        const DtclEvalRow *r = &rows[i];
        fprintf(d, "%d %.6f %.6f %.6f", r->epoch, r->auc[DTCL_PROTO_LINEAR][0], r->auc[DTCL_PROTO_LINEAR][1],
                r->auc[DTCL_PROTO_LINEAR][2]);
        for (int q = 0; q < DTCL_NPROTOCOLS; q++)
            fprintf(d, " %.6f", r->mean[q]);
        fprintf(d, "\n");
    }
    if (d)
        fclose(d);
    fprintf(p.script, "set title 'Evaluation of %s' noenhanced\nset xlabel 'epoch'\nset ylabel 'AUC'\nset grid\n"
                      "set key outside right top box\nset datafile missing 'nan'\n"
                      "plot for [t=0:2] '%s' using 1:(column(t+2)) with linespoints pt 7 ps 0.7 lc rgb word('%s %s %s', "
                      "t+1) title sprintf('linear, test set %%d', t), '%s' using 1:5 with lines lw 3 lc rgb 'black' "
                      "title 'linear (paper), mean'",
            run, dp, palette[0], palette[1], palette[2], dp);
    for (int q = 1; q < DTCL_NPROTOCOLS; q++)
        fprintf(p.script, ", '%s' using 1:%d with lines lw 2 dt %d lc rgb '%s' title '%s, mean'", dp, 5 + q, q + 1,
                palette[2 + q], dtcl_protocols[q].title);
    fprintf(p.script, "\n");
    return plot_run(&p, log, err);
}

/* ---------------------------------------------------------------- Fig. 3 */

/* masks.npy memory-mapped: (N,S,S) float32, or absent. */
typedef struct {
    void *map;
    size_t len;
    const float *data;
} Masks;

static int masks_open(Masks *m, const DtclDataset *ds, DtclError *err)
{
    memset(m, 0, sizeof *m);
    char path[4300];
    snprintf(path, sizeof path, "%s/masks.npy", ds->dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        close(fd);
        return dtcl_fail(err, "%s: empty or unreadable", path);
    }
    m->len = (size_t)st.st_size;
    m->map = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m->map == MAP_FAILED) {
        m->map = NULL;
        return dtcl_fail(err, "%s: cannot map: %s", path, strerror(errno));
    }
    DtclNpyInfo info;
    if (dtcl_npy_parse_header(m->map, m->len, &info, err) != 0) {
        munmap(m->map, m->len);
        m->map = NULL;
        return -1;
    }
    if (info.type != DTCL_NPY_F32 || info.big_endian || info.fortran_order || info.rank != 3 ||
        info.shape[0] != ds->n || info.shape[1] != ds->size || info.shape[2] != ds->size) {
        munmap(m->map, m->len);
        m->map = NULL;
        return dtcl_fail(err, "%s: expected little-endian float32 of shape (%lld, %d, %d), C order, as images.npy", path,
                         (long long)ds->n, ds->size, ds->size);
    }
    m->data = (const float *)((const char *)m->map + info.data_offset);
    return 0;
}

static void masks_close(Masks *m)
{
    if (m->map)
        munmap(m->map, m->len);
}

typedef struct {
    double area;
    int64_t i;
} Candidate;

static int cmp_candidate(const void *a, const void *b) /* the largest tumours first, then by index */
{
    const Candidate *x = a, *y = b;
    return x->area != y->area ? (x->area < y->area) - (x->area > y->area) : (x->i > y->i) - (x->i < y->i);
}

/* The rows of Fig. 3: n labelled-positive test images (any test image when
 * too few), one per patient where possible, the largest tumours first when
 * masks are known. Returns the count chosen. */
static int choose_images(const DtclDataset *ds, const int8_t *split, const Masks *mk, int64_t *out, int n)
{
    int64_t N = ds->n, SS = (int64_t)ds->size * ds->size, nc = 0;
    Candidate *cand = DTCL_MALLOC(sizeof(Candidate) * (size_t)(N + 1));
    for (int pass = 0; pass < 2 && nc == 0; pass++)
        for (int64_t i = 0; i < N; i++)
            if (split[i] >= DTCL_SPLIT_TEST0 && (pass == 1 || ds->label[i] == 1)) {
                double a = 0;
                for (int64_t q = 0; mk->data && q < SS; q++)
                    a += mk->data[i * SS + q];
                cand[nc++] = (Candidate){a, i};
            }
    qsort(cand, (size_t)nc, sizeof *cand, cmp_candidate);
    int got = 0;
    for (int pass = 0; pass < 2 && got < n; pass++)
        for (int64_t k = 0; k < nc && got < n; k++) {
            int64_t i = cand[k].i;
            int dup = 0, same_patient = 0;
            for (int j = 0; j < got; j++) {
                dup |= out[j] == i;
                same_patient |= ds->patient_of[out[j]] == ds->patient_of[i];
            }
            if (!dup && (pass == 1 || !same_patient))
                out[got++] = i;
        }
    free(cand);
    return got;
}

/* Samples v (S,S) bilinearly at the pixel (y, x) of a z-times larger grid. */
static float upsample(const float *v, int S, int z, int y, int x)
{
    double fy = (y + 0.5) / z - 0.5, fx = (x + 0.5) / z - 0.5;
    fy = fy < 0 ? 0 : fy > S - 1 ? S - 1 : fy;
    fx = fx < 0 ? 0 : fx > S - 1 ? S - 1 : fx;
    int y0 = (int)fy, x0 = (int)fx, y1 = y0 + 1 < S ? y0 + 1 : y0, x1 = x0 + 1 < S ? x0 + 1 : x0;
    double wy = fy - y0, wx = fx - x0;
    return (float)((1 - wy) * ((1 - wx) * v[y0 * S + x0] + wx * v[y0 * S + x1]) +
                   wy * ((1 - wx) * v[y1 * S + x0] + wx * v[y1 * S + x1]));
}

/* Draws image (S,S) into the RGB grid at (top, left), z times larger; with
 * mask, the outline of mask > 0.5 in red. */
static void draw_cell(unsigned char *rgb, int W, int top, int left, const float *img, const float *mask, int S, int z)
{
    int Z = S * z;
    for (int y = 0; y < Z; y++)
        for (int x = 0; x < Z; x++) {
            float v = upsample(img, S, z, y, x);
            unsigned char g = (unsigned char)(v <= 0 ? 0 : v >= 1 ? 255 : v * 255 + 0.5f);
            unsigned char *px = rgb + ((size_t)(top + y) * W + (size_t)(left + x)) * 3;
            px[0] = px[1] = px[2] = g;
            if (!mask || upsample(mask, S, z, y, x) <= 0.5f)
                continue;
            int edge = 0;
            static const int dy[4] = {-1, 1, 0, 0}, dx[4] = {0, 0, -1, 1};
            for (int k = 0; k < 4; k++) {
                int yy = y + dy[k], xx = x + dx[k];
                edge |= yy < 0 || yy >= Z || xx < 0 || xx >= Z || upsample(mask, S, z, yy, xx) <= 0.5f;
            }
            if (edge) {
                px[0] = 230;
                px[1] = 20;
                px[2] = 20;
            }
        }
}

/* Fig. 3 for the runs given (one column each, after the original). */
static int fig3(const char *const *runs, const char *const *labels, int nruns, int epoch, int nimages,
                const char *outdir, FILE *log, int gnuplot, DtclError *err)
{
    DtclTrainConfig c;
    DtclDataset ds;
    int8_t *split, *lab;
    if (dtcl_train_open_run(runs[0], NULL, &c, &ds, &split, &lab, err) != 0)
        return -1;
    int S = ds.size;
    size_t SS = (size_t)S * S;
    Masks mk;
    int rc = masks_open(&mk, &ds, err);
    int64_t idx[64];
    int n = rc == 0 ? choose_images(&ds, split, &mk, idx, nimages < 64 ? nimages : 64) : 0;
    if (rc == 0 && n == 0)
        rc = dtcl_fail(err, "%s: no test image to show", ds.dir);
    if (rc != 0) {
        free(split);
        free(lab);
        dtcl_dataset_close(&ds);
        return -1;
    }
    int z = S >= 128 ? 1 : (128 + S - 1) / S, cell = S * z, gap = 4;
    int cols = nruns + 1, W = cols * cell + (cols + 1) * gap, H = n * cell + (n + 1) * gap;
    unsigned char *rgb = DTCL_MALLOC((size_t)W * H * 3);
    memset(rgb, 255, (size_t)W * H * 3);
    float *masks = mk.data ? DTCL_MALLOC(sizeof(float) * SS * (size_t)n) : NULL;
    for (int i = 0; masks && i < n; i++)
        memcpy(masks + i * SS, mk.data + (size_t)idx[i] * SS, SS * sizeof(float));
    float *x = DTCL_MALLOC(sizeof(float) * SS * (size_t)n), *xm = DTCL_MALLOC(sizeof(float) * SS * (size_t)n);
    float *xmask = DTCL_MALLOC(sizeof(float) * SS * (size_t)n), *lambda = DTCL_MALLOC(sizeof(float) * 7 * (size_t)n);
    char path[4400];
    snprintf(path, sizeof path, "%s/fig3-lambda.csv", outdir);
    DtclOutFile lf;
    rc = dtcl_out_open(&lf, path, err);
    if (rc == 0) {
        fprintf(lf.f, "column,run,epoch,id");
        for (int k = 0; k < DTCL_NLAMBDA; k++)
            fprintf(lf.f, ",%s", dtcl_lambda_names[k]);
        fputc('\n', lf.f);
    }
    for (int col = 0; col <= nruns && rc == 0; col++) {
        if (col > 0 && dtcl_train_views(runs[col - 1], epoch, idx, n, masks, x, xm, lambda, xmask, err) != 0) {
            rc = -1;
            break;
        }
        for (int i = 0; i < n; i++) {
            const float *img = col == 0 ? NULL : xm + i * SS, *m = col == 0 ? NULL : masks ? xmask + i * SS : NULL;
            if (col == 0) {
                dtcl_dataset_load(&ds, x + i * SS, &idx[i], 1);
                img = x + i * SS;
                m = masks ? masks + i * SS : NULL;
            }
            draw_cell(rgb, W, gap + i * (cell + gap), gap + col * (cell + gap), img, m, S, z);
            if (col > 0) {
                fprintf(lf.f, "%s,%s,%d,%s", labels[col - 1], runs[col - 1], epoch, ds.id[idx[i]]);
                for (int k = 0; k < DTCL_NLAMBDA; k++)
                    fprintf(lf.f, ",%.6f", lambda[i * DTCL_NLAMBDA + k]);
                fputc('\n', lf.f);
            }
        }
    }
    if (rc == 0)
        rc = dtcl_out_commit(&lf, err);
    else if (lf.f)
        dtcl_out_abort(&lf);
    char grid[4400];
    snprintf(grid, sizeof grid, "%s/fig3-grid.png", outdir);
    if (rc == 0)
        rc = dtcl_png_save_rgb(grid, rgb, H, W, err);
    if (rc == 0 && log)
        fprintf(log, "%s\n%s\n", grid, path);
    if (rc == 0 && gnuplot) {
        /* the same pixels with column and row labels */
        Plot p;
        /* the left margin holds the longest row label (about 8 pixels a character at 11 points); at
         * least 640 wide, room for the title over narrow grids */
        int lm = 230;
        for (int i = 0; i < n; i++) {
            int need = 30 + 8 * ((int)strlen(ds.id[idx[i]]) + 10);
            lm = need > lm ? need : lm;
        }
        int pw = lm + W + 30 > 640 ? lm + W + 30 : 640, ph = H + 150;
        rc = plot_open(&p, outdir, "fig3.png", pw, ph, err);
        char dp[4400];
        FILE *d = rc == 0 ? plot_data(&p, dp, sizeof dp) : NULL;
        if (rc == 0 && (!d || fwrite(rgb, 1, (size_t)W * H * 3, d) != (size_t)W * H * 3))
            rc = dtcl_fail(err, "%s: cannot write the grid's pixels", p.dir);
        if (d)
            fclose(d);
        if (rc == 0) {
            fprintf(p.script, "set lmargin at screen %.5f\nset rmargin at screen %.5f\nset tmargin at screen %.5f\n"
                              "set bmargin at screen %.5f\n",
                    (double)lm / pw, (double)(lm + W) / pw, 1.0 - 110.0 / ph, 1.0 - (110.0 + H) / ph);
            fprintf(p.script, "set title \"Test images transformed by each strategy's {/Symbol L}\\nat epoch %d%s\"\n",
                    epoch, masks ? " (red: tumour outline)" : "");
            fprintf(p.script, "unset xtics\nunset ytics\nset x2tics scale 0 font 'Sans,13' noenhanced (");
            for (int col = 0; col <= nruns; col++)
                fprintf(p.script, "%s'%s' %d", col ? ", " : "", col == 0 ? "original" : labels[col - 1],
                        gap + col * (cell + gap) + cell / 2);
            fprintf(p.script, ")\nset ytics scale 0 font 'Sans,11' noenhanced (");
            for (int i = 0; i < n; i++)
                fprintf(p.script, "%s'%s (label %d)' %d", i ? ", " : "", ds.id[idx[i]], ds.label[idx[i]],
                        H - 1 - (gap + i * (cell + gap) + cell / 2));
            fprintf(p.script, ")\nset xrange [0:%d]\nset yrange [0:%d]\nset x2range [0:%d]\nunset key\nunset border\n"
                              "plot '%s' binary array=(%d,%d) format='%%uchar%%uchar%%uchar' flipy with rgbimage\n",
                    W - 1, H - 1, W - 1, dp, W, H);
            rc = plot_run(&p, log, err);
        } else {
            plot_abort(&p);
        }
    }
    free(rgb);
    free(masks);
    free(x);
    free(xm);
    free(xmask);
    free(lambda);
    free(split);
    free(lab);
    masks_close(&mk);
    dtcl_dataset_close(&ds);
    return rc;
}

/* ---------------------------------------------------------------- what M learned */

/* Histograms of each lambda_k over the labelled test images, per class, at epoch. */
static int lambda_hist(const char *run, const char *name, int epoch, const char *outdir, FILE *log, DtclError *err)
{
    DtclTrainConfig c;
    DtclDataset ds;
    int8_t *split, *lab;
    if (dtcl_train_open_run(run, NULL, &c, &ds, &split, &lab, err) != 0)
        return -1;
    int64_t N = ds.n, n = 0;
    int64_t *idx = DTCL_MALLOC(sizeof(int64_t) * (size_t)(N + 1));
    int rc = 0;
    for (int64_t i = 0; i < N; i++)
        if (split[i] >= DTCL_SPLIT_TEST0 && ds.label[i] >= 0)
            idx[n++] = i;
    float *lambda = DTCL_MALLOC(sizeof(float) * 7 * (size_t)(n + 1));
    if (rc == 0 && n == 0)
        rc = dtcl_fail(err, "%s: no labelled test image", ds.dir);
    if (rc == 0)
        rc = dtcl_train_views(run, epoch, idx, (int)n, NULL, NULL, NULL, lambda, NULL, err);
    enum { BINS = 25 };
    Plot p;
    char png[256];
    snprintf(png, sizeof png, "lambda-%s.png", name);
    if (rc == 0)
        rc = plot_open(&p, outdir, png, 1600, 820, err);
    if (rc == 0) {
        char dp[4400];
        FILE *d = plot_data(&p, dp, sizeof dp);
        /* columns: bin centre, then for k = 0..6: class-0 share, class-1 share */
        double h[7][2][BINS] = {{{0}}}, cnt[2] = {0, 0};
        for (int64_t i = 0; i < n; i++) {
            int y = ds.label[idx[i]];
            cnt[y]++;
            for (int k = 0; k < 7; k++) {
                int b = (int)(lambda[i * 7 + k] * BINS);
                b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
                h[k][y][b]++;
            }
        }
        for (int b = 0; d && b < BINS; b++) {
            fprintf(d, "%.4f", (b + 0.5) / BINS);
            for (int k = 0; k < 7; k++)
                for (int y = 0; y < 2; y++)
                    fprintf(d, " %.6f", cnt[y] > 0 ? h[k][y][b] / cnt[y] : 0.0);
            fputc('\n', d);
        }
        if (d)
            fclose(d);
        fprintf(p.script, "set multiplot layout 2,4 title \"{/Symbol L} = M(X) on the %lld labelled test images, "
                          "%s at epoch %d: share of each class per bin\" font 'Sans,14'\n"
                          "set style fill transparent solid 0.45 noborder\nset boxwidth %.4f absolute\n"
                          "set xrange [0:1]\nset grid\nset xlabel '{/Symbol l} value'\nset ylabel 'share of the class'\n",
                (long long)n, name, epoch, 1.0 / BINS);
        for (int k = 0; k < 7; k++)
            fprintf(p.script, "set title '{/Symbol l}_%d (%s)'\nplot '%s' using 1:%d with boxes lc rgb '%s' title "
                              "'no tumour (%.0f)', '' using 1:%d with boxes lc rgb '%s' title 'tumour (%.0f)'\n",
                    k, dtcl_lambda_names[k], dp, 2 + 2 * k, palette[0], cnt[0], 3 + 2 * k, palette[1], cnt[1]);
        fprintf(p.script, "unset multiplot\n");
        rc = plot_run(&p, log, err);
    }
    free(lambda);
    free(idx);
    free(split);
    free(lab);
    dtcl_dataset_close(&ds);
    return rc;
}

/* Mean and standard deviation of each lambda_k per class over training (metrics.csv). */
static int lambda_training(const char *run, const char *name, const char *outdir, FILE *log, DtclError *err)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/metrics.csv", run);
    DtclCsv csv;
    if (dtcl_csv_load(path, &csv, err) != 0)
        return -1;
    int ok = csv.nrows > 0 && dtcl_csv_column(&csv, "lambda6_std_c1") >= 0;
    if (!ok) {
        dtcl_csv_free(&csv);
        return 0; /* nothing trained yet */
    }
    Plot p;
    char png[256];
    snprintf(png, sizeof png, "lambda-%s-training.png", name);
    if (plot_open(&p, outdir, png, 1600, 820, err) != 0) {
        dtcl_csv_free(&csv);
        return -1;
    }
    char dp[4400];
    FILE *d = plot_data(&p, dp, sizeof dp);
    int ce = dtcl_csv_column(&csv, "epoch");
    for (size_t i = 0; d && i < csv.nrows; i++) {
        fprintf(d, "%s", dtcl_csv_cell(&csv, i, ce));
        for (int y = 0; y < 2; y++)
            for (int k = 0; k < 7; k++) {
                char m[32], s[32];
                snprintf(m, sizeof m, "lambda%d_mean_c%d", k, y);
                snprintf(s, sizeof s, "lambda%d_std_c%d", k, y);
                fprintf(d, " %s %s", dtcl_csv_cell(&csv, i, dtcl_csv_column(&csv, m)),
                        dtcl_csv_cell(&csv, i, dtcl_csv_column(&csv, s)));
            }
        fputc('\n', d);
    }
    if (d)
        fclose(d);
    dtcl_csv_free(&csv);
    fprintf(p.script, "set multiplot layout 2,4 title \"{/Symbol L} during training of %s: mean ± s.d. per class over "
                      "each epoch's training images\" font 'Sans,14'\nset style fill transparent solid 0.2 noborder\n"
                      "set yrange [0:1]\nset grid\nset xlabel 'epoch'\nset ylabel '{/Symbol l} value'\n"
                      "set datafile missing 'nan'\n", name);
    for (int k = 0; k < 7; k++) {
        int m0 = 2 + 2 * k, m1 = 2 + 14 + 2 * k;
        fprintf(p.script, "set title '{/Symbol l}_%d (%s)'\nplot '%s' using 1:($%d-$%d):($%d+$%d) with filledcurves lc "
                          "rgb '%s' notitle, '' using 1:%d with lines lw 2 lc rgb '%s' title 'no tumour', "
                          "'' using 1:($%d-$%d):($%d+$%d) with filledcurves lc rgb '%s' notitle, '' using 1:%d with "
                          "lines lw 2 lc rgb '%s' title 'tumour'\n",
                k, dtcl_lambda_names[k], dp, m0, m0 + 1, m0, m0 + 1, palette[0], m0, palette[0], m1, m1 + 1, m1,
                m1 + 1, palette[1], m1, palette[1]);
    }
    fprintf(p.script, "unset multiplot\n");
    return plot_run(&p, log, err);
}

/* ---------------------------------------------------------------- entry */

int dtcl_figures(const char *path, const char *outdir, const DtclFiguresOptions *o, FILE *log, DtclError *err)
{
    char p[4600];
    snprintf(p, sizeof p, "%s/experiment.json", path);
    int is_exp = file_exists(p);
    snprintf(p, sizeof p, "%s/config.json", path);
    int is_run = file_exists(p);
    if (!is_exp && !is_run)
        return dtcl_fail(err, "%s: neither an experiment folder (experiment.json) nor a run folder (config.json)", path);
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST)
        return dtcl_fail(err, "%s: cannot create: %s", outdir, strerror(errno));
    int gnuplot = have_gnuplot(), rc = 0;
    int nimages = o->images > 0 ? o->images : 4;
    if (is_run) {
        int epoch = o->epoch >= 0 ? o->epoch : dtcl_train_newest_epoch(path);
        DtclTrainConfig c;
        if (dtcl_train_config_load(path, &c, err) != 0)
            return -1;
        snprintf(p, sizeof p, "%s/checkpoints/epoch-%03d.safetensors", path, epoch);
        if (epoch < 0 || !file_exists(p))
            return dtcl_fail(err, "%s: no checkpoint for epoch %d", p, epoch);
        const char *runs[1] = {path}, *labels[1] = {dtcl_strategies[c.strategy].name};
        rc = fig3(runs, labels, 1, epoch, nimages, outdir, log, gnuplot, err);
        if (rc == 0 && gnuplot)
            rc = auc_run(path, outdir, log, err);
        if (rc == 0 && gnuplot && dtcl_strategy_uses_m(c.strategy))
            rc = lambda_hist(path, dtcl_strategies[c.strategy].name, epoch, outdir, log, err);
        if (rc == 0 && gnuplot)
            rc = lambda_training(path, dtcl_strategies[c.strategy].name, outdir, log, err);
    } else {
        int ncfg;
        const DtclExpConfigInfo *cfg = dtcl_experiment_configs(&ncfg);
        if (gnuplot)
            rc = fig2_experiment(path, outdir, log, err);
        /* Fig. 3: repeat 0 of the strategies of the paper's comparison that are present */
        static const char *const fig3_names[] = {"random", "random-sup", "ssl", "proposed", "simclr"};
        enum { NFIG3 = sizeof fig3_names / sizeof *fig3_names };
        char runs_buf[NFIG3][4400];
        const char *runs[NFIG3], *labels[NFIG3];
        int nr = 0, epoch = o->epoch;
        for (int k = 0; k < NFIG3 && rc == 0; k++) {
            snprintf(runs_buf[nr], sizeof runs_buf[nr], "%s/%s/0", path, fig3_names[k]);
            int last = dtcl_train_newest_epoch(runs_buf[nr]);
            if (last < 0)
                continue;
            if (epoch < 0)
                epoch = last;
            snprintf(p, sizeof p, "%s/checkpoints/epoch-%03d.safetensors", runs_buf[nr], epoch);
            if (!file_exists(p))
                continue;
            runs[nr] = runs_buf[nr];
            labels[nr] = fig3_names[k];
            nr++;
        }
        if (rc == 0 && nr == 0)
            rc = dtcl_fail(err, "%s: no trained run of random, random-sup, ssl, proposed or simclr%s", path,
                           o->epoch >= 0 ? " with a checkpoint at that epoch" : "");
        if (rc == 0)
            rc = fig3(runs, labels, nr, epoch, nimages, outdir, log, gnuplot, err);
        for (int k = 0; k < ncfg && rc == 0 && gnuplot; k++) {
            if (!dtcl_strategy_uses_m((DtclStrategy)cfg[k].strategy))
                continue;
            char run[4400];
            snprintf(run, sizeof run, "%s/%s/0", path, cfg[k].name);
            int last = dtcl_train_newest_epoch(run);
            if (last < 0)
                continue;
            snprintf(p, sizeof p, "%s/checkpoints/epoch-%03d.safetensors", run, epoch);
            rc = lambda_hist(run, cfg[k].name, file_exists(p) ? epoch : last, outdir, log, err);
            if (rc == 0)
                rc = lambda_training(run, cfg[k].name, outdir, log, err);
        }
    }
    if (rc == 0 && !gnuplot) {
        dtcl_fail(err, "gnuplot was not found (Debian: apt-get install gnuplot-nox); only fig3-grid.png and "
                       "fig3-lambda.csv were written");
        return -2;
    }
    return rc;
}
