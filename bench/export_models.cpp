// qforge_export_models: qforge's own ONNX exports of models at their ImageNet form (3x224x224,
// 1000 classes), random-initialised by qforge's initialisers (seed 1), BatchNorm statistics at
// their initial values (mean 0, variance 1), as `qforge export` writes an FP32 checkpoint: the
// "qforge's own exports" rows of bench/infer_bench.sh.
//
//   qforge_export_models --out DIR [--models mobilenet_v1,mobilenet_v2,resnet50]
//
// Writes DIR/<model>_qforge.onnx. A bad option ends with one line on stderr and exit code 2.
#include <cstdio>
#include <sstream>
#include <string>

#include "io/onnx_export.h"
#include "launch/lib/builtin_ops.h"
#include "models/registry.h"
#include "nn/param_store.h"
#include "quant/convert.h"

int main(int argc, char** argv) {
  std::string out, models = "mobilenet_v1,mobilenet_v2,resnet50";
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc || (k != "--out" && k != "--models")) {
      std::fprintf(stderr, "qforge_export_models: unknown option or missing value '%s' (allowed: "
                   "--out DIR, --models A,B,...)\n", k.c_str());
      return 2;
    }
    (k == "--out" ? out : models) = argv[++i];
  }
  if (out.empty()) {
    std::fprintf(stderr, "qforge_export_models: --out DIR is required\n");
    return 2;
  }
  try {
    qf::install_builtin_ops();
    qf::CpuContext ctx(1);
    std::stringstream list(models);
    for (std::string name; std::getline(list, name, ',');) {
      const qf::Graph g = qf::build_model(qf::imagenet_form(name));
      qf::ParamStore store(g, ctx, 1);
      const std::string file = out + "/" + name + "_qforge.onnx";
      qf::export_onnx(qf::inference_graph(g, store.state_dict()), file);
      std::printf("wrote %s\n", file.c_str());
    }
  } catch (const qf::InputError& e) {
    std::fprintf(stderr, "qforge_export_models: %s\n", e.what());
    return 2;
  }
  return 0;
}
