// The process's MPI library state. Under mpirun, MPI is initialised when the run's communicator is
// made (start_mpi, which make_communicator calls once the configuration, and so dist.timeout_s, is
// known) and finalised when main()'s MpiSession ends. A plain `qforge` never initialises MPI.
//
// Neither end may hang. MPI_Init_thread returns only once every rank has reached it, and Open MPI's
// MPI_Finalize waits for every rank too, so a rank that stopped (SIGSTOP, a stalled file system, a
// debugger) or ended without MPI would keep the others there forever, where no collective watchdog
// exists yet (or any more). Both therefore run under a watchdog of their own (comm/watchdog.h) with
// the same timeout: when it expires, the waiting rank says which rank it is and what it waited in,
// and exits with code 4, upon which mpirun ends every rank of the job, a stopped one included.
// (MPI_Abort is no way out there: it may not be called before MPI_Init_thread has returned.)
//
// abort_job is the way out for a rank that failed: it ends every rank of the job (MPI_Abort, which
// makes mpirun kill the others) so that nobody waits forever in a collective, and simply exits
// when MPI is not running.
#pragma once

namespace qf {

class MpiSession {
 public:
  MpiSession();  // InputError under mpirun with several ranks in a build without MPI
  ~MpiSession();  // MPI_Finalize when MPI was started, within start_mpi's timeout
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

// Under mpirun, unless MPI runs already: initialises MPI (MPI_THREAD_MULTIPLE: gradient sums
// travel on a communication thread while the training thread issues its own collectives), waiting
// at most `timeout_s` (<= 0: without limit) for the other ranks. Outside mpirun: nothing.
void start_mpi(double timeout_s);
// True when this qforge was built with MPI.
bool mpi_built();
// True between MPI_Init_thread and MPI_Finalize.
bool mpi_running();
// Ends the whole job with `exit_code` (MPI_Abort when MPI runs, else _Exit). stderr is flushed.
[[noreturn]] void abort_job(int exit_code);

}  // namespace qf
