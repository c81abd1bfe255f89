#include "interrupt.hpp"

#include <csignal>

namespace brink {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) { g_interrupted.store(true, std::memory_order_relaxed); }

}  // namespace

void catch_interruptions() {
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) std::signal(signal, on_interrupt);
  std::signal(SIGPIPE, SIG_IGN);
}

std::atomic<bool>& interruption_flag() { return g_interrupted; }

}  // namespace brink
