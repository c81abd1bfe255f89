#include "brink/sweep/executor.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace brink {

void execute(const SweepPlan& plan, int threads, ResultSink& sink, const ProgressFn& progress,
             const std::vector<std::uint8_t>* skip) {
  const std::int64_t total = plan.total_blocks();
  threads = std::max(1, threads);
  // Bounded hand-off: workers wait when the writer falls behind, so memory
  // stays proportional to the thread count, not to the sweep.
  const std::size_t capacity = static_cast<std::size_t>(threads) * 2;

  std::atomic<std::int64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable ready, space;
  std::deque<BlockResult> queue;
  int running = threads;
  std::exception_ptr failure;

  auto worker = [&] {
    try {
      for (std::int64_t i = next++; i < total && !stop; i = next++) {
        if (skip && (*skip)[i]) continue;
        const BlockSpec spec = plan.block(i);
        BlockResult result = simulate_block(plan.model(spec.point), spec, plan.options);
        std::unique_lock lock(mutex);
        space.wait(lock, [&] { return queue.size() < capacity || stop; });
        if (stop) break;
        queue.push_back(std::move(result));
        ready.notify_one();
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
    std::lock_guard lock(mutex);
    --running;
    ready.notify_all();
    space.notify_all();
  };

  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);

  std::int64_t done = skip ? std::count_if(skip->begin(), skip->end(), [](std::uint8_t d) { return d != 0; }) : 0;
  try {
    for (;;) {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return !queue.empty() || running == 0; });
      if (queue.empty()) break;
      BlockResult result = std::move(queue.front());
      queue.pop_front();
      space.notify_one();
      lock.unlock();
      if (stop) continue;  // drain without writing once something failed
      sink.consume(std::move(result));
      ++done;
      if (progress) progress(done, total);
    }
  } catch (...) {
    std::lock_guard lock(mutex);
    if (!failure) failure = std::current_exception();
    stop = true;
    space.notify_all();
  }
  {
    // Wake any worker waiting for queue space so that all can exit.
    std::lock_guard lock(mutex);
    queue.clear();
    space.notify_all();
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace brink
