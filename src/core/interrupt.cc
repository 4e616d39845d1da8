#include "core/interrupt.h"

#include <atomic>
#include <csignal>

namespace vg {

namespace {

std::atomic<int> g_signal{0};  // lock-free on every target we build for: safe to touch in a handler
std::atomic<int> g_depth{0};   // live guards

static_assert(std::atomic<int>::is_always_lock_free, "the interrupt flag must be lock-free");

extern "C" void on_interrupt(int sig) {
  if (g_signal.load() != 0) {  // the second one: leave now, with the default action of the signal
    std::signal(sig, SIG_DFL);
    std::raise(sig);           // delivered when this handler returns (the signal is blocked inside it)
    return;
  }
  g_signal.store(sig);
}

}  // namespace

struct InterruptGuard::Saved {
  struct sigaction old_int {}, old_term {};
};

InterruptGuard::InterruptGuard() : saved_(new Saved) {
  if (g_depth.fetch_add(1) == 0) g_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and writes in flight carry on
  sigaction(SIGINT, &sa, &saved_->old_int);
  sigaction(SIGTERM, &sa, &saved_->old_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &saved_->old_int, nullptr);
  sigaction(SIGTERM, &saved_->old_term, nullptr);
  g_depth.fetch_sub(1);
  delete saved_;
}

bool interrupted() { return g_signal.load() != 0; }
int interrupt_signal() { return g_signal.load(); }
int interrupt_exit_code() { return 128 + (g_signal.load() != 0 ? g_signal.load() : SIGINT); }
void request_interrupt(int sig) { g_signal.store(sig); }
void clear_interrupt() { g_signal.store(0); }

}  // namespace vg
