#include "launch/lib/model_source.h"

#include <filesystem>

#include "launch/lib/onnx_weights.h"
#include "launch/lib/setup.h"
#include "nn/param_store.h"
#include "nn/op_registry.h"
#include "trainer/checkpoint.h"

namespace qf {

namespace {

// The width of output 0 (the logits), by shape inference at batch 1.
int logits_width(const Graph& g) {
  const std::vector<TensorDesc> d = infer_graph(g, 1);
  const Shape& y = d[g.outputs()[0]].shape;
  if (y.size() != 2)
    throw_input_error("the model's output 0 has shape ", shape_str(y), "; a classifier's logits are "
                      "(N, classes)");
  return static_cast<int>(y[1]);
}

bool names_model_file(const std::string& v) {
  return (v.size() > 5 && v.compare(v.size() - 5, 5, ".onnx") == 0) ||
         (!find_model(v) && std::filesystem::is_regular_file(v));
}

}  // namespace

LoadedModel model_with_onnx_weights(ConfigSchema& schema, RunConfig& c, Console& console) {
  apply_model_form(schema, c);
  schema.validate();
  LoadedModel m;
  m.graph = build_model(c.model);
  const auto ctx = make_context(Device::cpu(), c.run.threads);
  ParamStore store(m.graph, *ctx, c.train.seed);
  load_initial_weights(store, c.run.init, console, false);
  bake_weights(m.graph, store.state_dict(), "--init " + c.run.init);
  m.source = c.run.init;
  m.sample_shape = {c.model.in_channels, c.model.image_size, c.model.image_size};
  m.num_classes = c.model.num_classes;
  console.info(str_cat("model: ", c.model.name, " with the weights of ", c.run.init));
  return m;
}

std::string take_model_file(std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    for (const char* key : {"--model", "--model.name"}) {
      const std::string k = key;
      if (a == k && i + 1 < args.size() && names_model_file(args[i + 1])) {
        std::string file = args[i + 1];
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                   args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
        return file;
      }
      if (a.rfind(k + "=", 0) == 0 && names_model_file(a.substr(k.size() + 1))) {
        std::string file = a.substr(k.size() + 1);
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
        return file;
      }
    }
  }
  return "";
}

void bake_weights(Graph& g, const std::map<std::string, Tensor>& state, const std::string& what) {
  for (int v = 0; v < g.num_values(); ++v) {
    Value& val = g.value(v);
    if (val.kind != ValueKind::param && val.kind != ValueKind::buffer) continue;
    auto it = state.find(val.name);
    if (it == state.end()) throw_input_error(what, ": has no tensor '", val.name, "'");
    if (it->second.shape() != val.shape)
      throw_input_error(what, ": tensor '", val.name, "' has shape ", shape_str(it->second.shape()),
                        ", the model expects ", shape_str(val.shape));
    val.init = Init::from(it->second.clone());
  }
}

std::map<std::string, Tensor> graph_weights(const Graph& g) {
  std::map<std::string, Tensor> m;
  for (const Value& v : g.values())
    if ((v.kind == ValueKind::param || v.kind == ValueKind::buffer) && v.init.kind == Init::Kind::data)
      m[v.name] = v.init.data;
  return m;
}

void check_data_fits(const Dataset& data, const Shape& sample, const std::string& model) {
  if (data.sample_shape() != sample)
    throw_input_error("the data (", data.describe(), ") has samples of shape ",
                      shape_str(data.sample_shape()), ", the model ", model, " takes ",
                      shape_str(sample));
}

LoadedModel load_model(const std::string& command, const std::string& model_file,
                       ConfigSchema& schema, RunConfig& c, Console& console) {
  LoadedModel m;
  if (!model_file.empty()) {
    if (!c.run.init.empty())
      throw_input_error(command, ": --model ", model_file, " and --init ", c.run.init,
                        " both name a model; give one");
    m.graph = import_onnx(model_file, {}, &m.onnx);
    m.source = model_file;
    m.from_onnx = true;
    const Shape& s = m.graph.value(m.graph.value_id("image")).shape;
    m.sample_shape.assign(s.begin() + 1, s.end());
    m.num_classes = logits_width(m.graph);
    console.info(str_cat("model: ", model_file, " (ONNX opset ", m.onnx.opset, ", ",
                         m.onnx.quantized ? "quantized QDQ" : "float", ", ", m.graph.nodes().size(),
                         " nodes, from ", m.onnx.producer, ")"));
    schema.validate();
    return m;
  }
  if (c.run.init.empty())
    throw_input_error(command, ": say which model with --model FILE.onnx or --init CHECKPOINT");
  if (is_onnx_path(c.run.init)) return model_with_onnx_weights(schema, c, console);
  const Checkpoint ck = load_checkpoint(c.run.init);
  adopt_checkpoint_model(schema, ck.config);
  apply_model_form(schema, c);
  schema.validate();
  m.graph = build_model(c.model);
  bake_weights(m.graph, ck.model, "--init " + c.run.init);
  m.source = c.run.init;
  m.sample_shape = {c.model.in_channels, c.model.image_size, c.model.image_size};
  m.num_classes = c.model.num_classes;
  console.info(str_cat("model: ", c.model.name, " from ", c.run.init));
  return m;
}

}  // namespace qf
