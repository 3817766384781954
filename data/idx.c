/* idx.c: the IDX reader (MNIST, Fashion-MNIST); see idx.h. */
#include "idx.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

/* Largest header: 4 magic bytes and DATA_IDX_RANK_MAX uint32 extents. */
#define IDX_HEAD_MAX (4 + 4 * DATA_IDX_RANK_MAX)
/* gzread() takes an unsigned and returns an int: never ask for more per call. */
#define IDX_READ_CHUNK ((size_t)1 << 20)
/* First payload buffer; it doubles as data arrives, up to the announced size. */
#define IDX_BUF_FIRST ((size_t)1 << 16)

/* What a valid header announces. */
struct idx_head {
    int rank;
    uint32_t dims[DATA_IDX_RANK_MAX];
    size_t head_len; /* bytes before the elements */
    size_t count;    /* elements, each one byte */
};

/* ---- header and size checks, shared by data_idx_parse() and data_idx_load() ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The element types the IDX format defines besides 0x08; a file of one of
 * these is a valid IDX file that cim does not read, which deserves a different
 * answer than a file that is not IDX at all. */
static const char *idx_type_name(int type)
{
    switch (type) {
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

/* Validate the header at the start of `b` (`len` bytes are available, maybe
 * fewer than the header needs) and compute the element count. The order of the
 * checks makes the message name the first thing that is wrong: the magic, then
 * the rank, then a cut header, then the extents. The element count is checked
 * for overflow and against DATA_IDX_ELEMS_MAX here, before anyone allocates. */
static int idx_head_parse(const uint8_t *b, size_t len, const char *name, struct idx_head *h,
                          struct cim_err *err)
{
    if (len < 4)
        return cim_err_set(err, CIM_EFORMAT,
                           "%s: truncated: an IDX header needs at least 4 bytes, file has %zu",
                           name, len);
    if (b[0] != 0 || b[1] != 0 || (b[2] != 0x08 && idx_type_name(b[2]) == NULL))
        return cim_err_set(err, CIM_EFORMAT,
                           "%s: bad magic %02x %02x %02x %02x: expected 00 00 08 0r "
                           "(IDX unsigned bytes of rank r)",
                           name, b[0], b[1], b[2], b[3]);
    if (b[2] != 0x08)
        return cim_err_set(err, CIM_EUNSUPPORTED,
                           "%s: unsupported IDX element type 0x%02x (%s): only 0x08 "
                           "(unsigned byte) is supported",
                           name, b[2], idx_type_name(b[2]));
    int rank = b[3];
    if (rank < 1 || rank > DATA_IDX_RANK_MAX)
        return cim_err_set(err, CIM_EFORMAT, "%s: bad rank %d: expected 1 to %d dimensions",
                           name, rank, DATA_IDX_RANK_MAX);
    size_t head_len = 4 + 4 * (size_t)rank;
    if (len < head_len)
        return cim_err_set(err, CIM_EFORMAT,
                           "%s: truncated: the header of a rank-%d IDX file needs %zu bytes, "
                           "file has %zu",
                           name, rank, head_len, len);

    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        uint32_t d = be32(b + 4 + 4 * i);
        if (d == 0)
            return cim_err_set(err, CIM_EFORMAT, "%s: dimension %d has extent 0: expected >= 1",
                               name, i);
        h->dims[i] = d;
        if (cim_size_mul(count, d, &count) != CIM_OK || count > DATA_IDX_ELEMS_MAX) {
            char shape[3 * 12];
            int at = 0;
            for (int j = 0; j < rank; j++)
                at += snprintf(shape + at, sizeof shape - (size_t)at, "%s%" PRIu32,
                               j ? "x" : "", be32(b + 4 + 4 * j));
            return cim_err_set(err, CIM_EFORMAT,
                               "%s: too large: header announces %s elements, more than the "
                               "limit of %zu",
                               name, shape, DATA_IDX_ELEMS_MAX);
        }
    }
    h->rank = rank;
    h->head_len = head_len;
    h->count = count;
    return CIM_OK;
}

/* The payload must be exactly as long as the header says. `have` is the number
 * of bytes that follow the header in the (decompressed) file. */
static int idx_size_check(const struct idx_head *h, size_t have, const char *name,
                          struct cim_err *err)
{
    if (have < h->count)
        return cim_err_set(err, CIM_EFORMAT,
                           "%s: truncated: header announces %zu bytes of data, file has %zu",
                           name, h->count, have);
    if (have > h->count)
        return cim_err_set(err, CIM_EFORMAT,
                           "%s: %zu trailing byte%s after the %zu bytes of data the header "
                           "announces",
                           name, have - h->count, have - h->count == 1 ? "" : "s", h->count);
    return CIM_OK;
}

static void idx_fill(struct data_idx *out, const struct idx_head *h, uint8_t *data)
{
    memset(out, 0, sizeof *out);
    out->rank = h->rank;
    for (int i = 0; i < h->rank; i++)
        out->dims[i] = h->dims[i];
    out->count = h->count;
    out->data = data;
}

int data_idx_parse(const uint8_t *bytes, size_t len, const char *name, struct data_idx *out,
                   struct cim_err *err)
{
    assert(out != NULL && out->data == NULL);
    assert(bytes != NULL || len == 0);
    struct idx_head h = {0};
    int rc = idx_head_parse(bytes, len, name, &h, err);
    if (rc != CIM_OK)
        return rc;
    rc = idx_size_check(&h, len - h.head_len, name, err);
    if (rc != CIM_OK)
        return rc;
    uint8_t *data = malloc(h.count);
    if (data == NULL)
        return cim_err_set(err, CIM_ENOMEM, "%s: cannot allocate %zu bytes", name, h.count);
    memcpy(data, bytes + h.head_len, h.count);
    idx_fill(out, &h, data);
    return CIM_OK;
}

/* ---- reading through zlib ---- */

/* Read up to `want` bytes; `*got` tells how many arrived, fewer only at the end
 * of the stream. gzread() does not report every problem as an error: a gzip
 * stream that stops in the middle (a cut download) just ends early, with
 * Z_BUF_ERROR left in gzerror(). So the end of the stream is always checked
 * there, and a short stream is called truncated, not silently accepted. */
static int idx_read(gzFile gz, uint8_t *buf, size_t want, size_t *got, const char *name,
                    struct cim_err *err)
{
    size_t n = 0;
    while (n < want) {
        size_t ask = want - n < IDX_READ_CHUNK ? want - n : IDX_READ_CHUNK;
        int r = gzread(gz, buf + n, (unsigned)ask);
        if (r > 0) {
            n += (size_t)r;
            continue;
        }
        int saved_errno = errno;
        int zerr = Z_OK;
        const char *zmsg = gzerror(gz, &zerr);
        if (zerr == Z_ERRNO)
            return cim_err_set(err, CIM_EIO, "cannot read %s: %s", name, strerror(saved_errno));
        if (zerr == Z_BUF_ERROR)
            return cim_err_set(err, CIM_EFORMAT,
                               "%s: truncated gzip stream: it ends after %lld bytes of "
                               "decompressed data",
                               name, (long long)gztell(gz));
        if (zerr == Z_MEM_ERROR)
            return cim_err_set(err, CIM_ENOMEM, "%s: zlib out of memory", name);
        if (zerr != Z_OK || r < 0) {
            /* zlib prefixes its message with the file, "<fd:N>" for gzdopen(). */
            const char *colon = zmsg != NULL ? strstr(zmsg, ": ") : NULL;
            if (colon != NULL && strncmp(zmsg, "<fd:", 4) == 0)
                zmsg = colon + 2;
            return cim_err_set(err, CIM_EFORMAT, "%s: corrupt gzip stream: %s", name,
                               zmsg != NULL && *zmsg ? zmsg : "read error");
        }
        break; /* r == 0 with no error: the end of the data */
    }
    *got = n;
    return CIM_OK;
}

/* Read the header, then the payload into a buffer that grows as data arrives
 * (a 20-byte file announcing a gigabyte costs 64 KiB, not a gigabyte), then
 * count whatever follows the announced payload without keeping it, so that
 * the trailing-data message can say how much there is. The checks and
 * messages are those of data_idx_parse(); the payload is not copied twice. */
static int idx_load_gz(gzFile gz, const char *name, struct data_idx *out, struct cim_err *err)
{
    uint8_t head[IDX_HEAD_MAX];
    size_t got = 0;
    struct idx_head h = {0};
    int rc = idx_read(gz, head, 4, &got, name, err);
    if (rc != CIM_OK)
        return rc;
    if (got == 4 && head[3] >= 1 && head[3] <= DATA_IDX_RANK_MAX) {
        /* The extents: their number is the rank, the fourth byte. */
        size_t more = 0;
        rc = idx_read(gz, head + 4, 4 * (size_t)head[3], &more, name, err);
        if (rc != CIM_OK)
            return rc;
        got += more;
    }
    rc = idx_head_parse(head, got, name, &h, err);
    if (rc != CIM_OK)
        return rc;

    size_t cap = h.count < IDX_BUF_FIRST ? h.count : IDX_BUF_FIRST;
    uint8_t *data = malloc(cap);
    if (data == NULL)
        return cim_err_set(err, CIM_ENOMEM, "%s: cannot allocate %zu bytes", name, cap);
    size_t have = 0;
    for (;;) {
        rc = idx_read(gz, data + have, cap - have, &got, name, err);
        if (rc != CIM_OK)
            goto fail;
        have += got;
        if (have < cap || cap == h.count)
            break;
        size_t grown = cap > h.count / 2 ? h.count : 2 * cap;
        uint8_t *p = realloc(data, grown);
        if (p == NULL) {
            rc = cim_err_set(err, CIM_ENOMEM, "%s: cannot allocate %zu bytes", name, grown);
            goto fail;
        }
        data = p;
        cap = grown;
    }
    if (have == h.count) {
        uint8_t scratch[4096];
        do {
            rc = idx_read(gz, scratch, sizeof scratch, &got, name, err);
            if (rc != CIM_OK)
                goto fail;
            have += got;
        } while (got == sizeof scratch);
    }
    rc = idx_size_check(&h, have, name, err);
    if (rc != CIM_OK)
        goto fail;
    idx_fill(out, &h, data);
    return CIM_OK;
fail:
    free(data);
    return rc;
}

/* The file is opened with open(2) rather than by gzopen() so that a missing or
 * unreadable file gives errno's reason, which gzopen() does not promise. zlib
 * reads a file without the gzip magic as it is, so one path serves both. */
int data_idx_load(const char *path, struct data_idx *out, struct cim_err *err)
{
    assert(path != NULL && out != NULL && out->data == NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cim_err_set(err, CIM_EIO, "cannot open %s: %s", path, strerror(errno));
    gzFile gz = gzdopen(fd, "rb");
    if (gz == NULL) {
        close(fd);
        return cim_err_set(err, CIM_ENOMEM, "%s: cannot set up zlib", path);
    }
    gzbuffer(gz, 1 << 17);
    int rc = idx_load_gz(gz, path, out, err);
    gzclose_r(gz);
    return rc;
}

void data_idx_release(struct data_idx *idx)
{
    if (idx == NULL)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
