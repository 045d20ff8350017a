// Fuzz target: a checkpoint's state.json as `train --resume`, `eval --init` and `export` read it —
// the JSON (with its nesting limit), the progress fields, and the saved configuration's model keys
// taken over into a run configuration (launch/lib/run_config.h), which then builds the model.
#include "fuzz/fuzz_check.h"
#include "launch/lib/run_config.h"
#include "trainer/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qf::fuzz::expect_success_or_input_error([&] {
    qf::Checkpoint ck;
    qf::parse_checkpoint_state(text, "fuzz/state.json", ck);
    qf::ConfigSchema schema;
    qf::RunConfig c;
    qf::bind_run_config(schema, c);
    qf::adopt_checkpoint_model(schema, ck.config);
    qf::apply_model_form(schema, c);
    schema.validate();
    qf::build_model(c.model);
  });
  return 0;
}
