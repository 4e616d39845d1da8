// A one-line progress bar on stderr: step/total, it/s, ETA and free-form fields (loss, #GS, memory).
// Redraws at most ~10 times a second on a terminal; on a pipe it prints a line every few seconds.
#pragma once
#include <chrono>
#include <string>

namespace vg {

class ProgressBar {
 public:
  ProgressBar(std::string label, long long total);
  ~ProgressBar();
  // Advances to `step` (1-based count of finished steps); `fields` is appended, e.g. "loss=0.031 GS=120k".
  void update(long long step, const std::string& fields = "");
  void finish(const std::string& fields = "");
  double elapsed_seconds() const;

 private:
  void draw(bool final);
  std::string label_, fields_;
  long long total_, step_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool tty_, finished_ = false;
};

// Logs one line to stderr with a time stamp ("[vgsplat 12:01:02] ...").
void log_info(const std::string& msg);
void log_warn(const std::string& msg);

}  // namespace vg
