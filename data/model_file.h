/*
 * model_file.h: the HDF5 model store.
 *
 * A model file holds a network's structure, its FP32 parameters and how it was
 * trained, laid out as docs/FORMAT.md documents name by name (root attributes;
 * /layers/NNN_<type> groups with `weight` and `bias`; /training). A checkpoint is
 * a model file with one more group, /checkpoint, holding what `cim train --resume`
 * needs to continue exactly where it stopped. Files are written atomically
 * (data/atomic.h) and read back bit for bit.
 *
 *     data_init();                       once, at start-up
 *     if (data_model_save("m.h5", m, &err) != CIM_OK) ...
 *     struct nn_model *m2 = data_model_load("m.h5", &err);
 */
#ifndef CIM_DATA_MODEL_FILE_H
#define CIM_DATA_MODEL_FILE_H

#include <stddef.h>

#include "base/err.h"
#include "nn/model.h"

#define DATA_MODEL_FORMAT "cim-model"
#define DATA_MODEL_FORMAT_VERSION 1

/* Silence HDF5's automatic error printing (cim reports errors itself). Call once
 * at start-up; idempotent. */
void data_init(void);

/* Save `m` to `path` atomically. CIM_OK; CIM_EIO (naming the path) when it cannot
 * be written; CIM_EFORMAT when `m` does not validate. */
int data_model_save(const char *path, const struct nn_model *m, struct cim_err *err);

/* Load a model. NULL with `err` set (one line naming the file and the object)
 * when the file is missing or not HDF5, its format is not DATA_MODEL_FORMAT, its
 * version is newer, an attribute or dataset is missing or has the wrong type,
 * rank or shape, the layers do not chain, a layer type is unknown, or a weight is
 * NaN or infinite. The caller frees the model with nn_model_free(). */
struct nn_model *data_model_load(const char *path, struct cim_err *err);

/* What a checkpoint adds to a model file. */
struct data_checkpoint {
    int epoch;         /* epochs completed */
    char *options;     /* training options as a JSON text, owned */
    float *state;      /* the trainer's state vector (nn_trainer_state_get), owned */
    size_t state_len;
};

/* Save `m` plus `ck` to `path` atomically. */
int data_checkpoint_save(const char *path, const struct nn_model *m,
                         const struct data_checkpoint *ck, struct cim_err *err);

/* Load a checkpoint: the model into *m (caller frees) and the rest into `ck`
 * (release with data_checkpoint_release()). CIM_EFORMAT when the file is a model
 * without /checkpoint, with the message saying so. */
int data_checkpoint_load(const char *path, struct nn_model **m, struct data_checkpoint *ck,
                         struct cim_err *err);

/* Free what `ck` owns and zero it; accepts a zeroed one. */
void data_checkpoint_release(struct data_checkpoint *ck);

#endif
