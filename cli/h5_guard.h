/*
 * h5_guard.h: reading a user's HDF5 file without dying inside libhdf5.
 *
 * libhdf5 1.10 (Debian 12) trusts some lengths in a file's object headers: a
 * damaged attribute message makes its decoder read unmapped memory, and the
 * process dies with SIGSEGV before cim's checks see anything (reproducer:
 * tests/fuzz/hdf5-faults/attr-message-segv.h5). cim cannot mend the library's
 * decoder, so the commands read every HDF5 file a user names through these
 * functions: each is the data/ function of the same name, with a fault during
 * the read (SIGSEGV, SIGBUS, SIGFPE, SIGILL, and SIGABRT from glibc's heap
 * checks) ending the program with the one line every bad input gets,
 *
 *     cim: FILE: damaged HDF5 file: libhdf5 crashed reading it (SIGSEGV)
 *
 * and exit status 1 (CLI_EXIT_FAIL), instead of a core dump. The handlers are
 * installed only for the read and the previous ones (a sanitizer's, MPI's)
 * restored afterwards. Outputs are written only after the reads, atomically, so
 * the exit leaves no partial file.
 *
 * The read also runs under an address-space bound (RLIMIT_AS: what the process
 * holds plus max(1 GiB, 16 x the file's size), within what cim_mem_total()
 * allows): a damaged file can send libhdf5 into a loop that allocates until the
 * kernel kills the process (tests/fuzz/hdf5-faults/group-lookup-eats-memory.h5
 * took 24 GB in two minutes); bounded, its allocations fail within seconds and
 * the error says "(reading it needed more than the 1.0 GiB allowed: a damaged
 * file)". Not in an AddressSanitizer build, whose allocator the bound does
 * not constrain.
 *
 * The library (libcim) installs no signal handler: a program of its own that
 * reads untrusted files does what it sees fit.
 */
#ifndef CIM_CLI_H5_GUARD_H
#define CIM_CLI_H5_GUARD_H

#include "base/err.h"
#include "data/model_file.h"
#include "data/sweep_file.h"
#include "nn/model.h"

struct nn_model *cli_model_load(const char *path, struct cim_err *err);
int cli_checkpoint_load(const char *path, struct nn_model **m, struct data_checkpoint *ck,
                        struct cim_err *err);
int cli_sweep_load(const char *path, struct data_sweep *s, struct cim_err *err);

#endif
