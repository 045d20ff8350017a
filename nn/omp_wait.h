// How long idle OpenMP threads spin before they sleep, for programs that compute (qforge, the
// benchmarks). Threads that finish a parallel region early wait for the others; libgomp's default
// (OMP_WAIT_POLICY unset) spins up to 300000 times first. On a quiet machine that saves a wake-up
// per region, but when other processes share the cores (data loaders, another rank, an evaluation
// job) the spinning threads burn the time slices the thread they wait for needs, and each barrier
// can wait a scheduler period: on 2 cores beside 2 busy processes MobileNetV1 inference fell 3-4x
// where ONNX Runtime fell about 2x (bench/load_bench.sh, bench/RESULTS.md). 10000 spins keep the
// quiet-machine speed and sleep soon enough to share the cores.
#pragma once

namespace qf {

constexpr const char* kOmpSpinCount = "10000";

// libgomp reads its settings once, when it is loaded, before main(), and offers no call to change
// them later: so when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, this sets GOMP_SPINCOUNT
// and re-executes the program (/proc/self/exe, same arguments) before anything else has run; the
// re-executed process removes it again, so that child processes (PyTorch peers, tools) see the
// environment as the user left it. A user's own setting wins. Where the re-execution fails it
// returns and the program runs on with libgomp's default. Call it first thing in main().
void use_short_omp_spin(char** argv);

}  // namespace qf
