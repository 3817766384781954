/*
 * mpi_procs.h: the few MPI calls of `cim sweep`, behind functions that also exist
 * when cim is built without MPI (meson option mpi; CIM_HAVE_MPI).
 *
 * `mpirun -n K cim sweep ...` starts K copies of cim; process 0 owns the
 * files, the messages and the progress line, the others run what it hands
 * them. MPI is initialized only when the program was launched by mpirun
 * (OMPI_COMM_WORLD_SIZE or PMI_SIZE in the environment): a plain `cim sweep`
 * never pays for, nor prints anything of, a singleton MPI start.
 *
 *     struct cli_mpi mp;
 *     int rc = cli_mpi_start(&mp, "sweep");
 *     if (rc != CLI_EXIT_OK) return rc;
 *     cli_mpi_mute(&mp, 1);            processes > 0 stay silent while parsing
 *     ...
 *     return cli_mpi_end(&mp, rc);
 *
 * Messages are byte strings with a tag. Waiting sleeps between looks at the
 * queue (a blocking MPI receive spins a core that a computing process needs).
 * A failed MPI call ends the job (MPI's default error handler), as a crashed
 * process does.
 */
#ifndef CIM_CLI_MPI_PROCS_H
#define CIM_CLI_MPI_PROCS_H

#include <stddef.h>

struct cli_mpi {
    int rank, size;  /* 0 and 1 when not launched by mpirun */
    int local_size;  /* processes on this machine */
    int on;          /* MPI was initialized */
    int saved_out, saved_err; /* muted stdout and stderr (-1: not muted) */
};

/* Initialize MPI when launched by mpirun and cim has it. CLI_EXIT_OK, or
 * CLI_EXIT_USAGE after one line (from process 0 only) when mpirun started
 * several processes of a cim built without MPI: each would run the whole
 * command. `cmd` names the command in that line. */
int cli_mpi_start(struct cli_mpi *mp, const char *cmd);

/* Finalize MPI (if started); returns rc, the process's exit status. */
int cli_mpi_end(struct cli_mpi *mp, int rc);

/* mute 1: on processes > 0, send stdout and stderr to /dev/null (they parse the
 * same arguments as process 0 and would repeat its messages); mute 0 restores
 * them. Nothing on process 0. */
void cli_mpi_mute(struct cli_mpi *mp, int mute);

/* Agree on an outcome: every process passes its exit status and, when it is
 * not CLI_EXIT_OK, its one-line message (printed by process 0 only if its own
 * status was OK, prefixed by the process number; the others' messages are
 * theirs to print). Returns the largest status of all processes. */
int cli_mpi_agree(const struct cli_mpi *mp, int rc, const char *msg);

/* Send len bytes to process `to` with `tag`. */
void cli_mpi_send(const struct cli_mpi *mp, int to, int tag, const void *buf, size_t len);

/* Whether a message with `tag` is waiting (from any process, or from `from`
 * when from >= 0); if so, its sender and length. */
int cli_mpi_poll(const struct cli_mpi *mp, int from, int tag, int *sender, size_t *len);

/* Wait (sleeping 1 ms between looks) for a message with `tag` as
 * cli_mpi_poll() describes it. */
void cli_mpi_wait(const struct cli_mpi *mp, int from, int tag, int *sender, size_t *len);

/* Receive the message of exactly len bytes from `from` with `tag`. */
void cli_mpi_recv(const struct cli_mpi *mp, int from, int tag, void *buf, size_t len);

#endif
