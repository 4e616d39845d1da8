#include "core/stage_profiler.h"

#include <algorithm>
#include <cstdio>

namespace vg {

StageProfiler::StageProfiler(Device device, int every) : device_(device), every_(std::max(every, 0)) {}

void StageProfiler::sync() const {
  if (device_.is_cuda()) cuda_synchronize();
}

void StageProfiler::begin(int step) {
  // half-way between multiples of N: steps like the trainer's refinement ones (every 100th) stay out of the sample
  active_ = every_ > 0 && (step + every_ / 2) % every_ == 0;
  if (!active_) return;
  sync();
  at_begin_ = cuda_counters();
  last_ = std::chrono::steady_clock::now();
}

void StageProfiler::mark(const char* stage) {
  if (!active_) return;
  sync();
  const auto now = std::chrono::steady_clock::now();
  auto [it, fresh] = seconds_.try_emplace(stage, 0.0);
  if (fresh) order_.push_back(stage);
  it->second += std::chrono::duration<double>(now - last_).count();
  last_ = now;
}

void StageProfiler::count(const char* name, double v) {
  if (active_) counts_[name] += v;
}

void StageProfiler::end() {
  if (!active_) return;
  mark("other");
  const CudaCounters c = cuda_counters();
  allocs_ += c.allocs - at_begin_.allocs;
  host_copies_ += c.host_copies - at_begin_.host_copies;
  ++steps_;
  active_ = false;
}

std::vector<std::pair<std::string, double>> StageProfiler::ms_per_step() const {
  std::vector<std::pair<std::string, double>> out;
  for (const std::string& s : order_) out.emplace_back(s, steps_ ? 1e3 * seconds_.at(s) / steps_ : 0.0);
  return out;
}

std::string StageProfiler::table() const {
  const auto rows = ms_per_step();
  double total = 0;
  for (const auto& [s, ms] : rows) total += ms;
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "%-24s %10s %7s\n", "stage", "ms/step", "share");
  out += line;
  for (const auto& [s, ms] : rows) {
    std::snprintf(line, sizeof line, "%-24s %10.3f %6.1f%%\n", s.c_str(), ms, total > 0 ? 100.0 * ms / total : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-24s %10.3f  (%d profiled steps, device synchronised at each stage)\n", "step",
                total, steps_);
  out += line;
  std::snprintf(line, sizeof line, "GPU allocations / step %.1f, host copies / step %.1f\n", allocs_per_step(),
                host_copies_per_step());
  out += line;
  for (const auto& [name, v] : counts_) {
    std::snprintf(line, sizeof line, "%s / step %.0f\n", name.c_str(), steps_ ? v / steps_ : 0.0);
    out += line;
  }
  return out;
}

nlohmann::json StageProfiler::to_json() const {
  nlohmann::json stages = nlohmann::json::array();
  double total = 0;
  for (const auto& [s, ms] : ms_per_step()) stages.push_back({{"stage", s}, {"ms_per_step", ms}}), total += ms;
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& [name, v] : counts_) counts[name] = steps_ ? v / steps_ : 0.0;
  return {{"profiled_steps", steps_},  {"every", every_}, {"per_step", counts},
          {"step_ms", total},          {"stages", stages},
          {"gpu_allocations_per_step", allocs_per_step()},
          {"host_copies_per_step", host_copies_per_step()}};
}

}  // namespace vg
