// Rank 0's side of a distributed run: it sends the job, then serves the other
// ranks' block requests from the one scheduler (through execute()'s
// RemoteWorkers hook) and hands their finished blocks to the sink.
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <fmt/format.h>

#include "brink/model/kernel_dispatch.hpp"
#include "brink/mpi/block_wire.hpp"
#include "brink/mpi/distributed.hpp"
#include "mpi_env.hpp"

namespace brink {
namespace {

// Rank 0's main-thread time, for BRINK_MPI_TIMING=1 (docs/architecture.md,
// "MPI"): receiving and decoding other ranks' blocks, and storing every block.
struct Timing {
  double receive_seconds = 0.0;
  std::int64_t received = 0;
  double store_seconds = 0.0;
  std::int64_t stored = 0;
  void print(std::ostream& err) const {
    if (stored == 0) return;
    err << fmt::format(
        "brink mpi timing (CPU time of rank 0's main thread): stored {} blocks, {:.3f} ms per block; "
        "received {} from other ranks, {:.3f} ms per block\n",
        stored, 1e3 * store_seconds / static_cast<double>(stored), received,
        received ? 1e3 * receive_seconds / static_cast<double>(received) : 0.0);
  }
};

// CPU time of the calling thread: what rank 0's main thread spends, whatever
// else the machine runs (the writer's ceiling is a CPU budget).
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

class RemoteRanks : public RemoteWorkers {
 public:
  RemoteRanks(const mpi::Session& session, Timing& timing, const std::atomic<bool>* stop)
      : wanted_(session.size(), 0), timing_(timing), stop_(stop) {}

  std::vector<BlockResult> poll(const std::function<std::vector<BlockSpec>()>& next) override {
    std::vector<BlockResult> arrived;
    for (mpi::Arrival a = mpi::probe(); a.any; a = mpi::probe()) {
      const double start = thread_seconds();
      const std::optional<std::vector<std::uint8_t>> received =
          mpi::receive_unless(a, [this] { return stop_ && stop_->load(); });
      if (!received) return arrived;  // stopped: execute() sees the flag next
      const std::vector<std::uint8_t>& bytes = *received;
      switch (a.tag) {
        case mpi::kRequest:
          wanted_[a.source] += mpi::as_int(bytes);
          break;
        case mpi::kResult:
          arrived.push_back(decode_block_result(bytes));
          ++wanted_[a.source];
          timing_.receive_seconds += thread_seconds() - start;
          ++timing_.received;
          break;
        case mpi::kFailure:
          throw std::runtime_error(std::string(bytes.begin(), bytes.end()));
        default:
          throw std::runtime_error(fmt::format("rank {} sent an unexpected message (tag {})", a.source, a.tag));
      }
    }
    // Round-robin over the ranks that want blocks, so that every rank is
    // fed. A block is handed out whole, even past what a rank asked for
    // (points of a chunk group run as one block): its points' results ask
    // for as many again.
    for (bool handed = true; handed;) {
      handed = false;
      for (std::size_t r = 1; r < wanted_.size(); ++r) {
        if (wanted_[r] <= 0) continue;
        const std::vector<BlockSpec> specs = next();
        if (specs.empty()) return arrived;
        mpi::send(static_cast<int>(r), mpi::kBlock, encode_block_specs(specs));
        wanted_[r] -= static_cast<std::int64_t>(specs.size());
        handed = true;
      }
    }
    return arrived;
  }

 private:
  std::vector<std::int64_t> wanted_;  // per rank: points' blocks asked for and not yet sent (below 0: sent ahead)
  Timing& timing_;
  const std::atomic<bool>* stop_;  // null: never stopped
};

// Times the sink's work on rank 0: the writer's ceiling.
class TimedSink : public ResultSink {
 public:
  TimedSink(ResultSink& inner, Timing& timing) : inner_(inner), timing_(timing) {}
  void encode(std::span<BlockResult> points) const override { inner_.encode(points); }
  void consume(BlockResult&& block) override {
    const double start = thread_seconds();
    inner_.consume(std::move(block));
    timing_.store_seconds += thread_seconds() - start;
    ++timing_.stored;
  }
  void point_finished(std::int64_t point, std::int64_t replications) override {
    const double start = thread_seconds();
    inner_.point_finished(point, replications);
    timing_.store_seconds += thread_seconds() - start;
  }

 private:
  ResultSink& inner_;
  Timing& timing_;
};

// Stops early (execute() then sees the flag and closes the file) when the
// run is stopped while a rank does not take the job: it died, and the
// launcher is ending the others.
void send_job(const mpi::Session& session, const SweepPlan& plan, const RunJob& job, const std::atomic<bool>* stop) {
  WireWriter out;
  out.put_vector(encode_job(job));
  out.put_string(kernel().isa);          // every rank runs the path rank 0 chose
  out.put_string(engine_fingerprint());  // and rank 0's build
  out.put(plan_fingerprint(plan));
  const std::vector<std::uint8_t> message = out.take();
  const auto stopped = [stop] { return stop && stop->load(); };
  for (int r = 1; r < session.size(); ++r)
    if (!mpi::send_unless(r, mpi::kJob, message, stopped)) return;
}

}  // namespace

void execute_run(const SweepPlan& plan, int threads, ResultSink& sink, const ProgressFn& progress,
                 BlockScheduler* scheduler, const std::atomic<bool>* stop, const RunJob& job) {
  const mpi::Session* session = mpi::current_session();
  const bool distributed = session && session->size() > 1;
  const char* timed = std::getenv("BRINK_MPI_TIMING");
  if (!distributed && !timed) return execute(plan, threads, sink, progress, scheduler, stop);
  Timing timing;
  TimedSink timed_sink(sink, timing);
  ResultSink& used = timed ? static_cast<ResultSink&>(timed_sink) : sink;
  if (!distributed) {
    execute(plan, threads, used, progress, scheduler, stop);
  } else {
    send_job(*session, plan, job, stop);
    RemoteRanks remote(*session, timing, stop);
    execute(plan, threads, used, progress, scheduler, stop, &remote);
  }
  if (timed) timing.print(std::cerr);
}

}  // namespace brink
