/* layer_ops_gpu.h: the CUDA twins' table of layer primitives (layer_ops.h). */
#ifndef DTCL_LAYER_OPS_GPU_H
#define DTCL_LAYER_OPS_GPU_H

#include "backend/layer_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

const DtclLayerOps *dtcl_layer_ops_gpu(void);

#ifdef __cplusplus
}
#endif

#endif
