/* model_gpu.h: the model's device mirror (model.h): the parameter,
 * gradient, Adam and running-statistics families each one device allocation
 * of the host sizes, and a copy of the host model whose networks' views point
 * into them, bound by the same layout walk (dtcl_model_bind). The counters
 * (num_batches_tracked) stay the host model's: the twins count on the host.
 * The heads' layer table is the GPU's (heads.h); the other networks take
 * theirs from their plans (dtcl_*_plan_ops with dtcl_layer_ops_gpu()).
 * Host<->device copies are explicit: upload after loading or initialising,
 * download before saving or comparing. */
#ifndef DTCL_MODEL_GPU_H
#define DTCL_MODEL_GPU_H

#include "base/error.h"
#include "nets/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    DtclModel dev; /* dev.table.{param,grad,adam_m,adam_v,stat}: device memory */
} DtclModelGpu;

/* Allocates the device families for host's model and uploads every family. */
int dtcl_model_gpu_init(DtclModelGpu *g, DtclModel *host, DtclError *err);
int dtcl_model_gpu_upload(DtclModelGpu *g, const DtclModel *host, DtclError *err);
int dtcl_model_gpu_download(DtclModel *host, const DtclModelGpu *g, DtclError *err);
void dtcl_model_gpu_free(DtclModelGpu *g);

#ifdef __cplusplus
}
#endif

#endif
