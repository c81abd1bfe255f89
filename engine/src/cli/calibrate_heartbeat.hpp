// A heartbeat within a generation of `brink calibrate`, on the terms of `brink
// run`'s progress (progress.hpp): a line redrawn in place on a terminal,
// periodic lines otherwise, nothing with --quiet. A generation can take
// minutes, and its summary line comes only at its end. Private to the cli
// module (included by calibrate_generations.cpp only).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "progress.hpp"

namespace brink {

// Runs while one generation is simulated; its thread alone writes to `err`
// meanwhile, and the destructor stops it (clearing a drawn line) before the
// generation's own line is printed.
class GenerationHeartbeat {
 public:
  // `candidates` returns the candidates simulated so far (by this process);
  // a line is printed every `lines_every` (kLines) or redrawn every 100 ms (kBar).
  GenerationHeartbeat(std::ostream& err, ProgressStyle style, std::function<std::int64_t()> candidates, int generation,
                      int planned, std::int64_t particles, std::chrono::milliseconds lines_every)
      : err_(err),
        style_(style),
        candidates_(std::move(candidates)),
        generation_(generation),
        planned_(planned),
        particles_(particles),
        every_(style == ProgressStyle::kBar ? std::chrono::milliseconds(100) : lines_every),
        start_(std::chrono::steady_clock::now()),
        before_(candidates_ ? candidates_() : 0) {
    if (style_ != ProgressStyle::kNone) thread_ = std::thread([this] { beat(); });
  }
  GenerationHeartbeat(const GenerationHeartbeat&) = delete;
  GenerationHeartbeat& operator=(const GenerationHeartbeat&) = delete;
  ~GenerationHeartbeat() {
    if (!thread_.joinable()) return;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (drawn_) err_ << "\r\x1b[K" << std::flush;  // the generation's line takes the bar's place
  }

 private:
  void beat() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, every_, [this] { return done_; })) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      const std::string text =
          fmt::format("generation {}/{}: {} candidates simulated for {} particles, elapsed {:.0f} s", generation_,
                      planned_ - 1, candidates_() - before_, particles_, seconds);
      if (style_ == ProgressStyle::kBar) {
        err_ << "\r" << text << "\x1b[K" << std::flush;
        drawn_ = true;
      } else {
        err_ << "progress: " << text << "\n" << std::flush;
      }
    }
  }

  std::ostream& err_;
  ProgressStyle style_;
  std::function<std::int64_t()> candidates_;
  int generation_, planned_;
  std::int64_t particles_;
  std::chrono::milliseconds every_;
  std::chrono::steady_clock::time_point start_;
  std::int64_t before_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false, drawn_ = false;
  std::thread thread_;
};

}  // namespace brink
