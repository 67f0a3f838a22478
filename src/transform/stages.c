/* stages.c: the table of T's stages (see stages.h): one row per stage, the
 * calls that compose T go through it. */
#include "transform/stages.h"

#include <stdio.h>
#include <string.h>

#include "transform/transform_naive.h"

/* ---- each stage's forward and backward, as the table calls them */

static void blur_forward(const DtclStageArgs *a)
{
    dtcl_blur_forward(a->t->blur, a->y, a->ty, a->x, a->tx, a->lambda, a->tlambda, a->ntan, a->ws);
}

static void blur_backward(const DtclStageArgs *a)
{
    dtcl_blur_backward(a->t->blur, a->dx, a->dlambda, a->dy, a->x, a->lambda, a->ws);
}

static void noise_forward(const DtclStageArgs *a)
{
    dtcl_noise_forward(a->y, a->ty, a->x, a->tx, a->z, a->lambda, a->tlambda, a->ntan, a->t->size, &a->t->p);
}

static void noise_backward(const DtclStageArgs *a)
{
    dtcl_noise_backward(a->dx, a->dlambda, a->dy, a->z, a->lambda, a->t->size, &a->t->p);
}

static void crop_forward(const DtclStageArgs *a)
{
    dtcl_crop_forward(a->y, a->ty, a->x, a->tx, a->lambda, a->tlambda, a->ntan, a->t->size, &a->t->p);
}

static void crop_backward(const DtclStageArgs *a)
{
    dtcl_crop_backward(a->dx, a->dlambda, a->dy, a->x, a->lambda, a->t->size, &a->t->p);
}

static void hflip_forward(const DtclStageArgs *a)
{
    dtcl_flip_forward(a->y, a->ty, a->x, a->tx, a->lambda, a->tlambda, a->ntan, a->t->size, 1);
}

static void hflip_backward(const DtclStageArgs *a)
{
    dtcl_flip_backward(a->dx, a->dlambda, a->dy, a->x, a->lambda, a->t->size, 1);
}

static void vflip_forward(const DtclStageArgs *a)
{
    dtcl_flip_forward(a->y, a->ty, a->x, a->tx, a->lambda, a->tlambda, a->ntan, a->t->size, 0);
}

static void vflip_backward(const DtclStageArgs *a)
{
    dtcl_flip_backward(a->dx, a->dlambda, a->dy, a->x, a->lambda, a->t->size, 0);
}

static void rotate_forward(const DtclStageArgs *a)
{
    dtcl_rotate_forward(a->y, a->ty, a->x, a->tx, a->lambda, a->tlambda, a->ntan, a->t->size);
}

static void rotate_backward(const DtclStageArgs *a)
{
    dtcl_rotate_backward(a->dx, a->dlambda, a->dy, a->x, a->lambda, a->t->size);
}

/* SPEC section 2; the paper's Table 1. Off: blur, noise, the flips and the
 * rotation at lambda 0 are exactly the identity; the crop has no identity,
 * so an image drawn without it takes T without the crop stage. */
const DtclStageInfo dtcl_stages[DTCL_NSTAGES] = {
    [DTCL_STAGE_BLUR] = {"blur", {0, -1}, {0, 0}, 1, 0, blur_forward, blur_backward, dtcl_blur_naive, NULL},
    [DTCL_STAGE_NOISE] = {"noise", {1, -1}, {0, 0}, 1, 0, noise_forward, noise_backward, dtcl_noise_naive, NULL},
    [DTCL_STAGE_CROP] = {"crop", {2, 3}, {0, 0.5f}, 0, 0, crop_forward, crop_backward, dtcl_crop_naive,
                         dtcl_crop_kink_free},
    [DTCL_STAGE_HFLIP] = {"hflip", {4, -1}, {0, 0}, 1, 1, hflip_forward, hflip_backward, dtcl_hflip_naive, NULL},
    [DTCL_STAGE_VFLIP] = {"vflip", {5, -1}, {0, 0}, 1, 1, vflip_forward, vflip_backward, dtcl_vflip_naive, NULL},
    [DTCL_STAGE_ROTATE] = {"rotate", {6, -1}, {0, 0}, 1, 1, rotate_forward, rotate_backward, dtcl_rotate_naive,
                           dtcl_rotate_kink_free},
};

const char *dtcl_stage_list(void)
{
    static char list[DTCL_NSTAGES * 16];
    if (!list[0])
        for (int k = 0; k < DTCL_NSTAGES; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", dtcl_stages[k].name);
    return list;
}
