// Rank 0's side of a distributed run: it sends the job, then serves the other
// ranks' block requests from the one scheduler (through execute()'s
// RemoteWorkers hook) and hands their finished blocks to the sink.
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

class RemoteRanks : public RemoteWorkers {
 public:
  explicit RemoteRanks(const mpi::Session& session) : wanted_(session.size(), 0) {}

  std::vector<BlockResult> poll(const std::function<std::optional<BlockSpec>()>& next) override {
    std::vector<BlockResult> arrived;
    for (mpi::Arrival a = mpi::probe(); a.any; a = mpi::probe()) {
      const std::vector<std::uint8_t> bytes = mpi::receive(a);
      switch (a.tag) {
        case mpi::kRequest:
          wanted_[a.source] += mpi::as_int(bytes);
          break;
        case mpi::kResult:
          arrived.push_back(decode_block_result(bytes));
          ++wanted_[a.source];
          break;
        case mpi::kFailure:
          throw std::runtime_error(std::string(bytes.begin(), bytes.end()));
        default:
          throw std::runtime_error(fmt::format("rank {} sent an unexpected message (tag {})", a.source, a.tag));
      }
    }
    // Round-robin over the ranks that want blocks, so that every rank is fed.
    for (bool handed = true; handed;) {
      handed = false;
      for (std::size_t r = 1; r < wanted_.size(); ++r) {
        if (wanted_[r] == 0) continue;
        const std::optional<BlockSpec> spec = next();
        if (!spec) return arrived;
        WireWriter out;
        out.put(spec->point);
        out.put(spec->first_replication);
        out.put(static_cast<std::int64_t>(spec->count));
        const std::vector<std::uint8_t> message = out.take();
        mpi::send(static_cast<int>(r), mpi::kBlock, message);
        --wanted_[r];
        handed = true;
      }
    }
    return arrived;
  }

 private:
  std::vector<std::int64_t> wanted_;  // per rank: blocks asked for and not yet sent
};

// Measures the sink's time per block on rank 0 (BRINK_MPI_TIMING=1 prints it
// to stderr at the end): the writer's ceiling in docs/architecture.md.
class TimedSink : public ResultSink {
 public:
  explicit TimedSink(ResultSink& inner) : inner_(inner) {}
  ~TimedSink() override {
    if (blocks_ > 0)
      std::cerr << fmt::format("brink mpi timing: rank 0 stored {} blocks, {:.3f} ms per block\n", blocks_,
                               1e3 * seconds_ / static_cast<double>(blocks_));
  }
  void encode(BlockResult& block) const override { inner_.encode(block); }
  void consume(BlockResult&& block) override {
    const auto start = std::chrono::steady_clock::now();
    inner_.consume(std::move(block));
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++blocks_;
  }
  void point_finished(std::int64_t point, std::int64_t replications) override {
    const auto start = std::chrono::steady_clock::now();
    inner_.point_finished(point, replications);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  ResultSink& inner_;
  double seconds_ = 0.0;
  std::int64_t blocks_ = 0;
};

void send_job(const mpi::Session& session, const SweepPlan& plan, const RunJob& job) {
  WireWriter out;
  out.put_vector(encode_job(job));
  out.put_string(kernel().isa);  // every rank runs the path rank 0 chose
  out.put(plan_fingerprint(plan));
  const std::vector<std::uint8_t> message = out.take();
  for (int r = 1; r < session.size(); ++r) mpi::send(r, mpi::kJob, message);
}

}  // namespace

void execute_run(const SweepPlan& plan, int threads, ResultSink& sink, const ProgressFn& progress,
                 BlockScheduler* scheduler, const std::atomic<bool>* stop, const RunJob& job) {
  const mpi::Session* session = mpi::current_session();
  const char* timing = std::getenv("BRINK_MPI_TIMING");
  if (!session || session->size() == 1) {
    if (!timing) return execute(plan, threads, sink, progress, scheduler, stop);
    TimedSink timed(sink);
    return execute(plan, threads, timed, progress, scheduler, stop);
  }
  send_job(*session, plan, job);
  RemoteRanks remote(*session);
  if (!timing) return execute(plan, threads, sink, progress, scheduler, stop, &remote);
  TimedSink timed(sink);
  execute(plan, threads, timed, progress, scheduler, stop, &remote);
}

}  // namespace brink
