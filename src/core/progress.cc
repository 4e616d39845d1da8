#include "core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace vg {

namespace {
std::string fmt_time(double s) {
  if (s < 0 || s > 1e7) return "--:--";
  long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  return buf;
}

void log_line(const char* level, const std::string& msg) {
  std::time_t now = std::time(nullptr);
  char ts[16];
  std::strftime(ts, sizeof ts, "%H:%M:%S", std::localtime(&now));
  std::fprintf(stderr, "[vgsplat %s]%s %s\n", ts, level, msg.c_str());
}
}  // namespace

void log_info(const std::string& msg) { log_line("", msg); }
void log_warn(const std::string& msg) { log_line(" warning:", msg); }

ProgressBar::ProgressBar(std::string label, long long total)
    : label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()), last_draw_(start_),
      tty_(isatty(fileno(stderr))) {}

ProgressBar::~ProgressBar() {
  if (!finished_ && step_ > 0) finish();
}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(long long step, const std::string& fields) {
  step_ = step;
  if (!fields.empty()) fields_ = fields;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.1 : 5.0) && step_ < total_) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish(const std::string& fields) {
  if (!fields.empty()) fields_ = fields;
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final) {
  double el = elapsed_seconds();
  double rate = el > 0 ? step_ / el : 0;
  double eta = rate > 0 ? (total_ - step_) / rate : -1;
  const int width = 24;
  int filled = total_ > 0 ? static_cast<int>(width * step_ / total_) : 0;
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "%s%s [%s] %lld/%lld %.1f it/s %s<%s %s%s", tty_ ? "\r\033[K" : "", label_.c_str(),
               bar.c_str(), step_, total_, rate, fmt_time(el).c_str(), fmt_time(eta).c_str(), fields_.c_str(),
               (tty_ && !final) ? "" : "\n");
  std::fflush(stderr);
}

}  // namespace vg
