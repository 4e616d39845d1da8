// Where a training step's time goes (issue 14's profile): every N-th step the device is synchronised at each
// stage boundary and the wall time since the previous boundary is added to that stage, so each stage's figure
// is its own work (kernels and host code) and the steps in between run undisturbed. Also counts, over the
// profiled steps, tensor allocations on the GPU and copies with a host side (host synchronisations).
#pragma once
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cuda_memory.h"
#include "core/device.h"

namespace vg {

class StageProfiler {
 public:
  // every: profile steps with (step + every / 2) % every == 0, half-way between multiples of `every` so that
  // periodic work on those multiples (the trainer's refinement every 100 steps) stays out (0: off, every call a no-op).
  StageProfiler(Device device, int every);

  bool enabled() const { return every_ > 0; }
  // Starts step `step` (profiled or not); end() closes it.
  void begin(int step);
  // In a profiled step: synchronise, then the time since the previous mark (or begin) goes to `stage`.
  void mark(const char* stage);
  void end();
  // In a profiled step: adds v to the quantity `name` (e.g. tile intersections), reported as a mean per profiled step.
  void count(const char* name, double v);

  int profiled_steps() const { return steps_; }
  // Per stage in first-seen order: mean milliseconds per profiled step.
  std::vector<std::pair<std::string, double>> ms_per_step() const;
  double allocs_per_step() const { return steps_ ? static_cast<double>(allocs_) / steps_ : 0.0; }
  double host_copies_per_step() const { return steps_ ? static_cast<double>(host_copies_) / steps_ : 0.0; }
  // A table: stage, ms / step, share; then the step total, allocations and host copies per step.
  std::string table() const;
  nlohmann::json to_json() const;

 private:
  void sync() const;
  Device device_;
  int every_;
  bool active_ = false;
  int steps_ = 0;
  std::chrono::steady_clock::time_point last_;
  std::map<std::string, double> seconds_;
  std::vector<std::string> order_;
  std::map<std::string, double> counts_;
  CudaCounters at_begin_;
  uint64_t allocs_ = 0, host_copies_ = 0;
};

}  // namespace vg
