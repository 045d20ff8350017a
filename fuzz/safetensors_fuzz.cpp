// Fuzz target: a safetensors file as `--init w.safetensors` and checkpoints read it
// (io/safetensors.h: header length, JSON header with its nesting limit, dtypes, shapes, offsets).
#include "fuzz/fuzz_check.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = qf::fuzz::scratch_dir() + "/model.safetensors";
  qf::fuzz::write_file(path, data, size);
  qf::fuzz::expect_success_or_input_error([&] {
    qf::StringMap metadata;
    qf::load_safetensors(path, &metadata);
  });
  return 0;
}
