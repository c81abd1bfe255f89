#include "worker.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "brink/io/variables.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/mpi/block_wire.hpp"
#include "brink/mpi/distributed.hpp"
#include "brink/sweep/executor.hpp"
#include "brink/sweep/plan.hpp"

namespace brink::mpi {
namespace {

std::atomic<bool> g_signalled{false};
extern "C" void on_worker_signal(int) { g_signalled = true; }

// After a signal, how long a rank waits for rank 0 to end the run before it
// reports the signal itself: the launcher signals every rank at once, and
// rank 0's own message ("interrupted; ... --resume") is the one to print.
constexpr auto kSignalGrace = std::chrono::milliseconds(500);

std::string host_name() {
  char name[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  return MPI_Get_processor_name(name, &length) == MPI_SUCCESS ? std::string(name, length) : std::string("?");
}

// Waits for kJob or kExit from rank 0. Returns the job's bytes, or nothing
// with *exit_code set.
std::optional<std::vector<std::uint8_t>> wait_for_job(int* exit_code) {
  for (;;) {
    const Arrival a = probe(0);
    if (!a.any) {
      pause();
      continue;
    }
    std::vector<std::uint8_t> bytes = receive(a);
    if (a.tag == kJob) return bytes;
    if (a.tag == kExit) {
      *exit_code = as_int(bytes);
      return std::nullopt;
    }
  }
}

// Discards everything rank 0 sends until kExit; returns its code.
int wait_for_exit() {
  for (;;) {
    const Arrival a = probe(0);
    if (!a.any) {
      pause();
      continue;
    }
    const std::vector<std::uint8_t> bytes = receive(a);
    if (a.tag == kExit) return as_int(bytes);
  }
}

// The blocks this rank runs: its threads simulate them and queue the encoded
// results; the main thread alone talks to rank 0.
class BlockRunner {
 public:
  BlockRunner(const SweepPlan& plan, int threads) : plan_(plan), encoder_(plan) {
    kernel();  // load it now, so that a missing kernel is reported before any block
    for (int t = 0; t < threads; ++t) pool_.emplace_back([this] { work(); });
  }
  ~BlockRunner() { stop(); }
  // One block to simulate: the specs of the points that share it (one
  // unless points share blocks), as rank 0's scheduler formed it.
  void add(std::vector<BlockSpec> block) {
    std::lock_guard lock(mutex_);
    inbox_.push_back(std::move(block));
    wake_.notify_all();
  }
  // A finished block's bytes, if any is ready.
  std::optional<std::vector<std::uint8_t>> take_result() {
    std::lock_guard lock(mutex_);
    if (outbox_.empty()) return std::nullopt;
    std::vector<std::uint8_t> bytes = std::move(outbox_.front());
    outbox_.pop_front();
    return bytes;
  }
  std::optional<std::string> failure() {
    std::lock_guard lock(mutex_);
    return failure_;
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      halt_ = true;
      wake_.notify_all();
    }
    for (auto& t : pool_)
      if (t.joinable()) t.join();
  }
  const std::atomic<bool>* halt_flag() const { return &halt_; }

 private:
  void work() {
    try {
      const KernelTable& k = kernel();
      std::vector<BlockSpec> specs;
      BlockResult shared;
      std::vector<BlockResult> results(1);
      for (;;) {
        {
          std::unique_lock lock(mutex_);
          wake_.wait(lock, [&] { return stopping_ || !inbox_.empty(); });
          if (stopping_) return;
          specs = std::move(inbox_.front());
          inbox_.pop_front();
        }
        if (specs.size() == 1) {
          results.resize(1);
          results[0] = plan_.simulate(k, specs[0], &halt_);
          if (results[0].interrupted) return;
        } else {
          // Points of few replications share a block (SweepPlan::points_per_block).
          plan_.simulate_points(k, specs, &halt_, shared, results);
          if (shared.interrupted) return;
        }
        send_back(results);
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = e.what();
    }
  }

  // Encodes a finished block's points and queues their bytes for rank 0, in order.
  void send_back(std::span<BlockResult> results) {
    encoder_.encode(results);
    std::vector<std::vector<std::uint8_t>> messages;
    for (BlockResult& result : results) {
      if (encoder_.writes_runs()) {
        // Rank 0 stores the per-replication time series from their
        // compressed chunks alone (its summaries use the record sums), so
        // the raw series, most of a block's bytes, stay here.
        result.ts_forces.clear();
        result.ts_rung.clear();
        result.ts_tension.clear();
        result.ts_belief.clear();
      }
      messages.push_back(encode_block_result(result));
    }
    std::lock_guard lock(mutex_);
    for (auto& bytes : messages) outbox_.push_back(std::move(bytes));
  }

  const SweepPlan& plan_;
  ChunkEncoder encoder_;
  std::atomic<bool> halt_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<std::vector<BlockSpec>> inbox_;
  std::deque<std::vector<std::uint8_t>> outbox_;
  std::optional<std::string> failure_;
  std::vector<std::thread> pool_;
};

struct Job {
  RunJob run;
  std::string isa;
  std::string engine;  // rank 0's engine_fingerprint()
  std::uint64_t fingerprint = 0;
};

Job decode(const std::vector<std::uint8_t>& bytes) {
  WireReader in(bytes, "the job sent by rank 0");
  Job job;
  job.run = decode_job(in.get_vector<std::uint8_t>());
  job.isa = in.get_string();
  job.engine = in.get_string();
  job.fingerprint = in.get<std::uint64_t>();
  in.expect_end();
  return job;
}

// Runs the job until rank 0 sends kExit; returns its code. Throws when this
// rank cannot go on (the caller reports it to rank 0).
int run_blocks(const Job& job, PlanFn plan_of) {
  try {
    select_kernel(job.isa);
  } catch (const IsaUnavailable& e) {
    throw std::runtime_error(
        fmt::format("it cannot run the {} kernel path rank 0 chose ({}); name a path every node runs with --isa",
                    job.isa, e.what()));
  }
  if (job.engine != engine_fingerprint())
    throw std::runtime_error(fmt::format(
        "it is another brink build than rank 0 (engine sources {} against rank 0's {}; brink --version shows them): "
        "run one brink binary on every rank",
        engine_fingerprint(), job.engine));
  const SweepPlan plan = plan_of(job.run);
  if (plan_fingerprint(plan) != job.fingerprint)
    throw std::runtime_error("it built a different sweep plan from the job than rank 0 did");
  const int threads = job.run.threads > 0 ? std::min(job.run.threads, max_threads()) : usable_cpus();
  BlockRunner runner(plan, std::max(1, threads));
  // One block queued beyond those running, so that a thread never waits for
  // rank 0; a thread's whole shared block of points of few replications.
  // (The count is of points: each point's result asks for one more.)
  send_int(0, kRequest, threads * plan.points_per_block() + 1);
  std::optional<std::chrono::steady_clock::time_point> signalled_at;
  for (;;) {
    bool idle = true;
    for (Arrival a = probe(0); a.any; a = probe(0)) {
      idle = false;
      const std::vector<std::uint8_t> bytes = receive(a);
      if (a.tag == kExit) return as_int(bytes);
      if (a.tag == kBlock) runner.add(decode_block_specs(bytes));
    }
    while (auto result = runner.take_result()) {
      idle = false;
      send(0, kResult, *result);  // also asks for the next block
    }
    if (auto failure = runner.failure()) throw std::runtime_error(*failure);
    if (g_signalled && !signalled_at) {
      signalled_at = std::chrono::steady_clock::now();
      runner.stop();
    }
    if (signalled_at && std::chrono::steady_clock::now() - *signalled_at > kSignalGrace)
      // Rank 0 ends the sentence with what its partial file keeps and how to go on.
      throw std::runtime_error("it was stopped by a signal");
    if (idle) pause();
  }
}

}  // namespace

struct ChunkEncoder::Impl {
  FileLayout layout;
  std::vector<const VariableSpec*> variables;  // as Hdf5Writer keeps them: block_variables
};

ChunkEncoder::ChunkEncoder(const SweepPlan& plan) : impl_(std::make_unique<Impl>()) {
  impl_->layout = file_layout(plan);
  for (const VariableSpec& v : variable_table())
    if (v.storage == Storage::kBlockChunks && impl_->layout.present(v)) impl_->variables.push_back(&v);
}

ChunkEncoder::~ChunkEncoder() = default;

bool ChunkEncoder::writes_runs() const { return !impl_->variables.empty(); }

void ChunkEncoder::encode(std::span<BlockResult> points) const {
  encode_chunks(impl_->layout, impl_->variables, points);
}

int serve_as_worker(const Session& session, PlanFn plan_of) {
  std::signal(SIGINT, on_worker_signal);
  std::signal(SIGTERM, on_worker_signal);
  int code = 1;
  if (auto bytes = wait_for_job(&code)) {
    try {
      code = run_blocks(decode(*bytes), plan_of);
    } catch (const std::exception& e) {
      const std::string sentence = fmt::format("rank {} on {}: {}", session.rank(), host_name(), e.what());
      send(0, kFailure, std::span(reinterpret_cast<const std::uint8_t*>(sentence.data()), sentence.size()));
      code = wait_for_exit();
    }
  }
  send(0, kBye, {});
  return code;
}

}  // namespace brink::mpi
