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
 *
 * Files use the oldest HDF5 structures that hold them, so HDF5 1.8 and later,
 * h5py and h5dump read them. The reader checks every name, type and extent, so a
 * file from another program (h5py, a converter) either loads exactly or is
 * refused with one line saying why. Groups and attributes it does not know are
 * ignored: later format revisions add beside, never change (docs/FORMAT.md).
 *
 * HDF5 is built without thread safety on Debian: call these functions from one
 * thread at a time.
 */
#ifndef CIM_DATA_MODEL_FILE_H
#define CIM_DATA_MODEL_FILE_H

#include <stddef.h>

#include "base/err.h"
#include "nn/model.h"

#define DATA_MODEL_FORMAT "cim-model"
#define DATA_MODEL_FORMAT_VERSION 1

/* Silence HDF5's automatic error printing (cim reports errors itself). Call once
 * at start-up; idempotent. The functions below call it too, so that the library
 * never prints even when a program forgets. */
void data_init(void);

/* Save `m` to `path` atomically (data/atomic.h): the file is built in memory and
 * appears under `path` only when complete; on any failure nothing is left, and a
 * file already at `path` is unchanged. The training record is stored as is,
 * except that an empty `created` is stamped with the current UTC time.
 * CIM_OK; CIM_EINVAL for a NULL argument or a bad path; CIM_EIO (naming the path
 * and the system's reason) when it cannot be written (missing or read-only
 * directory, full disk, `path` is a device); CIM_EFORMAT when `m` does not
 * validate or a weight or bias is NaN or infinite (the loader would refuse the
 * file); CIM_ENOMEM. */
int data_model_save(const char *path, const struct nn_model *m, struct cim_err *err);

/* Load a model. NULL with `err` set (one line naming the file and the object,
 * e.g. "m.h5: /layers/002_conv2d/weight: missing dataset") when:
 *   CIM_EIO          the file is missing, unreadable or a directory;
 *   CIM_EUNSUPPORTED its format_version is newer than DATA_MODEL_FORMAT_VERSION;
 *   CIM_EFORMAT      it is not HDF5, its format is not DATA_MODEL_FORMAT, an
 *                    attribute or dataset is missing or has the wrong type, rank
 *                    or shape, the layer groups are not numbered 000, 001, ...,
 *                    the layers do not chain, a layer type or activation is
 *                    unknown, a weight or bias is NaN or infinite, or a layer
 *                    has more than NN_TENSOR_ELEMS_MAX weights;
 *   CIM_ENOMEM       out of memory.
 * /training and each of its attributes are optional; what is missing keeps the
 * "unknown" value of struct nn_train_record. The caller frees the model with
 * nn_model_free(). */
struct nn_model *data_model_load(const char *path, struct cim_err *err);

/* The same from the `len` bytes of an HDF5 file held in memory (copied), named
 * `name` in messages (the fuzzing harness reads models this way). */
struct nn_model *data_model_load_image(const void *buf, size_t len, const char *name,
                                       struct cim_err *err);

/* What a checkpoint adds to a model file. */
struct data_checkpoint {
    int epoch;         /* epochs completed */
    char *options;     /* training options as a JSON text, owned */
    float *state;      /* the trainer's state vector (nn_trainer_state_get), owned */
    size_t state_len;
};

/* Save `m` plus `ck` to `path` atomically, as data_model_save() does. A NULL
 * `ck->options` is stored as ""; `state_len` may be 0 (then `state` may be NULL).
 * CIM_EINVAL also when `ck` is NULL or has state_len > 0 and no state. */
int data_checkpoint_save(const char *path, const struct nn_model *m,
                         const struct data_checkpoint *ck, struct cim_err *err);

/* Load a checkpoint: the model into *m (caller frees) and the rest into `ck`
 * (release with data_checkpoint_release()); on success `ck->options` is never
 * NULL and `ck->state` is NULL exactly when state_len is 0. The same errors as
 * data_model_load(), and CIM_EFORMAT when the file is a model without
 * /checkpoint, with the message saying so. On failure *m is NULL and `ck` is
 * zeroed; `ck` need not be zeroed on entry (it is overwritten, not released). */
int data_checkpoint_load(const char *path, struct nn_model **m, struct data_checkpoint *ck,
                         struct cim_err *err);

/* Free what `ck` owns and zero it; accepts a zeroed one. */
void data_checkpoint_release(struct data_checkpoint *ck);

#endif
