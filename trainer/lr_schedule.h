// Learning-rate schedules, evaluated every step at the fractional epoch e = step / steps_per_epoch:
//   constant   lr
//   piecewise  lr * gamma^(number of milestones <= e)      (PaddleSlim demos: [30, 60, 90], 0.1)
//   cosine     min_lr + (lr - min_lr) * (1 + cos(pi * (e - w) / (E - w))) / 2
// With warmup_epochs w > 0, the first w epochs ramp linearly from warmup_start_lr to the
// schedule's value at e = w (Goyal et al.'s linear warm-up).
#pragma once

#include <string>
#include <vector>

namespace qf {

struct ScheduleConfig {
  std::string type = "constant";   // constant | piecewise | cosine
  std::vector<double> milestones;  // piecewise, in epochs
  double gamma = 0.1;              // piecewise factor
  double min_lr = 0.0;             // cosine floor
  double warmup_epochs = 0.0;
  double warmup_start_lr = 0.0;
};

// Learning rate at fractional epoch `epoch` of a run of `total_epochs`.
double learning_rate(const ScheduleConfig& s, double base_lr, double epoch, double total_epochs);

}  // namespace qf
