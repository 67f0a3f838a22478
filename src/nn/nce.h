/* nce.h: the contrastive loss L_NCE (paper Eq. 2; SPEC section 4), the
 * symmetric NT-Xent of SimCLR, and the supervised contrastive loss of Khosla
 * et al. (2020) for the paper's comparison, with gradients with respect to
 * both views.
 *
 * Views zm (B,D), the transformed images' projections, and z (B,D), the
 * untransformed ones. sim(a,b) = a.b / tau ("dot", the paper) or
 * a.b / (|a| |b| tau) ("cosine").
 *   paper:  L = (1/B) sum_i [ -s(zm_i, z_i) + log sum_{j != i} exp s(zm_i, z_j) ]
 *   simclr: over the 2B views v = (zm; z), positive p(k) = k +- B,
 *           L = (1/2B) sum_k [ -s(v_k, v_p(k)) + log sum_{l != k} exp s(v_k, v_l) ]
 *   supcon: over the 2B views, P(k) = the other view of k's image and every
 *           view of an image with the same known label (labels -1: unknown),
 *           L = (1/2B) sum_k [ -(1/|P(k)|) sum_{p in P(k)} s(v_k, v_p) + log sum_{l != k} exp s(v_k, v_l) ]
 * Sums are in double, in a fixed order. */
#ifndef DTCL_NCE_H
#define DTCL_NCE_H

#include <stdint.h>

#ifdef __cplusplus /* the CUDA twin (src/gpu/nce_gpu.cu) includes it */
extern "C" {
#endif

typedef enum { DTCL_NCE_PAPER, DTCL_NCE_SIMCLR, DTCL_NCE_SUPCON } DtclNceKind;
typedef enum { DTCL_SIM_DOT, DTCL_SIM_COSINE } DtclSimilarity;

typedef struct {
    DtclNceKind kind;
    DtclSimilarity sim;
    double tau;
} DtclNce;

/* The names options and config.json use: "paper", "simclr", "supcon";
 * "dot", "cosine". Parsing returns 0, or -1 for another name. */
extern const char *const dtcl_nce_kind_names[3];
extern const char *const dtcl_similarity_names[2];
int dtcl_nce_kind_parse(const char *s, DtclNceKind *k);
int dtcl_similarity_parse(const char *s, DtclSimilarity *m);

/* The least L can be with cosine similarity: -2/tau + log(B - 1) for the
 * paper's L_NCE (the positive left out of the log-sum-exp), 0 for NT-Xent and
 * SupCon (the positives inside it; any similarity). With dot similarity the
 * paper's L_NCE has no least value: below this floor a run is lowering it by
 * growing |z| (SPEC section 4). */
double dtcl_nce_floor(const DtclNce *c, int B);

/* The buffers one call needs for B images of D features, made once (a
 * training step's plan holds one). */
typedef struct DtclNceWork DtclNceWork;
DtclNceWork *dtcl_nce_work_create(int B, int D);
void dtcl_nce_work_free(DtclNceWork *w);

/* Returns L; with dzm/dz not NULL, adds dL/dzm and dL/dz to them (+=).
 * labels (B) in {0, 1, -1} are read by supcon only (may be NULL). work: made
 * for (B, D), or NULL to make one for this call. */
double dtcl_nce_forward_backward(const DtclNce *c,
                                 float *dzm, float *dz,            /* (B,D) each, or NULL */
                                 const float *zm, const float *z,  /* (B,D) each */
                                 const int8_t *labels, int B, int D, DtclNceWork *work);

/* Each kind as a softmax cross-entropy over rows (nce.c's core, and its CUDA
 * twin): R anchors against R candidates (paper: zm against z, R = B; simclr
 * and supcon: the 2B views against themselves), excl[r] the candidate left
 * out of row r's log-sum-exp, target (R,R) the weights of r's positives
 * (summing to 1). target holds (2B)^2 values, excl 2B. Returns R. */
int dtcl_nce_rows(const DtclNce *c, const int8_t *labels, int B, double *target, int *excl);

/* The loss alone in double, for finite differences (gradcheck). */
double dtcl_nce_loss_d(const DtclNce *c, const double *zm, const double *z, const int8_t *labels, int B, int D);

#ifdef __cplusplus
}
#endif

#endif
