/*
 * fuzz_model.c: libFuzzer target for the HDF5 model loader (data/model_file.h),
 * fed from memory through HDF5's file-image support.
 *
 * A file is either refused with a one-line message or gives a model that
 * passes nn_model_validate() and, when quantized, builds its integer model.
 * Crashes inside libhdf5 itself on corrupt metadata are HDF5's (reported
 * upstream when found); everything after HDF5 hands over is cim's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/model_file.h"
#include "nn/integer.h"
#include "nn/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cim_err err = {0};
    struct nn_model *m = data_model_load_image(data, size, "fuzz.h5", &err);
    if (m == NULL) {
        if (err.msg[0] == '\0' || strchr(err.msg, '\n') != NULL)
            abort();
        return 0;
    }
    struct cim_err e = {0};
    if (nn_model_validate(m, &e) != CIM_OK)
        abort(); /* the loader promised a valid model */
    for (int p = 0; p < m->quant.n_prec; p++) {
        struct nn_int_model *im = nn_int_model_alloc(m, p, &e);
        nn_int_model_free(im); /* may refuse what it does not support; must not crash */
    }
    nn_model_free(m);
    return 0;
}
