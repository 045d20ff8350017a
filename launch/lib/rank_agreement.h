// Ranks of one job must run the same thing: the same command, configuration, model and data
// sizes. Ranks that do not (an MPMD launch with another --model on one rank, a node whose dataset
// copy is shorter) would otherwise fail in the first broadcast with MPI_ERR_TRUNCATE, reported as
// an internal error, or worse, train on silently. So before a run's first real collective each rank
// summarises its run as labelled facts, rank 0's facts are sent to every rank, each rank compares
// its own with them, and a difference is an input error that names the rank, the fact and both
// values:
//   ranks disagree: rank 1 has model.name = resnet18, rank 0 has model.name = lenet (...)
// Only the lowest differing rank prints it (and ends the job); the others wait to be ended.
//
// Facts that may differ per rank are left out: paths (a dataset or checkpoint may be mounted at
// another place on each node; what is read from them is compared instead: sample counts and
// shapes, the model's tensors) and per-process settings (run.device, run.threads, data.workers,
// data.prefetch, data.check_files, the data.max_* bounds).
//
// The facts travel as bytes in host all-reduces (max over ranks, rank 0 alone contributing), which
// every backend offers, and cost a few kilobytes once per run.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "launch/lib/config_schema.h"
#include "nn/communicator.h"
#include "nn/graph.h"
#include "nn/param_store.h"
#include "trainer/checkpoint.h"

namespace qf {

class RunFacts {
 public:
  void add(const std::string& label, const std::string& value);
  // The command name and every configuration key except the per-rank ones listed above.
  void add_config(const std::string& command, const ConfigSchema& schema);
  // "N tensors, V values, layout <hash of names, shapes and dtypes>".
  void add_model(const ParamStore& store);
  void add_model(const Graph& graph);  // its parameters and buffers
  // "N samples of CxHxW, K classes".
  void add_data(const std::string& label, const Dataset& data);

  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }
  // One "label\tvalue\n" line per fact (labels and values hold no tab or newline).
  std::string serialize() const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Collective. Returns when every rank's facts equal rank 0's; otherwise the lowest differing rank
// throws InputError (see the top) and the others wait for the job to end (at most `timeout_s`, or
// a minute when that is 0, then they end it themselves).
void check_ranks_agree(Communicator& comm, const RunFacts& mine, double timeout_s);

// The facts of a training run (train, qat): configuration, model, both datasets, and where a
// resume starts ("none" without one).
RunFacts training_facts(const std::string& command, const ConfigSchema& schema,
                        const ParamStore& store, const Dataset& train, const Dataset& test,
                        const TrainState* resume);

// Where two serialized fact lists first differ, "" when they are equal: "model.name = resnet18"
// vs "... = lenet", phrased for `rank` against rank 0.
std::string first_difference(const std::string& mine, const std::string& root, int rank);

}  // namespace qf
