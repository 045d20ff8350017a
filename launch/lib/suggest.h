// "Did you mean": the valid names closest to a mistyped one, for the one-line error that an unknown
// command, option or config key gets.
//
// Closeness is the optimal-string-alignment edit distance (insertions, deletions, substitutions and
// swaps of two neighbouring characters, each costing 1) after folding case and treating '-' and '_'
// alike, so `--batch_size` finds `--batch-size`. Dotted names are also compared part by part: the
// part after the section and the last part, of the typed name and of each candidate, so a key under
// the wrong section finds its namesakes (`--train.batch_size` finds `--data.batch_size`). Only
// names within a distance of about a third of the typed part's length count: far-off names are
// noise, not help. Two more ways to be close: words whose initials spell the candidate
// (`--optimizer.learning_rate` finds `--optimizer.lr`), and a prefix or suffix of four or more
// characters (`--eval-batch` and `--data.batch_size` find `--data.eval_batch_size`).
#pragma once

#include <string>
#include <vector>

namespace qf {

// Edit distance between `a` and `b` as defined above (case and '-'/'_' folded).
int edit_distance(const std::string& a, const std::string& b);

// Up to `max` names of `candidates` closest to `name`, closest first (ties in candidate order);
// empty when none is close.
std::vector<std::string> closest_names(const std::string& name,
                                       const std::vector<std::string>& candidates, size_t max = 3);

// "; did you mean --a, --b or --c?" for the closest candidates, each written with `prefix`; "" when
// none is close.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates,
                         const std::string& prefix = "");
// The same sentence for suggestions already chosen.
std::string did_you_mean(const std::vector<std::string>& suggestions, const std::string& prefix);

}  // namespace qf
