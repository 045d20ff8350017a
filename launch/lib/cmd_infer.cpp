// qforge infer: runs a model on raw float32 tensors — the interop check against other runtimes
// (scripts feed the same bytes to ONNX Runtime and compare).
//   --input FILE   float32 little-endian, samples in logical (N, C, H, W) order as numpy and ONNX
//                  Runtime hold them; N = file size / sample size
//   --output FILE  the model's output 0 (logits), float32, (N, classes) row-major
// The model comes from --model FILE.onnx or --init CHECKPOINT (launch/lib/model_source.h); QDQ
// models run on the true int8 kernels unless --int8 false (then the Q/DQ ops run as written).
#include <cstdio>
#include <cstring>
#include <fstream>

#include "io/atomic_file.h"
#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/inference.h"
#include "launch/lib/model_source.h"
#include "launch/lib/setup.h"
#include "nn/input_file.h"

namespace qf {

// Inputs are read whole; 16 GiB of float32 samples is far more than any check needs.
constexpr uint64_t kMaxInputBytes = uint64_t{1} << 34;

int cmd_infer(const Args& in_args) {
  Args args = in_args;
  const std::string model_file = take_model_file(args);
  ConfigSchema schema;
  RunConfig c;
  bind_run_config(schema, c);
  InferenceOptions io;
  bind_inference_options(schema, io);
  std::string input, output;
  schema.add("infer.input", &input, "float32 input tensors, logical (N, C, H, W) order");
  schema.add("infer.output", &output, "where to write output 0 as float32");
  schema.alias("input", "infer.input");
  schema.alias("output", "infer.output");
  describe_command(schema, "infer");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("infer: unexpected argument '", positional[0], "'");
  if (input.empty() || output.empty())
    throw_input_error("infer: give --input FILE and --output FILE");
  check_output_file(output, "infer.output");
  LocalCommunicator comm;
  Console console = Console::for_rank(comm.rank());
  LoadedModel m = load_model("infer", model_file, schema, c, console);
  auto ctx = open_device(c.run, console);

  const std::string bytes_in = read_input_file(input, "infer: --input", kMaxInputBytes);
  const int64_t bytes = static_cast<int64_t>(bytes_in.size());
  const int64_t per = numel(m.sample_shape) * 4;
  if (bytes <= 0 || bytes % per)
    throw_input_error("infer: --input ", input, " has ", bytes, " bytes, not a whole number of ",
                      shape_str(m.sample_shape), " float32 samples (", per, " bytes each)");
  const int64_t n = bytes / per;
  Tensor all = Tensor::empty({n * per / 4}, DType::f32);
  std::memcpy(all.raw(), bytes_in.data(), static_cast<size_t>(bytes));
  if (const int64_t bad = first_nonfinite(all); bad >= 0)
    throw_input_error("infer: --input ", input, ": sample ", bad / (per / 4), " holds ",
                      all.data<float>()[bad], " at element ", bad % (per / 4),
                      " (allowed: finite values)");

  InferenceModel model(std::move(m.graph), *ctx, io, console);
  std::vector<float> out;
  console.release();
  const int64_t b = c.data.eval_batch_size;
  for (int64_t s = 0; s < n; s += b) {
    const int64_t k = std::min(b, n - s);
    Tensor chunk = all.view(static_cast<size_t>(s * per), {k * per / 4}, DType::f32);
    const Tensor& y = model.run_logical(chunk, k);
    out.insert(out.end(), y.data<float>(), y.data<float>() + y.numel());
  }
  write_file_atomically(output, [&](const std::string& tmp) {
    std::ofstream o(tmp, std::ios::binary);
    o.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * 4));
    if (!o) throw_input_error("infer: cannot write ", tmp);
  });
  console.info(str_cat("infer: ", n, " samples -> ", output, " (", out.size() / n, " values each)"));
  return 0;
}

}  // namespace qf
