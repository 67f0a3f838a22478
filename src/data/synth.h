/* synth.h: synthetic datasets for tests and the demo (SPEC section 5),
 * reproducible from a seed (Philox, purpose synth: the numbers of patient p,
 * slice k do not depend on the other patients).
 *
 * Both kinds are built so that a finding is easy to learn but not given
 * away by features an untrained network pools over the whole image: the
 * finding barely moves the image's mean intensity, normal anatomy scatters
 * structures of the same size and contrast over every image in numbers that
 * vary from patient to patient, and every patient is about as often
 * positive (so that recognising a patient does not predict the label).
 *
 * brain: axial MRI-like slices of synthetic patients. The head (skull ring,
 *   CSF, brain tissue with gyral texture, ventricles in the middle slices, a
 *   falx, a bias field) shrinks towards the top and bottom slices; black
 *   background over at least a third of each image. Each patient has 4 to 6
 *   ring-enhancing lesions (metastasis-like spheres of 6.5% to 11% of the
 *   field of view, each over a few slices anywhere in the head): a bright
 *   irregular rim around a dark necrotic core whose darkening balances the
 *   rim's brightening. Normal anatomy adds bright dots (vessels) and dark
 *   ones (perivascular spaces) of overlapping sizes, up to 16 and 12 per
 *   slice at the patient's rate; the patient's gain (0.8 to 1.2), texture,
 *   bias field and noise (sd 0.01 to 0.04) vary. Label 1 when the slice shows
 *   at least 4 pixels of lesion; the mask is the lesions' discs.
 * chest: frontal radiograph-like images: trunk, lungs, diaphragm domes,
 *   heart, spine, ribs and clavicles. Each image shows 1 to 3 nodules with
 *   probability 1/2, whoever the patient (round, bright, 4.5% to 7% of the
 *   field of view); every image shows vessels seen end-on, smaller round
 *   bright dots, up to 30 at the patient's rate. Label 1 when the nodules
 *   cover at least 3 pixels of lung; the mask is the nodules. */
#ifndef DTCL_SYNTH_H
#define DTCL_SYNTH_H

#include <stdint.h>

#include "base/error.h"

typedef enum { DTCL_SYNTH_BRAIN, DTCL_SYNTH_CHEST } DtclSynthKind;

typedef struct DtclSynth DtclSynth;

DtclSynth *dtcl_synth_create(DtclSynthKind kind, int size, uint64_t seed);
void dtcl_synth_free(DtclSynth *s);
/* Image k of patient p (k of nk) into out (S,S); returns its label. mask
 * (S,S) or NULL: the finding's share of each pixel (lesions, nodules). */
int dtcl_synth_image(DtclSynth *s, float *out, float *mask, int patient, int k, int nk);

#endif
