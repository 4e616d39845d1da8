// Ctrl-C handling for long runs (training): while an InterruptGuard lives, SIGINT and SIGTERM only set
// a flag that the work loop polls between steps (so it can save a checkpoint and stop cleanly). A
// second SIGINT/SIGTERM while the flag is set restores the default action and re-raises: the process
// ends at once. The guard restores the previous handlers when it goes out of scope.
#pragma once
#include <csignal>
#include <string>

#include "core/error.h"

namespace vg {

// The exit status of a process ended by SIGINT, as shells report it.
constexpr int kInterruptedExitCode = 130;

// Thrown by stages that stopped on an interrupt after saving what they had; exit_code() is 128 + the
// signal (130 for SIGINT, 143 for SIGTERM), as shells report a process ended by it.
class Interrupted : public Error {
 public:
  explicit Interrupted(const std::string& msg, int sig = SIGINT) : Error(msg), sig_(sig) {}
  int signal() const { return sig_; }
  int exit_code() const { return 128 + sig_; }

 private:
  int sig_;
};

class InterruptGuard {
 public:
  InterruptGuard();   // installs the handlers (the outermost guard also clears the flag)
  ~InterruptGuard();  // restores the handlers that were there before
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct Saved;
  Saved* saved_;
};

// True once SIGINT/SIGTERM arrived under a guard (or request_interrupt was called).
bool interrupted();
// The signal that set the flag (SIGINT, SIGTERM), 0 when none.
int interrupt_signal();
// 128 + interrupt_signal() (130 when none was recorded).
int interrupt_exit_code();
// As if `sig` had arrived (tests, and code that wants the same clean stop).
void request_interrupt(int sig);
// Forgets an earlier interrupt.
void clear_interrupt();

}  // namespace vg
