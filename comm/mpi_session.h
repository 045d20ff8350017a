// The process's MPI library state. main() holds one MpiSession for the whole run: under mpirun
// its constructor initialises MPI (MPI_THREAD_MULTIPLE: gradient sums travel on a communication
// thread while the training thread issues its own collectives) and its destructor finalises it;
// a plain `qforge` never initialises MPI.
//
// abort_job is the way out for a rank that failed: it ends every rank of the job (MPI_Abort, which
// makes mpirun kill the others) so that nobody waits forever in a collective, and simply exits
// when MPI is not running.
#pragma once

namespace qf {

class MpiSession {
 public:
  MpiSession();  // InputError under mpirun with several ranks in a build without MPI
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  bool active() const { return initialised_; }

 private:
  bool initialised_ = false;
};

// True when this qforge was built with MPI.
bool mpi_built();
// True between MPI_Init_thread and MPI_Finalize.
bool mpi_running();
// Ends the whole job with `exit_code` (MPI_Abort when MPI runs, else _Exit). stderr is flushed.
[[noreturn]] void abort_job(int exit_code);

}  // namespace qf
