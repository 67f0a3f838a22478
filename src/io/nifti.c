/* nifti.c: NIfTI volumes through niftilib, with dtcl's header check (see nifti.h). */
#include "io/nifti.h"

#include <errno.h>
#include <math.h>
#include <nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static uint32_t get32(const unsigned char *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

static int16_t get16(const unsigned char *p, int swap)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return (int16_t)(swap ? __builtin_bswap16(v) : v);
}

static int64_t get64(const unsigned char *p, int swap)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return (int64_t)(swap ? __builtin_bswap64(v) : v);
}

static int type_size(int dt)
{
    return dt == DT_UINT8 || dt == DT_INT8 ? 1 : dt == DT_INT16 || dt == DT_UINT16 ? 2
           : dt == DT_FLOAT64 || dt == DT_INT64 || dt == DT_UINT64 ? 8 : 4;
}

static const char *type_name(int dt)
{
    switch (dt) {
    case DT_UINT8: return "uint8";
    case DT_INT8: return "int8";
    case DT_INT16: return "int16";
    case DT_UINT16: return "uint16";
    case DT_INT32: return "int32";
    case DT_UINT32: return "uint32";
    case DT_INT64: return "int64";
    case DT_UINT64: return "uint64";
    case DT_FLOAT32: return "float32";
    case DT_FLOAT64: return "float64";
    default: return NULL;
    }
}

int dtcl_nifti_parse_header(const void *buf, size_t len, DtclNiftiHeader *h, DtclError *err)
{
    const unsigned char *b = buf;
    memset(h, 0, sizeof *h);
    if (len < 348)
        return dtcl_fail(err, "not a NIfTI file: %zu bytes, shorter than a NIfTI-1 header (348)", len);
    uint32_t sz = get32(b, 0);
    if (sz == 348 || __builtin_bswap32(sz) == 348) {
        h->version = 1;
        h->swapped = sz != 348;
        if (memcmp(b + 344, "n+1", 4) != 0 && memcmp(b + 344, "ni1", 4) != 0)
            return dtcl_fail(err, "not a NIfTI-1 file: no 'n+1' magic at byte 344 (an ANALYZE 7.5 header?)");
        for (int d = 0; d < 8; d++)
            h->dim[d] = get16(b + 40 + 2 * d, h->swapped);
        h->datatype = get16(b + 70, h->swapped);
        float off;
        uint32_t raw = get32(b + 108, h->swapped);
        memcpy(&off, &raw, 4);
        if (!(off >= 348 && off <= (float)(1 << 30)))
            return dtcl_fail(err, "NIfTI-1 header: vox_offset %g is out of range", off);
        h->vox_offset = (int64_t)off;
    } else if (sz == 540 || __builtin_bswap32(sz) == 540) {
        if (len < 540)
            return dtcl_fail(err, "truncated NIfTI-2 header (%zu of 540 bytes)", len);
        h->version = 2;
        h->swapped = sz != 540;
        if (memcmp(b + 4, "n+2\0\r\n\032\n", 8) != 0 && memcmp(b + 4, "ni2\0\r\n\032\n", 8) != 0)
            return dtcl_fail(err, "not a NIfTI-2 file: no 'n+2' magic at byte 4");
        h->datatype = get16(b + 12, h->swapped);
        for (int d = 0; d < 8; d++)
            h->dim[d] = get64(b + 16 + 8 * d, h->swapped);
        h->vox_offset = get64(b + 168, h->swapped);
        if (h->vox_offset < 540 || h->vox_offset > ((int64_t)1 << 30))
            return dtcl_fail(err, "NIfTI-2 header: vox_offset %lld is out of range", (long long)h->vox_offset);
    } else {
        return dtcl_fail(err, "not a NIfTI file (the header size field is neither 348 nor 540)");
    }
    if (h->dim[0] < 1 || h->dim[0] > 7)
        return dtcl_fail(err, "NIfTI header: dim[0] = %lld (expected 1 to 7 dimensions)", (long long)h->dim[0]);
    int64_t nvox = 1;
    for (int d = 1; d <= h->dim[0]; d++) {
        if (h->dim[d] < 1 || h->dim[d] > (1 << 20))
            return dtcl_fail(err, "NIfTI header: dim[%d] = %lld is out of range", d, (long long)h->dim[d]);
        if (nvox > ((int64_t)1 << 34) / h->dim[d])
            return dtcl_fail(err, "NIfTI header: the volume is implausibly large");
        nvox *= h->dim[d];
    }
    if (!type_name(h->datatype))
        return dtcl_fail(err, "NIfTI data type %d is not supported (expected an integer or float32/float64 type)",
                         h->datatype);
    return 0;
}

/* The decompressed length of a (possibly gzipped) file, -1 on a broken stream. */
static int64_t decompressed_length(const char *path)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return -1;
    static char buf[1 << 16];
    int64_t total = 0;
    int n;
    while ((n = gzread(g, buf, sizeof buf)) > 0)
        total += n;
    int e;
    gzerror(g, &e);
    gzclose(g);
    return n < 0 || (e != Z_OK && e != Z_STREAM_END) ? -1 : total;
}

static int axis_code_pair(int code) /* 0: L/R, 1: A/P, 2: I/S */
{
    return code == NIFTI_L2R || code == NIFTI_R2L ? 0 : code == NIFTI_P2A || code == NIFTI_A2P ? 1 : 2;
}

int dtcl_nifti_load(const char *path, DtclVolume *v, DtclError *err)
{
    memset(v, 0, sizeof *v);
    gzFile g = gzopen(path, "rb");
    if (!g)
        return dtcl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    unsigned char hdr[540];
    int n = gzread(g, hdr, sizeof hdr);
    gzclose(g);
    if (n < 0)
        return dtcl_fail(err, "%s: not a readable NIfTI file (corrupt compression)", path);
    DtclNiftiHeader h;
    if (dtcl_nifti_parse_header(hdr, (size_t)n, &h, err) != 0)
        return dtcl_fail_prefix(err, path);
    int64_t nd = h.dim[0];
    if (nd > 3 && !(nd == 4 && h.dim[4] == 1)) {
        char dims[128];
        size_t k = 0;
        for (int d = 1; d <= nd && k < sizeof dims; d++)
            k += (size_t)snprintf(dims + k, sizeof dims - k, d > 1 ? "x%lld" : "%lld", (long long)h.dim[d]);
        return dtcl_fail(err, "%s: a %lld-D volume (%s); expected one 3-D volume", path, (long long)nd, dims);
    }
    if (nd < 3)
        return dtcl_fail(err, "%s: a %lld-D image; expected a 3-D volume", path, (long long)nd);

    /* The file must be able to hold what the header promises before niftilib
     * allocates it: exactly for .nii, and for gzip within its maximum expansion
     * (about 1032:1), so that a small corrupt file cannot claim gigabytes. */
    int64_t need = h.vox_offset + h.dim[1] * h.dim[2] * h.dim[3] * type_size(h.datatype);
    struct stat fst;
    FILE *raw = fopen(path, "rb");
    unsigned char magic[2] = {0, 0};
    if (raw) {
        if (fread(magic, 1, 2, raw) != 2)
            magic[0] = 0;
        fclose(raw);
    }
    if (stat(path, &fst) == 0) {
        int gz = magic[0] == 0x1f && magic[1] == 0x8b;
        int64_t most = gz ? (int64_t)fst.st_size * 1032 + 65536 : (int64_t)fst.st_size;
        if (need > most)
            return dtcl_fail(err, "%s: truncated: %lldx%lldx%lld %s needs %lld bytes, the file holds %s%lld", path,
                             (long long)h.dim[1], (long long)h.dim[2], (long long)h.dim[3], type_name(h.datatype),
                             (long long)need, gz ? "at most " : "", (long long)most);
    }
    nifti_set_debug_level(0);
    nifti_image *nim = nifti_image_read(path, 1);
    if (!nim || !nim->data) {
        if (nim)
            nifti_image_free(nim);
        int64_t have = decompressed_length(path);
        if (have < 0)
            return dtcl_fail(err, "%s: truncated or corrupt compressed data (the gzip stream is broken)", path);
        if (have < need)
            return dtcl_fail(err, "%s: truncated: %lldx%lldx%lld %s needs %lld bytes, the file holds %lld", path,
                             (long long)h.dim[1], (long long)h.dim[2], (long long)h.dim[3], type_name(h.datatype),
                             (long long)need, (long long)have);
        return dtcl_fail(err, "%s: niftilib could not read the volume", path);
    }
    v->dim[0] = nim->nx;
    v->dim[1] = nim->ny;
    v->dim[2] = nim->nz;
    size_t nvox = (size_t)(nim->nx * nim->ny * nim->nz);
    v->data = DTCL_ALIGNED(nvox * sizeof(float));
    double slope = nim->scl_slope, inter = nim->scl_inter;
    if (slope == 0 || !isfinite(slope)) {
        slope = 1;
        inter = 0;
    }
    for (size_t i = 0; i < nvox; i++) {
        double x;
        switch (nim->datatype) {
        case DT_UINT8: x = ((const uint8_t *)nim->data)[i]; break;
        case DT_INT8: x = ((const int8_t *)nim->data)[i]; break;
        case DT_INT16: x = ((const int16_t *)nim->data)[i]; break;
        case DT_UINT16: x = ((const uint16_t *)nim->data)[i]; break;
        case DT_INT32: x = ((const int32_t *)nim->data)[i]; break;
        case DT_UINT32: x = ((const uint32_t *)nim->data)[i]; break;
        case DT_INT64: x = (double)((const int64_t *)nim->data)[i]; break;
        case DT_UINT64: x = (double)((const uint64_t *)nim->data)[i]; break;
        case DT_FLOAT32: x = ((const float *)nim->data)[i]; break;
        default: x = ((const double *)nim->data)[i]; break;
        }
        v->data[i] = (float)(x * slope + inter);
    }
    /* orientation of the array axes in patient space */
    int code[3] = {NIFTI_L2R, NIFTI_P2A, NIFTI_I2S}; /* NIfTI's default without a transform */
    if (nim->sform_code > 0)
        nifti_dmat44_to_orientation(nim->sto_xyz, &code[0], &code[1], &code[2]);
    else if (nim->qform_code > 0)
        nifti_dmat44_to_orientation(nim->qto_xyz, &code[0], &code[1], &code[2]);
    nifti_image_free(nim);
    static const char *abbrev[7] = {"?", "L2R", "R2L", "P2A", "A2P", "I2S", "S2I"};
    snprintf(v->orientation, sizeof v->orientation, "%s %s %s", abbrev[code[0] >= 1 && code[0] <= 6 ? code[0] : 0],
             abbrev[code[1] >= 1 && code[1] <= 6 ? code[1] : 0], abbrev[code[2] >= 1 && code[2] <= 6 ? code[2] : 0]);
    int seen[3] = {0};
    v->axial = v->row_axis = v->col_axis = -1;
    for (int a = 0; a < 3; a++) {
        if (code[a] < 1 || code[a] > 6) {
            dtcl_volume_free(v);
            return dtcl_fail(err, "%s: the orientation matrix is degenerate", path);
        }
        int pair = axis_code_pair(code[a]);
        seen[pair]++;
        if (pair == 2)
            v->axial = a;
        else if (pair == 1) {
            v->row_axis = a;
            v->row_flip = code[a] == NIFTI_P2A;
        } else {
            v->col_axis = a;
            v->col_flip = code[a] == NIFTI_L2R;
        }
    }
    if (seen[0] != 1 || seen[1] != 1 || seen[2] != 1) {
        dtcl_volume_free(v);
        return dtcl_fail(err, "%s: the orientation (%s) does not name one axis each of L/R, A/P, I/S", path,
                         v->orientation);
    }
    return 0;
}

void dtcl_volume_free(DtclVolume *v)
{
    free(v->data);
    memset(v, 0, sizeof *v);
}

int64_t dtcl_volume_nslices(const DtclVolume *v) { return v->dim[v->axial]; }

void dtcl_volume_slice(const DtclVolume *v, int64_t index, float *out, int *rows, int *cols)
{
    int64_t stride[3] = {1, v->dim[0], v->dim[0] * v->dim[1]};
    int64_t nr = v->dim[v->row_axis], nc = v->dim[v->col_axis];
    const float *base = v->data + index * stride[v->axial];
    for (int64_t r = 0; r < nr; r++) {
        int64_t rr = v->row_flip ? nr - 1 - r : r;
        for (int64_t c = 0; c < nc; c++) {
            int64_t cc = v->col_flip ? nc - 1 - c : c;
            out[r * nc + c] = base[rr * stride[v->row_axis] + cc * stride[v->col_axis]];
        }
    }
    *rows = (int)nr;
    *cols = (int)nc;
}
