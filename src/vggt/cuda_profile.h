// VGSPLAT_VGGT_PROFILE=2: seconds per (scope, op) of one CUDA forward, synchronised after every launch (slower:
// for the breakdown only). Every interval since the last tick goes to the op named by the next tick, so the rows
// add up to the forward's time. Shared by the VGGT engine and the other CUDA transformers (cuda_vit.h).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/cuda_memory.h"

namespace vg::vggt {

class OpProfile {
 public:
  using Clock = std::chrono::steady_clock;
  explicit OpProfile(bool on) : on_(on), last_(Clock::now()) {}
  void scope(const char* s) { scope_ = s; }
  void tick(const char* op) {
    if (!on_) return;
    cuda_synchronize();
    const auto now = Clock::now();
    auto& e = acc_[std::string(scope_) + "." + op];
    e.first += std::chrono::duration<double>(now - last_).count();
    e.second += 1;
    last_ = now;
  }
  void print(int64_t S) const {
    if (!on_) return;
    double total = 0;
    std::vector<std::pair<double, std::string>> rows;
    std::map<std::string, double> by_op;  // summed over scopes
    for (const auto& [k, v] : acc_) {
      total += v.first;
      rows.emplace_back(v.first, k);
      by_op[k.substr(k.find('.') + 1)] += v.first;
    }
    std::sort(rows.rbegin(), rows.rend());
    for (const auto& [sec, k] : rows)
      std::fprintf(stderr, "[vggt ops] S=%lld %-22s %8.4f s %5.1f%%  n=%lld\n", static_cast<long long>(S), k.c_str(), sec,
                   100.0 * sec / std::max(total, 1e-12), static_cast<long long>(acc_.at(k).second));
    for (const auto& [op, sec] : by_op)
      std::fprintf(stderr, "[vggt ops] S=%lld all.%-18s %8.4f s %5.1f%%\n", static_cast<long long>(S), op.c_str(), sec,
                   100.0 * sec / std::max(total, 1e-12));
    std::fprintf(stderr, "[vggt ops] S=%lld total %.4f s\n", static_cast<long long>(S), total);
  }

 private:
  bool on_;
  Clock::time_point last_;
  const char* scope_ = "misc";
  std::map<std::string, std::pair<double, int64_t>> acc_;
};

}  // namespace vg::vggt
