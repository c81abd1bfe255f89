#include "interrupt.hpp"

#include <csignal>

namespace brink {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) { g_interrupted.store(true, std::memory_order_relaxed); }

}  // namespace

void catch_interruptions() {
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
    // A signal ignored from the start stays ignored, as in standard tools:
    // `nohup` ignores SIGHUP, and a shell ignores SIGINT for a job it runs in
    // the background, so that neither a closed terminal nor Ctrl-C stops it.
    struct sigaction previous {};
    if (::sigaction(signal, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    action.sa_flags = SA_RESTART;  // as std::signal had it: an interrupted read or write goes on
    ::sigemptyset(&action.sa_mask);
    ::sigaction(signal, &action, nullptr);
  }
  std::signal(SIGPIPE, SIG_IGN);
}

std::atomic<bool>& interruption_flag() { return g_interrupted; }

}  // namespace brink
