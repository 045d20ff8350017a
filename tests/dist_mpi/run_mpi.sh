#!/bin/sh
# run_mpi.sh N PROGRAM [ARGS...]: runs PROGRAM on N ranks with Open MPI's mpirun (as root, more
# ranks than cores allowed). Exit 77, which ctest reports as skipped, when mpirun is missing.
n=$1
shift
mpirun=${QF_MPIRUN:-mpirun}
if ! command -v "$mpirun" >/dev/null 2>&1; then
  echo "mpirun not found: skipping"
  exit 77
fi
exec "$mpirun" --allow-run-as-root --oversubscribe -np "$n" "$@"
