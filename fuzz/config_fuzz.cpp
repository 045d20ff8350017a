// Fuzz target: a run configuration as `qforge train/qat` reads it — an INI file (`--config`) and
// command-line arguments over it, bound to every key of the run configuration
// (launch/lib/run_config.h), validated, the device parsed. The input is the INI text,
// then, after a NUL byte, command-line arguments separated by NUL bytes.
#include "fuzz/fuzz_check.h"
#include "launch/lib/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  const size_t nul = all.find('\0');
  const std::string ini = all.substr(0, nul);
  std::vector<std::string> args;
  for (size_t at = nul; at != std::string::npos && at < all.size();) {
    const size_t next = all.find('\0', at + 1);
    args.push_back(
        all.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1));
    at = next;
  }
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") return 0;  // prints the key list and exits, by design
  static const std::string path = qf::fuzz::scratch_dir() + "/run.ini";
  qf::fuzz::write_file(path, data, ini.size());
  args.insert(args.begin(), {"--config", path});
  qf::fuzz::expect_success_or_input_error([&] {
    qf::ConfigSchema schema;
    qf::RunConfig c;
    qf::bind_run_config(schema, c);
    schema.parse_args(args);
    qf::apply_model_form(schema, c);
    schema.validate();
    qf::parse_device(c.run.device);
  });
  return 0;
}
