#include "trainer/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "nn/error.h"

namespace qf {
namespace {

double after_warmup(const ScheduleConfig& s, double base, double e, double total) {
  if (s.type == "constant") return base;
  if (s.type == "piecewise") {
    double lr = base;
    for (double m : s.milestones)
      if (e >= m) lr *= s.gamma;
    return lr;
  }
  if (s.type == "cosine") {
    const double span = std::max(total - s.warmup_epochs, 1e-12);
    const double t = std::clamp((e - s.warmup_epochs) / span, 0.0, 1.0);
    return s.min_lr + (base - s.min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  throw_input_error("schedule.type: '", s.type, "' is not allowed (allowed: constant, piecewise, cosine)");
}

}  // namespace

double learning_rate(const ScheduleConfig& s, double base_lr, double epoch, double total_epochs) {
  if (s.warmup_epochs > 0 && epoch < s.warmup_epochs) {
    const double target = after_warmup(s, base_lr, s.warmup_epochs, total_epochs);
    return s.warmup_start_lr + (target - s.warmup_start_lr) * (epoch / s.warmup_epochs);
  }
  return after_warmup(s, base_lr, epoch, total_epochs);
}

}  // namespace qf
