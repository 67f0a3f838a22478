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

static int brain(DtclSynth *s, float *out, float *mask, int p, int k, int nk)
{
    int S = s->S;
    size_t SS = (size_t)S * S;
    double u[32];
    draws(s, u, 32, p, 0xffff, 0); /* the patient's anatomy */
    double A = lerp(0.34, 0.41, u[0]), B = lerp(0.40, 0.46, u[1]), phi = lerp(-0.15, 0.15, u[2]);
    double cx = lerp(-0.02, 0.02, u[3]), cy = lerp(-0.02, 0.02, u[4]);
    double tissue = lerp(0.38, 0.5, u[5]), ventr = lerp(0.8, 1.2, u[6]);
    int has_tumour = u[7] < 0.75;
    double tkc = lerp(0.25, 0.75, u[8]) * nk, tH = lerp(0.25, 0.42, u[9]) * nk, tR = lerp(0.03, 0.13, u[10]);
    double tx = lerp(-0.22, 0.22, u[11]), ty = lerp(-0.25, 0.22, u[12]), tc = lerp(0.12, 0.45, u[13]);
    double halo = lerp(1.5, 2.2, u[14]), halo_c = lerp(0.3, 0.6, u[15]);
    double a1 = lerp(0, 0.25, u[16]), a2 = lerp(0, 0.2, u[17]), a3 = lerp(0, 0.12, u[18]);
    double f1 = 6.2832 * u[19], f2 = 6.2832 * u[20], f3 = 6.2832 * u[21];

    double t = (k + 0.5) / nk - 0.5; /* -0.5 bottom .. 0.5 top of the head */
    double h = sqrt(fmax(0.0, 1.0 - (t / 0.62) * (t / 0.62)));
    double a = A * h, b = B * h, v = fmax(0.0, 1.0 - (t / 0.3) * (t / 0.3)) * ventr;
    double r_t = has_tumour ? tR * sqrt(fmax(0.0, 1.0 - ((k - tkc) / tH) * ((k - tkc) / tH))) : 0;

    float *fine = DTCL_MALLOC(sizeof(float) * SS), *gyri = DTCL_MALLOC(sizeof(float) * SS),
          *bias = DTCL_MALLOC(sizeof(float) * SS);
    smooth_field(s, fine, 1.2, p, k, 1);                             /* fine texture */
    smooth_field(s, gyri, 0.035 * S, p, k, 2);                       /* gyri */
    smooth_field(s, bias, 0.25 * S > 10 ? 10 : 0.25 * S, p, 0, 3);   /* bias field, the same along the patient */
    float *noise = DTCL_MALLOC(sizeof(float) * SS);
    white_noise(s, noise, p, k, 4); /* acquisition noise */

    int core_pixels = 0;
    double px = 1.0 / S, cs = cos(phi), sn = sin(phi);
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
            double val = 0.1 * head;                   /* CSF between brain and skull */
            val = val * (1 - skull) + 0.75 * skull;    /* skull */
            double tis = tissue + 0.05 * tanh(1.5 * gyri[q]) + 0.02 * fine[q];
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
            if (r_t > 0) { /* tumour core and halo (oedema), irregular outline */
                double dx = x - tx, dy = y - ty, d = sqrt(dx * dx + dy * dy), th = atan2(dy, dx);
                double re = r_t * (1 + a1 * cos(2 * th + f1) + a2 * cos(3 * th + f2) + a3 * cos(5 * th + f3));
                double core = sigm((re - d) / (0.6 * px));
                double oed = sigm((halo * re - d) / (1.5 * px));
                tis += tc * halo_c * oed * (1 + 0.3 * fine[q]) + tc * (1 - halo_c) * core * (1 + 0.2 * gyri[q]);
                core_pixels += core > 0.5 && brain_m > 0.5;
                if (mask)
                    mask[q] = (float)(core * brain_m);
            }
            val = val * (1 - brain_m) + tis * brain_m;
            val *= 1 + 0.08 * bias[q];
            val += 0.015 * noise[q] * head;
            out[q] = (float)(val < 0 ? 0 : val > 1 ? 1 : val);
        }
    free(fine);
    free(gyri);
    free(bias);
    free(noise);
    return core_pixels >= 3;
}

/* ---- chest */

static double ellipse(double x, double y, double cx, double cy, double ax, double ay, double px)
{
    double r = sqrt(((x - cx) / ax) * ((x - cx) / ax) + ((y - cy) / ay) * ((y - cy) / ay));
    return sigm((1 - r) / (px / fmin(ax, ay)) * 1.2);
}

static int chest(DtclSynth *s, float *out, int p, int k, int nk)
{
    (void)nk;
    int S = s->S;
    size_t SS = (size_t)S * S;
    double u[40], w[24];
    draws(s, u, 40, p, 0xffff, 0); /* the patient */
    draws(s, w, 24, p, k, 1);       /* this image */
    int abnormal_patient = u[0] < 0.5;
    int label = abnormal_patient ? w[0] < 0.85 : w[0] < 0.15;
    double lw = lerp(0.12, 0.16, u[1]), lh = lerp(0.26, 0.33, u[2]), lsep = lerp(0.17, 0.21, u[3]);
    double heart_w = lerp(0.11, 0.16, u[4]), heart_x = lerp(0.04, 0.09, u[5]);
    double dome = lerp(0.16, 0.24, u[6]), bright = lerp(0.9, 1.1, w[1]), shift_x = lerp(-0.02, 0.02, w[2]);
    double shift_y = lerp(-0.02, 0.02, w[3]), tilt = lerp(-0.04, 0.04, w[4]);
    /* the finding: 0 opacity, 1 nodule, 2 effusion */
    int kind = (int)(u[7] * 3) % 3;
    if (!abnormal_patient)
        kind = (int)(w[5] * 3) % 3;
    double fside = (abnormal_patient ? u[8] : w[6]) < 0.5 ? -1 : 1;
    double fx = fside * lsep + lerp(-0.05, 0.05, abnormal_patient ? u[9] : w[7]);
    double fy = lerp(-0.2, 0.12, abnormal_patient ? u[10] : w[8]);
    double fsize = lerp(0.5, 1.0, abnormal_patient ? u[11] : w[9]), fc = lerp(0.1, 0.3, w[10]);

    float *tex = DTCL_MALLOC(sizeof(float) * SS), *blob = DTCL_MALLOC(sizeof(float) * SS);
    smooth_field(s, tex, 1.5, p, k, 11);
    smooth_field(s, blob, 0.05 * S > 10 ? 10 : 0.05 * S, p, k, 12);
    float *noise = DTCL_MALLOC(sizeof(float) * SS);
    white_noise(s, noise, p, k, 13); /* detector noise */
    double px = 1.0 / S, ct = cos(tilt), st = sin(tilt);
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
            val += 0.03 * tex[q] * trunk;
            if (label) {
                double dx = x - fx, dy = y - fy, d2 = dx * dx + dy * dy;
                if (kind == 0) /* opacity: a diffuse patch shaped by a smooth field */
                    val += fc * exp(-d2 / (2 * 0.07 * 0.07 * fsize * fsize)) * (0.7 + 0.3 * tanh(blob[q])) * lungs;
                else if (kind == 1) /* nodule */
                    val += (fc + 0.1) * sigm((0.02 * fsize + 0.01 - sqrt(d2)) / (0.7 * px)) * lungs;
                else { /* effusion: the base of one lung filled, with a meniscus */
                    double level = dome - 0.1 * fsize - 0.15 * fabs(x - fside * lsep);
                    val += (fc + 0.1) * sigm((y - level) / (2 * px)) * (fside * x > 0) * lungs;
                }
            }
            val = val * bright + 0.012 * noise[q];
            out[q] = (float)(val < 0 ? 0 : val > 1 ? 1 : val);
        }
    free(tex);
    free(blob);
    free(noise);
    return label;
}

int dtcl_synth_image(DtclSynth *s, float *out, float *mask, int patient, int k, int nk)
{
    if (s->kind == DTCL_SYNTH_BRAIN)
        return brain(s, out, mask, patient, k, nk);
    if (mask)
        memset(mask, 0, sizeof(float) * (size_t)s->S * s->S);
    return chest(s, out, patient, k, nk);
}
