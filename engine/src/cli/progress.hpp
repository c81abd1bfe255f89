// Progress of a run on stderr: a bar redrawn in place on a terminal, and
// periodic lines otherwise, so that a batch job's log shows how far the run
// is. Private to the cli module (included by cli.cpp only).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "brink/sweep/executor.hpp"

namespace brink {

// Forwards to the recorder and counts what a progress line reports: the
// points finished and the replications run. Both are updated on the sink's
// thread, which also calls the progress function; the progress heartbeat
// reads them from its own.
class CountingSink : public ResultSink {
 public:
  explicit CountingSink(ResultSink& inner) : inner_(inner) {}
  void encode(std::span<BlockResult> points) const override { inner_.encode(points); }
  void consume(BlockResult&& block) override {
    replications_ += block.spec.count;
    inner_.consume(std::move(block));
  }
  void point_finished(std::int64_t point, std::int64_t replications) override {
    ++points_;
    inner_.point_finished(point, replications);
  }
  // A resumed run's finished work counts toward its points, not its rate.
  void add_restored_point() { ++points_; }
  std::int64_t points() const { return points_; }
  std::int64_t replications() const { return replications_; }

 private:
  ResultSink& inner_;
  std::atomic<std::int64_t> points_ = 0, replications_ = 0;
};

enum class ProgressStyle : std::uint8_t { kNone, kBar, kLines };

class Progress {
 public:
  // `lines_every`: the longest wait between two lines (kLines); a line is also
  // printed at each further tenth of the blocks. `adaptive`: the total of
  // blocks grows with each round the adaptive rule adds, so the fraction is of
  // the blocks planned so far and the ETA a lower bound, and the lines say so.
  Progress(std::ostream& err, ProgressStyle style, const CountingSink& counts, std::int64_t points, int steps,
           std::chrono::milliseconds lines_every, bool adaptive = false)
      : err_(err),
        style_(style),
        counts_(counts),
        points_(points),
        steps_(steps),
        every_(lines_every),
        adaptive_(adaptive),
        start_(std::chrono::steady_clock::now()),
        simulating_(start_),
        last_(start_) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() { stop_heartbeat(); }

  // Simulation starts with `done` of `total` blocks already done (a resumed
  // run's, read back meanwhile): the rate and the ETA count from here, and
  // only the blocks done from here (the read-back is not simulation). The
  // tenths already done print no line: a line at the first block would
  // extrapolate the ETA from one block's start-up.
  //
  // With lines, a heartbeat prints the last line's figures again whenever
  // `lines_every` passes without one: one long block, or an MPI rank that
  // stalls, would otherwise leave the log silent. stop_heartbeat() ends it
  // (the destructor too) before the sink it counts from goes.
  void begin(std::int64_t done, std::int64_t total) {
    {
      const std::lock_guard lock(mutex_);
      simulating_ = std::chrono::steady_clock::now();
      last_ = simulating_;
      last_block_ = simulating_;
      done_before_ = done;
      done_ = done;
      total_ = total;
      last_tenth_ = total > 0 ? static_cast<int>(10.0 * static_cast<double>(done) / static_cast<double>(total)) : 0;
    }
    if (style_ == ProgressStyle::kLines && !heartbeat_.joinable()) heartbeat_ = std::thread([this] { beat(); });
  }

  void stop_heartbeat() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (heartbeat_.joinable()) heartbeat_.join();
  }

  void update(std::int64_t done, std::int64_t total) {
    if (style_ == ProgressStyle::kNone) return;
    const std::lock_guard lock(mutex_);
    done_ = done;
    total_ = total;
    const auto now = std::chrono::steady_clock::now();
    last_block_ = now;
    const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    if (style_ == ProgressStyle::kBar) {
      if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
      last_ = now;
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(fraction * kWidth);
      err_ << fmt::format("\r[{}{}] {:5.1f}%  {}  ", std::string(filled, '#'), std::string(kWidth - filled, ' '),
                          100.0 * fraction, figures(now, done, total))
           << std::flush;
      if (done == total) err_ << "\n";
      return;
    }
    const int tenth = static_cast<int>(fraction * 10.0);
    if (done < total && tenth <= last_tenth_ && now - last_ < every_) return;
    if (done == total && printed_final_) return;
    last_tenth_ = tenth;
    printed_final_ = done == total;
    print_line(now, "");
  }

  // Ends a bar cut short (an interrupt) so that the next message starts a line.
  void interrupted() {
    stop_heartbeat();
    if (style_ == ProgressStyle::kBar) err_ << "\n";
  }

  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  // Seconds since simulation began (begin): a resume's read-back excluded.
  double simulating() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - simulating_).count();
  }

 private:
  // A line with the figures of the last update and `note` (the mutex held).
  void print_line(std::chrono::steady_clock::time_point now, const std::string& note) {
    last_ = now;
    const double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    err_ << fmt::format("progress: {:5.1f}% of blocks{}, {} of {} points done, {}{}\n", 100.0 * fraction,
                        adaptive_ ? " planned so far" : "", counts_.points(), points_, figures(now, done_, total_),
                        note)
         << std::flush;
  }

  void beat() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, every_, [this] { return stopping_; })) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_ < every_ || printed_final_) continue;
      const double waiting = std::chrono::duration<double>(now - last_block_).count();
      print_line(now, fmt::format(", no block finished for {:.0f} s", waiting));
    }
  }

  // The ETA extrapolates the blocks done since simulation began; an adaptive
  // sweep's total grows as it decides to run more.
  std::string figures(std::chrono::steady_clock::time_point now, std::int64_t done, std::int64_t total) const {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double simulating = std::chrono::duration<double>(now - simulating_).count();
    const double rate = simulating > 0 ? static_cast<double>(counts_.replications()) * steps_ / simulating : 0.0;
    const std::int64_t progressed = done - done_before_;
    if (progressed <= 0 && done < total)  // no block yet to extrapolate from
      return fmt::format("elapsed {:.0f} s, ETA unknown until a block finishes", seconds);
    const double eta =
        progressed > 0 ? simulating * static_cast<double>(total - done) / static_cast<double>(progressed) : 0.0;
    return fmt::format("{:.3g} replication-steps/s, elapsed {:.0f} s, ETA {}{:.0f} s", rate, seconds,
                       adaptive_ && done < total ? "at least " : "", eta);
  }

  std::ostream& err_;
  ProgressStyle style_;
  const CountingSink& counts_;
  std::int64_t points_;
  int steps_;
  std::chrono::milliseconds every_;
  bool adaptive_ = false;
  std::chrono::steady_clock::time_point start_, simulating_, last_;
  std::chrono::steady_clock::time_point last_block_ = start_;  // the last update's (a block finished)
  std::int64_t done_before_ = 0;                               // blocks done when simulation began
  std::int64_t done_ = 0, total_ = 0;                          // the last update's
  int last_tenth_ = 0;
  bool printed_final_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread heartbeat_;
};

}  // namespace brink
