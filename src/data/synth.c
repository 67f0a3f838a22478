/* synth.c: synthetic brain slices and chest radiographs (see synth.h). All
 * geometry is in units of the field of view: x, y in [-0.5, 0.5), x to the
 * right, y downwards. Smooth random fields are white Philox noise blurred by
 * dtcl's FFT blur. */
#include "data/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "transform/transform.h"

struct DtclSynth {
    DtclSynthKind kind;
    int S;
    uint64_t seed;
    DtclTransform blur; /* sigma up to 10 pixels */
    float *tmp;         /* (S,S) white noise before the blur */
};

DtclSynth *dtcl_synth_create(DtclSynthKind kind, int size, uint64_t seed)
{
    DtclSynth *s = DTCL_CALLOC(1, sizeof *s);
    s->kind = kind;
    s->S = size;
    s->seed = seed;
    DtclTransformParams p;
    dtcl_transform_params_default(&p);
    p.sigma_max = 10.0f;
    DtclStage order = DTCL_STAGE_BLUR;
    if (dtcl_transform_init(&s->blur, size, &order, 1, &p, NULL) != 0) {
        free(s);
        return NULL;
    }
    s->tmp = DTCL_ALIGNED(sizeof(float) * (size_t)size * size);
    return s;
}

void dtcl_synth_free(DtclSynth *s)
{
    if (!s)
        return;
    dtcl_transform_free(&s->blur);
    free(s->tmp);
    free(s);
}

/* Uniform draws of (patient, slice, what). */
static void draws(const DtclSynth *s, double *u, int n, int patient, int k, int what)
{
    DtclStream st = {s->seed, DTCL_RNG_SYNTH, (uint32_t)what, (uint32_t)k, (uint32_t)patient};
    dtcl_rng_uniform(&st, u, (size_t)n);
}

static double lerp(double a, double b, double u) { return a + (b - a) * u; }
static double sigm(double t) { return 1.0 / (1.0 + exp(-t)); }

/* out (S,S): white standard normal noise of (patient, slice, what). */
static void white_noise(const DtclSynth *s, float *out, int patient, int k, int what)
{
    DtclStream st = {s->seed, DTCL_RNG_SYNTH, (uint32_t)what, (uint32_t)k, (uint32_t)patient};
    dtcl_rng_normal(&st, out, (size_t)s->S * s->S);
}

/* out (S,S): a smooth field of unit standard deviation and correlation length sigma pixels. */
static void smooth_field(DtclSynth *s, float *out, double sigma_px, int patient, int k, int what)
{
    int S = s->S;
    size_t SS = (size_t)S * S;
    white_noise(s, s->tmp, patient, k, 1000 + what);
    float lam[7] = {(float)(sigma_px / 10.0 > 1 ? 1 : sigma_px / 10.0), 0, 0, 0, 0, 0, 0};
    dtcl_transform_forward(&s->blur, out, NULL, s->tmp, lam, NULL, 1);
    double m = 0, v = 0;
    for (size_t q = 0; q < SS; q++)
        m += out[q];
    m /= SS;
    for (size_t q = 0; q < SS; q++)
        v += (out[q] - m) * (out[q] - m);
    double sd = sqrt(v / SS) + 1e-12;
    for (size_t q = 0; q < SS; q++)
        out[q] = (float)((out[q] - m) / sd);
}

/* ---- brain */

/* Small round structures of normal anatomy scattered over the brain, in
 * every slice whatever its label: bright dots (vessels seen end-on) and dark
 * ones (perivascular spaces), their number a trait of the patient. They give
 * an untrained encoder's pooled features the same local edges and blobs as
 * a lesion's rim and core, in numbers that vary more than a lesion adds. */
typedef struct {
    double x, y, r, c; /* centre, radius (field of view), contrast (+ bright, - dark) */
} Dot;

static int brain_dots(const DtclSynth *s, Dot *dots, int max, int p, int k, double rate_bright, double rate_dark,
                      double px)
{
    double u[4 * 48];
    draws(s, u, 4 * 48, p, k, 2);
    int nb = (int)(rate_bright * (0.5 + u[0])), nd = (int)(rate_dark * (0.5 + u[1])), n = 0;
    for (int q = 0; q < nb + nd && n < max && 4 * q + 5 < 4 * 48; q++) {
        const double *v = u + 2 + 4 * q;
        double rr = 0.3 * sqrt(v[0]), th = 6.2832 * v[1]; /* within the brain's inner part */
        int bright = q < nb;
        /* sizes that overlap a lesion's rim (bright) and core (dark) */
        double r = bright ? lerp(0.01, 0.035, v[2]) : lerp(0.02, 0.07, v[2]);
        dots[n++] = (Dot){rr * cos(th), rr * sin(th) * 1.15, fmax(0.7 * px, r),
                          bright ? lerp(0.12, 0.3, v[3]) : -lerp(0.08, 0.2, v[3])};
    }
    return n;
}

/* A lesion of the patient: a sphere (x, y in the field of view, z in slices) with its look. */
typedef struct {
    double x, y, z, r, rz; /* centre; radius in the field of view and in slices */
    double c, rim;         /* the rim's contrast; the rim's share of the radius */
    double a1, a2, f1, f2; /* the outline's irregularity */
} Lesion;

enum { MAX_LESIONS = 8 };

/* The patient's lesions: 4 to 6 for everyone, so that every patient is about as often positive. */
static int brain_lesions(const DtclSynth *s, Lesion *l, int p, int nk)
{
    enum { PER = 11 };
    double u[1 + PER * MAX_LESIONS];
    draws(s, u, 1 + PER * MAX_LESIONS, p, 0xffff, 5);
    int n = 4 + (int)(u[0] * 3);
    for (int q = 0; q < n; q++) {
        const double *v = u + 1 + PER * q;
        double rr = 0.24 * sqrt(v[0]), th = 6.2832 * v[1];
        l[q] = (Lesion){.x = rr * cos(th),
                        .y = rr * sin(th) * 1.1,
                        .z = lerp(0.08, 0.92, v[3]) * nk,
                        .r = lerp(0.065, 0.11, v[2]),
                        .rz = lerp(2.5, 5, v[4]) * nk / 50.0, /* a few slices of a 50-slice head */
                        .c = lerp(0.16, 0.3, v[5]),
                        .rim = lerp(0.3, 0.45, v[6]),
                        .a1 = lerp(0, 0.2, v[7]),
                        .a2 = lerp(0, 0.15, v[8]),
                        .f1 = 6.2832 * v[9],
                        .f2 = 6.2832 * v[10]};
    }
    return n;
}

static int brain(DtclSynth *s, float *out, float *mask, int p, int k, int nk)
{
    int S = s->S;
    size_t SS = (size_t)S * S;
    double u[32];
    draws(s, u, 32, p, 0xffff, 0); /* the patient's anatomy */
    double A = lerp(0.34, 0.41, u[0]), B = lerp(0.40, 0.46, u[1]), phi = lerp(-0.15, 0.15, u[2]);
    double cx = lerp(-0.02, 0.02, u[3]), cy = lerp(-0.02, 0.02, u[4]);
    double tissue = lerp(0.32, 0.52, u[5]), ventr = lerp(0.8, 1.2, u[6]);
    /* traits of the patient: gain, texture, how many dots */
    double gain = lerp(0.8, 1.2, u[21]), gyri_amp = lerp(0.02, 0.08, u[22]), fine_amp = lerp(0.01, 0.04, u[23]);
    double rate_bright = lerp(0, 16, u[24]), rate_dark = lerp(0, 12, u[25]), bias_amp = lerp(0.03, 0.12, u[26]);
    double noise_sd = lerp(0.01, 0.04, u[27]); /* the scanner's noise */
    Lesion les[MAX_LESIONS];
    int nles = brain_lesions(s, les, p, nk);

    double t = (k + 0.5) / nk - 0.5; /* -0.5 bottom .. 0.5 top of the head */
    double h = sqrt(fmax(0.0, 1.0 - (t / 0.62) * (t / 0.62)));
    double a = A * h, b = B * h, v = fmax(0.0, 1.0 - (t / 0.3) * (t / 0.3)) * ventr;
    /* each lesion's radius in this slice, and its core's darkening: it balances the rim's brightening
     * over the disc (rim area 1 - (1-rim)^2, core (1-rim)^2), so a lesion leaves the slice's mean as it was */
    double rk[MAX_LESIONS], core_c[MAX_LESIONS];
    for (int q = 0; q < nles; q++) {
        double dz = (k + 0.5 - les[q].z) / les[q].rz;
        rk[q] = les[q].r * sqrt(fmax(0.0, 1.0 - dz * dz));
        double c1 = 1 - les[q].rim;
        core_c[q] = les[q].c * (1 - c1 * c1) / (c1 * c1);
    }

    float *fine = DTCL_MALLOC(sizeof(float) * SS), *gyri = DTCL_MALLOC(sizeof(float) * SS),
          *bias = DTCL_MALLOC(sizeof(float) * SS);
    smooth_field(s, fine, 1.2, p, k, 1);                           /* fine texture */
    smooth_field(s, gyri, 0.035 * S, p, k, 2);                     /* gyri */
    smooth_field(s, bias, 0.25 * S > 10 ? 10 : 0.25 * S, p, 0, 3); /* bias field, the same along the patient */
    float *noise = DTCL_MALLOC(sizeof(float) * SS);
    white_noise(s, noise, p, k, 4); /* acquisition noise */
    double px = 1.0 / S, cs = cos(phi), sn = sin(phi);
    Dot dots[64];
    int ndots = brain_dots(s, dots, 64, p, k, rate_bright * h, rate_dark * h, px);

    int lesion_pixels = 0;
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            size_t q = (size_t)i * S + j;
            if (mask)
                mask[q] = 0;
            double x = (j + 0.5) / S - 0.5 - cx, y = (i + 0.5) / S - 0.5 - cy;
            double xr = cs * x + sn * y, yr = -sn * x + cs * y;
            if (a <= 0 || b <= 0) {
                out[q] = 0;
                continue;
            }
            double rho = sqrt((xr / a) * (xr / a) + (yr / b) * (yr / b));
            double edge_w = 0.025 / fmin(a, b); /* skull thickness in rho units */
            double soft = px / fmin(a, b);      /* one pixel in rho units */
            double head = sigm((1.0 - rho) / soft * 1.5);
            if (head < 0.02) {
                out[q] = 0; /* black background */
                continue;
            }
            double skull = sigm((rho - (1 - edge_w)) / soft * 1.5) * head;
            double brain_m = sigm(((1 - 1.6 * edge_w) - rho) / soft * 1.5);
            double val = 0.1 * head;                /* CSF between brain and skull */
            val = val * (1 - skull) + 0.75 * skull; /* skull */
            double tis = tissue + gyri_amp * tanh(1.5 * gyri[q]) + fine_amp * fine[q];
            tis -= 0.06 * exp(-(xr / (0.008 + 0.5 * px)) * (xr / (0.008 + 0.5 * px))) * (rho < 0.85); /* falx */
            /* ventricles: two curved ellipses near the centre */
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                if (v <= 0)
                    break;
                double vx = xr - sgn * 0.055 * h, vy = yr + 0.02;
                double c2 = cos(sgn * 0.35), s2 = sin(sgn * 0.35);
                double ex = (c2 * vx + s2 * vy) / (0.032 * v + 1e-9), ey = (-s2 * vx + c2 * vy) / (0.11 * v + 1e-9);
                double in = sigm((1.0 - sqrt(ex * ex + ey * ey)) * 8);
                tis = tis * (1 - in) + 0.12 * in;
            }
            for (int d = 0; d < ndots; d++) {
                double dx = xr - dots[d].x * a / 0.4, dy = yr - dots[d].y * b / 0.46;
                tis += dots[d].c * sigm((dots[d].r - sqrt(dx * dx + dy * dy)) / (0.5 * px));
            }
            double inside = 0;
            for (int l = 0; l < nles; l++) { /* lesions: irregular outline, bright rim, dark core */
                if (rk[l] <= 0)
                    continue;
                double dx = xr - les[l].x * a / 0.4, dy = yr - les[l].y * b / 0.46;
                double d = sqrt(dx * dx + dy * dy), th = atan2(dy, dx);
                double re = rk[l] * (1 + les[l].a1 * cos(2 * th + les[l].f1) + les[l].a2 * cos(3 * th + les[l].f2));
                double disc = sigm((re - d) / (0.5 * px)), core = sigm(((1 - les[l].rim) * re - d) / (0.5 * px));
                tis += les[l].c * (disc - core) * (1 + 0.3 * fine[q]) - core_c[l] * core;
                inside = fmax(inside, disc);
            }
            lesion_pixels += inside > 0.5 && brain_m > 0.5;
            if (mask)
                mask[q] = (float)(inside * brain_m);
            val = val * (1 - brain_m) + tis * brain_m;
            val *= gain * (1 + bias_amp * bias[q]);
            val += noise_sd * noise[q] * head;
            out[q] = (float)(val < 0 ? 0 : val > 1 ? 1 : val);
        }
    free(fine);
    free(gyri);
    free(bias);
    free(noise);
    return lesion_pixels >= 4;
}

/* ---- chest */

static double ellipse(double x, double y, double cx, double cy, double ax, double ay, double px)
{
    double r = sqrt(((x - cx) / ax) * ((x - cx) / ax) + ((y - cy) / ay) * ((y - cy) / ay));
    return sigm((1 - r) / (px / fmin(ax, ay)) * 1.2);
}

static int chest(DtclSynth *s, float *out, float *mask, int p, int k, int nk)
{
    (void)nk;
    int S = s->S;
    size_t SS = (size_t)S * S;
    double u[40], w[8 + 5 * 32];
    draws(s, u, 40, p, 0xffff, 0);        /* the patient */
    draws(s, w, 8 + 5 * 32, p, k, 1); /* this image */
    /* every image shows nodules with probability 1/2, whoever the patient: the label says nothing of the patient */
    int label = w[0] < 0.5;
    double lw = lerp(0.12, 0.16, u[1]), lh = lerp(0.26, 0.33, u[2]), lsep = lerp(0.17, 0.21, u[3]);
    double heart_w = lerp(0.11, 0.16, u[4]), heart_x = lerp(0.04, 0.09, u[5]);
    double dome = lerp(0.16, 0.24, u[6]), bright = lerp(0.8, 1.2, u[7]) * lerp(0.95, 1.05, w[1]);
    double shift_x = lerp(-0.02, 0.02, w[2]), shift_y = lerp(-0.02, 0.02, w[3]), tilt = lerp(-0.04, 0.04, w[4]);
    double vessel_rate = lerp(0, 20, u[8]), tex_amp = lerp(0.02, 0.06, u[9]), noise_sd = lerp(0.008, 0.03, u[10]);
    /* nodules (1 to 3 when the image is positive) and vessels seen end-on (every image, as many as the
     * patient's rate): round and bright both, the nodules larger */
    enum { MAXB = 32 };
    double bx[MAXB], by[MAXB], br[MAXB], bc[MAXB];
    int nnod = label ? 1 + (int)(w[5] * 3) : 0, nb = 0;
    int nves = (int)(vessel_rate * (0.5 + w[6]));
    for (int q = 0; q < nnod + nves && nb < MAXB; q++) {
        const double *v = w + 8 + 5 * q;
        double side = v[0] < 0.5 ? -1 : 1;
        bx[nb] = side * lsep + lerp(-0.7, 0.7, v[1]) * lw * 0.8;
        by[nb] = -0.05 + lerp(-0.7, 0.6, v[2]) * lh;
        br[nb] = q < nnod ? lerp(0.045, 0.07, v[3]) : lerp(0.006, 0.02, v[3]);
        bc[nb] = q < nnod ? lerp(0.2, 0.35, v[4]) : lerp(0.15, 0.35, v[4]);
        nb++;
    }

    float *tex = DTCL_MALLOC(sizeof(float) * SS);
    smooth_field(s, tex, 1.5, p, k, 11);
    float *noise = DTCL_MALLOC(sizeof(float) * SS);
    white_noise(s, noise, p, k, 13); /* detector noise */
    double px = 1.0 / S, ct = cos(tilt), st = sin(tilt);
    int nodule_pixels = 0;
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            size_t q = (size_t)i * S + j;
            double x0 = (j + 0.5) / S - 0.5 - shift_x, y0 = (i + 0.5) / S - 0.5 - shift_y;
            double x = ct * x0 + st * y0, y = -st * x0 + ct * y0;
            /* trunk with shoulders, darker outside */
            double trunk = sigm((0.43 - fabs(x) - 0.15 * fmax(0.0, -y - 0.3)) / px) * sigm((y + 0.47) / px);
            double val = 0.08 + 0.5 * trunk;
            /* lungs above the diaphragm domes */
            double lungs = 0;
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                double l = ellipse(x, y, sgn * lsep, -0.05, lw, lh, px);
                double dome_y = dome - 0.09 * cos((x - sgn * lsep) / lw * 1.4);
                l *= sigm((dome_y - y) / (1.5 * px));
                lungs = fmax(lungs, l);
            }
            double heart = ellipse(x, y, heart_x, 0.13, heart_w, 0.13, px);
            double spine = sigm((0.035 - fabs(x)) / px) * trunk;
            val = val * (1 - 0.65 * lungs) + 0.12 * heart + 0.1 * spine;
            /* ribs: bands curving down laterally, over the lungs; clavicles at the top */
            double ribs = 0;
            for (int r = 0; r < 9; r++) {
                double yc = -0.32 + r * 0.062 + 0.5 * x * x;
                ribs += exp(-((y - yc) / (0.009 + 0.5 * px)) * ((y - yc) / (0.009 + 0.5 * px)));
            }
            val += 0.06 * ribs * lungs;
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                double yc = -0.36 + 0.12 * fabs(x - sgn * 0.02);
                val += 0.12 * exp(-((y - yc) / 0.012) * ((y - yc) / 0.012)) * (fabs(x) < 0.3) * (sgn * x > 0);
            }
            val += tex_amp * tex[q] * trunk;
            double nod = 0;
            for (int b = 0; b < nb; b++) {
                double d = sqrt((x - bx[b]) * (x - bx[b]) + (y - by[b]) * (y - by[b]));
                double in = sigm((br[b] - d) / (0.6 * px));
                val += bc[b] * in * lungs;
                if (b < nnod)
                    nod = fmax(nod, in * lungs);
            }
            nodule_pixels += nod > 0.5;
            if (mask)
                mask[q] = (float)nod;
            val = val * bright + noise_sd * noise[q];
            out[q] = (float)(val < 0 ? 0 : val > 1 ? 1 : val);
        }
    free(tex);
    free(noise);
    return label && nodule_pixels >= 3;
}

int dtcl_synth_image(DtclSynth *s, float *out, float *mask, int patient, int k, int nk)
{
    if (s->kind == DTCL_SYNTH_BRAIN)
        return brain(s, out, mask, patient, k, nk);
    return chest(s, out, mask, patient, k, nk);
}
