// Ctrl-C handling for long runs (training): while an InterruptGuard lives, SIGINT and SIGTERM only set
// a flag that the work loop polls between steps (so it can save a checkpoint and stop cleanly). A
// second SIGINT/SIGTERM while the flag is set restores the default action and re-raises: the process
// ends at once. The guard restores the previous handlers when it goes out of scope.
#pragma once
#include <string>

#include "core/error.h"

namespace vg {

// Thrown by stages that stopped on an interrupt after saving what they had (exit status 130).
class Interrupted : public Error {
 public:
  explicit Interrupted(const std::string& msg) : Error(msg) {}
};

// The exit status of a process ended by SIGINT, as shells report it.
constexpr int kInterruptedExitCode = 130;

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
// As if `sig` had arrived (tests, and code that wants the same clean stop).
void request_interrupt(int sig);
// Forgets an earlier interrupt.
void clear_interrupt();

}  // namespace vg
