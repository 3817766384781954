/* mpi_procs.c: cim's MPI calls, and what stands in for them without MPI; see mpi_procs.h. */
#include "cli/mpi_procs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "cim_config.h"
#include "cli/cli.h"

#if CIM_HAVE_MPI
#include <mpi.h>
#endif

/* The value of the first of the environment variables that is set, or -1. */
static long env_long(const char *a, const char *b)
{
    const char *v = getenv(a);
    if (v == NULL)
        v = getenv(b);
    return v != NULL ? strtol(v, NULL, 10) : -1;
}

int cli_mpi_start(struct cli_mpi *mp, const char *cmd)
{
    *mp = (struct cli_mpi){.rank = 0, .size = 1, .local_size = 1, .saved_out = -1,
                           .saved_err = -1};
    const long size = env_long("OMPI_COMM_WORLD_SIZE", "PMI_SIZE");
    if (size < 0)
        return CLI_EXIT_OK; /* not launched by mpirun: no MPI at all */
#if CIM_HAVE_MPI
    int provided;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    mp->on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &mp->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mp->size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &mp->local_size);
    MPI_Comm_free(&local);
    (void)cmd;
    return CLI_EXIT_OK;
#else
    if (size > 1) {
        if (env_long("OMPI_COMM_WORLD_RANK", "PMI_RANK") <= 0)
            cli_usage_error(cmd, "started by mpirun with %ld processes, but this cim is built "
                            "without MPI (install libopenmpi-dev and rebuild; meson option "
                            "mpi): each would run the whole %s", size, cmd);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
#endif
}

int cli_mpi_end(struct cli_mpi *mp, int rc)
{
    cli_mpi_mute(mp, 0);
#if CIM_HAVE_MPI
    if (mp->on)
        MPI_Finalize();
#endif
    mp->on = 0;
    return rc;
}

void cli_mpi_mute(struct cli_mpi *mp, int mute)
{
    if (mp->rank == 0)
        return;
    fflush(stdout);
    fflush(stderr);
    if (mute && mp->saved_out < 0) {
        const int null = open("/dev/null", O_WRONLY);
        if (null < 0)
            return;
        mp->saved_out = dup(1);
        mp->saved_err = dup(2);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    } else if (!mute && mp->saved_out >= 0) {
        dup2(mp->saved_out, 1);
        dup2(mp->saved_err, 2);
        close(mp->saved_out);
        close(mp->saved_err);
        mp->saved_out = mp->saved_err = -1;
    }
}

int cli_mpi_agree(const struct cli_mpi *mp, int rc, const char *msg)
{
#if CIM_HAVE_MPI
    if (!mp->on)
        return rc;
    struct {
        int rc;
        char msg[CIM_ERR_MSG_MAX];
    } mine = {rc, ""}, *all = NULL;
    snprintf(mine.msg, sizeof mine.msg, "%s", msg != NULL ? msg : "");
    if (mp->rank == 0 && (all = calloc((size_t)mp->size, sizeof *all)) == NULL)
        MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_FAIL);
    MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, 0,
               MPI_COMM_WORLD);
    int worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    for (int i = 1; mp->rank == 0 && rc == CLI_EXIT_OK && i < mp->size; i++)
        if (all[i].rc != CLI_EXIT_OK) { /* the first failure process 0 did not share */
            fprintf(stderr, "cim: process %d of %d: %s\n", i, mp->size, all[i].msg);
            break;
        }
    free(all);
    return worst;
#else
    (void)mp;
    (void)msg;
    return rc;
#endif
}

#if CIM_HAVE_MPI

void cli_mpi_send(const struct cli_mpi *mp, int to, int tag, const void *buf, size_t len)
{
    (void)mp;
    MPI_Send(buf, (int)len, MPI_BYTE, to, tag, MPI_COMM_WORLD);
}

int cli_mpi_poll(const struct cli_mpi *mp, int from, int tag, int *sender, size_t *len)
{
    (void)mp;
    int flag = 0, count = 0;
    MPI_Status st;
    MPI_Iprobe(from >= 0 ? from : MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &flag, &st);
    if (!flag)
        return 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    *sender = st.MPI_SOURCE;
    *len = (size_t)count;
    return 1;
}

void cli_mpi_recv(const struct cli_mpi *mp, int from, int tag, void *buf, size_t len)
{
    (void)mp;
    MPI_Recv(buf, (int)len, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

#else /* one process: nobody to talk to; the sweep never calls these */

void cli_mpi_send(const struct cli_mpi *mp, int to, int tag, const void *buf, size_t len)
{
    (void)mp, (void)to, (void)tag, (void)buf, (void)len;
}

int cli_mpi_poll(const struct cli_mpi *mp, int from, int tag, int *sender, size_t *len)
{
    (void)mp, (void)from, (void)tag, (void)sender, (void)len;
    return 0;
}

void cli_mpi_recv(const struct cli_mpi *mp, int from, int tag, void *buf, size_t len)
{
    (void)mp, (void)from, (void)tag, (void)buf, (void)len;
}

#endif

void cli_mpi_wait(const struct cli_mpi *mp, int from, int tag, int *sender, size_t *len)
{
    const struct timespec ms = {0, 1000000};
    while (!cli_mpi_poll(mp, from, tag, sender, len))
        nanosleep(&ms, NULL);
}
