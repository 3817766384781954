/*
 * fuzz_idx.c: libFuzzer target for the IDX reader (data/idx.h).
 *
 * Raw bytes go through data_idx_parse(); a gzip stream (1f 8b) also goes
 * through data_idx_load() from a file, which inflates it first. A file is
 * either accepted with a consistent shape or refused with a one-line message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, struct data_idx *idx, const struct cim_err *err)
{
    if (rc == CIM_OK) {
        size_t count = 1;
        if (idx->rank < 1 || idx->rank > DATA_IDX_RANK_MAX)
            abort();
        for (int i = 0; i < idx->rank; i++)
            count *= idx->dims[i];
        if (count != idx->count || count > DATA_IDX_ELEMS_MAX || idx->data == NULL)
            abort();
        volatile uint8_t sink = idx->data[count - 1]; /* the whole payload is there */
        (void)sink;
        data_idx_release(idx);
    } else if (err->msg[0] == '\0' || strchr(err->msg, '\n') != NULL || idx->data != NULL) {
        abort(); /* every refusal is one line and leaves nothing allocated */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct data_idx idx = {0};
    struct cim_err err = {0};
    check(data_idx_parse(data, size, "fuzz.idx", &idx, &err), &idx, &err);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/cim-fuzz-idx-%ld.gz", (long)getpid());
        FILE *f = fopen(path, "wb");
        if (f == NULL)
            abort();
        fwrite(data, 1, size, f);
        fclose(f);
        memset(&err, 0, sizeof err);
        check(data_idx_load(path, &idx, &err), &idx, &err);
        unlink(path);
    }
    return 0;
}
