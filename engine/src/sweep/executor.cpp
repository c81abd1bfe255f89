#include "brink/sweep/executor.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "brink/model/kernel_dispatch.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

BlockScheduler::BlockScheduler(const SweepPlan& plan)
    : plan_(plan),
      points_(plan.points.size()),
      block_(plan.rule.adaptive ? 0 : static_cast<std::size_t>(plan.total_blocks()), kWaiting),
      grown_(plan.rule.adaptive ? plan.points.size() : 0),
      counts_(plan.rule.adaptive ? plan.points.size() : 0) {
  const std::int64_t first_round =
      plan.rule.adaptive ? (plan.rule.min + kBlockLanes - 1) / kBlockLanes : plan.blocks_per_point();
  for (std::size_t i = 0; i < points_.size(); ++i) {
    PointState& p = points_[i];
    if (!plan.runs_point(static_cast<std::int64_t>(i))) {  // another shard's: nothing to run here
      p.finished = true;
      ++points_finished_;
      continue;
    }
    p.target = static_cast<std::int32_t>(std::min(first_round, plan.blocks_per_point()));
    blocks_planned_ += p.target;
  }
}

std::optional<std::pair<std::int64_t, std::int64_t>> BlockScheduler::lowest_runnable() {
  // Point-major order: a point completes as early as possible, so few points
  // are in flight and memory does not grow with the sweep.
  for (std::int64_t p = first_open_; p < static_cast<std::int64_t>(points_.size()); ++p) {
    PointState& point = points_[p];
    if (point.finished) {
      if (p == first_open_) ++first_open_;
      continue;
    }
    for (std::int64_t b = 0; b < point.target; ++b)
      if (block_state(p, b) == kWaiting) return std::pair{p, b};
  }
  return std::nullopt;
}

std::vector<BlockSpec> BlockScheduler::next_block(std::size_t most) {
  std::vector<BlockSpec> specs;
  const std::int64_t group = plan_.points_per_chunk();
  if (group > 1) most = static_cast<std::size_t>(group);
  most = std::min(most, static_cast<std::size_t>(std::max(1, plan_.points_per_block())));
  while (specs.size() < most) {
    const auto at = lowest_runnable();
    if (!at) break;
    const auto [p, b] = *at;
    if (!specs.empty()) {
      const std::int64_t first = specs.front().point;
      const bool fits = group > 1 ? p / group == first / group : plan_.share_a_block(first, p);
      if (b != 0 || !fits) break;
    }
    block_state(p, b) = kRunning;
    specs.push_back(plan_.block(p, b));
  }
  return specs;
}

bool BlockScheduler::complete(const BlockResult& result) {
  const std::int64_t p = result.spec.point;
  const std::int64_t b = result.spec.first_replication / kBlockLanes;
  PointState& point = points_[p];
  block_state(p, b) = kDone;
  ++blocks_completed_;
  point.replications += result.spec.count;
  if (!counts_.empty())
    for (std::int8_t o : result.outcome) ++counts_[static_cast<std::size_t>(p)][o];
  if (b < point.target) ++point.done_below_target;
  if (point.done_below_target < point.target) return false;
  end_round(p);
  return point.finished;
}

void BlockScheduler::end_round(std::int64_t p) {
  PointState& point = points_[p];
  const std::int64_t max_blocks = plan_.blocks_per_point();
  bool more = false;
  std::int64_t needed_blocks = point.target;
  if (plan_.rule.adaptive && point.target < max_blocks) {
    // Continue while any outcome's interval is wider than the target; size the
    // next round by the trials at which the same Wilson interval of the share
    // seen so far would be narrow enough (the normal approximation asked
    // 7,000 where 957 do for a share of 0 at h = 0.002).
    const double h = plan_.rule.ci_halfwidth;
    double needed = 0.0;
    for (std::int64_t k : counts_[static_cast<std::size_t>(p)]) {
      const Interval ci = wilson_interval(k, point.replications);
      if ((ci.upper - ci.lower) / 2 > h) more = true;
      needed = std::max(needed, wilson_trials_for_half_width(static_cast<double>(k) / point.replications, h));
    }
    needed_blocks = static_cast<std::int64_t>(std::ceil(needed / kBlockLanes));
  }
  if (!more) {
    point.finished = true;
    ++points_finished_;
    return;
  }
  const std::int64_t target = std::clamp(needed_blocks, std::int64_t{point.target} + 1, max_blocks);
  blocks_planned_ += target - point.target;
  for (std::int64_t b = point.target; b < target; ++b)
    if (block_state(p, b) == kDone) ++point.done_below_target;  // restored from a resumed file
  point.target = static_cast<std::int32_t>(target);
  if (p < first_open_) first_open_ = p;
  if (point.done_below_target == point.target) end_round(p);
}

int usable_cpus() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  const int cpus = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : 0;
  return cpus > 0 ? cpus : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int max_threads() { return 4 * usable_cpus(); }

void execute(const SweepPlan& plan, int threads, ResultSink& sink, const ProgressFn& progress,
             BlockScheduler* scheduler, const std::atomic<bool>* stop_flag, RemoteWorkers* remote) {
  BlockScheduler own(plan);
  BlockScheduler& schedule = scheduler ? *scheduler : own;
  // Resolved here, so that a kernel that fails to load is reported before any worker starts.
  const KernelTable& kernel_table = kernel();
  threads = std::clamp(threads, 1, max_threads());
  auto stop_requested = [&] { return stop_flag && stop_flag->load(); };
  // Bounded hand-off: workers wait when the writer falls behind, so memory
  // stays proportional to the thread count (a block with time series can
  // be megabytes), not to the sweep. Workers wake the writer once per
  // `batch` blocks, not per block: a wake-up is a system call and a switch
  // on both sides, several percent of the CPU time of a model whose blocks
  // take a millisecond.
  // A block of a summary-only run holds about a hundred kilobytes, so its
  // queue is at least 32 long: a few megabytes, and a quarter of the
  // wake-ups of one thread's writer (on a virtual machine, waking the idle
  // writer took 1.5% of a small model's CPU; 410 context switches of a
  // 400,000-replication run of bench/peer's model became 118).
  const bool small_blocks = !plan.write_runs && !plan.model(0).series();
  const std::size_t capacity = std::max<std::size_t>(2 * static_cast<std::size_t>(threads), small_blocks ? 32 : 8);
  const std::size_t batch = capacity / 2;

  std::mutex mutex;
  std::condition_variable work, ready, space;
  std::deque<BlockResult> queue;
  // Consumed blocks, handed back to the workers as the memory of their next
  // ones: a block's arrays are allocated by a worker and freed by this
  // thread otherwise, every block (3% of a small model's CPU in malloc).
  std::vector<BlockResult> spare;
  int running = threads;
  bool stop = false;
  std::exception_ptr failure;

  // Points of few replications run several to a block; each thread still
  // gets a share of a small sweep (unless the points' chunks fix the block).
  const std::int64_t share = (plan.points_run() + threads - 1) / threads;
  const std::size_t points_per_block =
      static_cast<std::size_t>(std::max<std::int64_t>(1, std::min<std::int64_t>(plan.points_per_block(), share)));

  // Encodes a simulated block's points and queues them for the writer; false once the run stops.
  auto hand_over = [&](std::span<BlockResult> results) {
    sink.encode(results);
    for (BlockResult& result : results) {
      std::unique_lock lock(mutex);
      space.wait(lock, [&] { return queue.size() < capacity || stop; });
      if (stop) return false;
      queue.push_back(std::move(result));
      if (queue.size() >= batch) ready.notify_one();
    }
    return true;
  };
  const std::size_t spare_limit =
      std::max(capacity, static_cast<std::size_t>(threads) * static_cast<std::size_t>(plan.points_per_block()));
  auto worker = [&] {
    try {
      std::vector<BlockSpec> specs;
      BlockResult shared;                // a shared block's memory, from one block to the next
      std::vector<BlockResult> results;  // its points' results
      for (;;) {
        BlockResult buffer;
        {
          std::unique_lock lock(mutex);
          // A point between rounds has nothing runnable until its round is
          // judged, which needs the writer to take the blocks queued so far.
          specs.clear();
          auto runnable = [&] {
            return stop || schedule.finished() || !(specs = schedule.next_block(points_per_block)).empty();
          };
          if (!runnable()) {
            ready.notify_one();
            work.wait(lock, runnable);
          }
          if (stop || specs.empty()) break;
          if (specs.size() == 1 && !spare.empty()) {
            buffer = std::move(spare.back());
            spare.pop_back();
          }
          for (results.clear(); specs.size() > 1 && results.size() < specs.size() && !spare.empty(); spare.pop_back())
            results.push_back(std::move(spare.back()));
        }
        // The kernel checks the stop flag between steps and returns interrupted, empty blocks.
        if (specs.size() == 1) {
          results.resize(1);
          results[0] = plan.simulate(kernel_table, specs.front(), stop_flag, std::move(buffer));
          if (results[0].interrupted) break;
        } else {
          plan.simulate_points(kernel_table, specs, stop_flag, shared, results);
          if (shared.interrupted) break;  // stopped between steps: nothing to hand over
        }
        if (!hand_over(results)) break;
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
      work.notify_all();
    }
    std::lock_guard lock(mutex);
    --running;
    ready.notify_all();
    space.notify_all();
  };

  std::vector<std::thread> pool;
  pool.reserve(threads);
  try {
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  } catch (const std::system_error& e) {
    {
      std::lock_guard lock(mutex);
      stop = true;
      running -= threads - static_cast<int>(pool.size());
      work.notify_all();
      space.notify_all();
    }
    for (auto& t : pool) t.join();
    // Fewer threads cannot help a run of one: a limit of this process stopped it (its stack is address space).
    throw std::runtime_error(fmt::format(
        "cannot start worker thread {} of {} ({}); {}", pool.size() + 1, threads, e.what(),
        threads > 1 ? "run with fewer --threads"
                    : "raise the limit that refused it ('ulimit -v' for address space, 'ulimit -u' for processes)"));
  }

  // Blocks finished by remote workers, consumed like the local ones, in
  // turn with them. Remote workers get a new block only when theirs arrive,
  // and none arrive while `capacity` wait here, so memory stays bounded.
  std::deque<BlockResult> arrived;
  bool remote_turn = false;
  auto poll_remote = [&] {
    if (!remote || arrived.size() >= capacity) return;
    auto next = [&]() -> std::vector<BlockSpec> {
      std::lock_guard lock(mutex);
      if (stop || schedule.finished()) return {};
      return schedule.next_block(static_cast<std::size_t>(plan.points_per_block()));
    };
    for (BlockResult& r : remote->poll(next)) arrived.push_back(std::move(r));
  };
  const auto wait_step = std::chrono::milliseconds(remote ? 1 : 50);

  try {
    for (;;) {
      poll_remote();
      std::unique_lock lock(mutex);
      // Polls the stop flag: a worker deep in a block cannot wake this wait.
      while (arrived.empty() && !ready.wait_for(lock, wait_step, [&] { return !queue.empty() || running == 0; })) {
        if (stop_requested()) break;
        if (remote) {
          lock.unlock();
          poll_remote();
          lock.lock();
        }
      }
      if (stop_requested()) break;
      BlockResult result;
      remote_turn = !remote_turn;
      if (!arrived.empty() && (remote_turn || queue.empty())) {
        result = std::move(arrived.front());
        arrived.pop_front();
      } else if (!queue.empty()) {
        result = std::move(queue.front());
        queue.pop_front();
        space.notify_one();
      } else {
        break;
      }
      if (stop) continue;  // drain without writing once something failed
      // The scheduler learns of the block first, so that a new round can start
      // while the block is being written.
      const std::int64_t point = result.spec.point;
      const bool point_done = schedule.complete(result);
      const std::int64_t replications = schedule.replications(point);
      const std::int64_t done = schedule.blocks_completed(), planned = schedule.blocks_planned();
      work.notify_all();
      lock.unlock();
      sink.consume(std::move(result));
      if (point_done) sink.point_finished(point, replications);
      if (progress) progress(done, planned);
      lock.lock();
      if (spare.size() < spare_limit) spare.push_back(std::move(result));
    }
  } catch (...) {
    std::lock_guard lock(mutex);
    if (!failure) failure = std::current_exception();
    stop = true;
  }
  {
    // Wake every waiting worker so that all can exit.
    std::lock_guard lock(mutex);
    stop = true;
    queue.clear();
    work.notify_all();
    space.notify_all();
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace brink
