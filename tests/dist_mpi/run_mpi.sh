#!/bin/bash
# run_mpi.sh N PROGRAM [ARGS...]: runs PROGRAM on N ranks with Open MPI's mpirun (as root, more
# ranks than cores allowed). Exit 77, which ctest reports as skipped, when mpirun is missing (a failure under QF_REQUIRE_OPTIONAL=1).
n=$1
shift
mpirun=${QF_MPIRUN:-mpirun}
. "$(dirname "$0")/../skip_unless.sh"
skip_unless command -v "$mpirun" -- "mpirun not found (Debian: openmpi-bin)"
exec "$mpirun" --allow-run-as-root --oversubscribe -np "$n" "$@"
