/* synth.h: synthetic datasets for tests and the demo (SPEC section 5),
 * reproducible from a seed (Philox, purpose synth: the numbers of patient p,
 * slice k do not depend on the other patients).
 *
 * brain: axial MRI-like slices of synthetic patients. The head (skull ring,
 *   CSF, brain tissue with gyral texture, ventricles in the middle slices, a
 *   falx) shrinks towards the top and bottom slices; black background over
 *   at least a third of each image. About 3 patients in 4 carry a tumour: an
 *   irregular bright core with a fainter halo (oedema) over a contiguous
 *   range of slices, of random size (3% to 13% of the field of view), place
 *   and contrast (0.12 to 0.45). Label 1 when the slice shows at least 3
 *   pixels of tumour core.
 * chest: frontal radiograph-like images: trunk, lungs, diaphragm domes,
 *   heart, spine, ribs and clavicles; abnormal images carry opacities,
 *   nodules or an effusion-like shadow. A patient is abnormal with
 *   probability 1/2; 85% of an abnormal patient's images show the finding,
 *   15% of a normal one's show a new one. */
#ifndef DTCL_SYNTH_H
#define DTCL_SYNTH_H

#include <stdint.h>

#include "base/error.h"

typedef enum { DTCL_SYNTH_BRAIN, DTCL_SYNTH_CHEST } DtclSynthKind;

typedef struct DtclSynth DtclSynth;

DtclSynth *dtcl_synth_create(DtclSynthKind kind, int size, uint64_t seed);
void dtcl_synth_free(DtclSynth *s);
/* Image k of patient p (k of nk) into out (S,S); returns its label. mask
 * (S,S) or NULL: the tumour core's share of each pixel (brain; 0 for chest). */
int dtcl_synth_image(DtclSynth *s, float *out, float *mask, int patient, int k, int nk);

#endif
