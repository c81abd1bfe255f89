// The memory of a run: the least it holds at once (its summaries and the
// blocks in flight, as docs/sweeps.md "Memory and run time" counts them),
// checked against the machine's before anything is written, and the words
// for a run that ran out all the same.
#include "run_memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include <fmt/format.h>

#include "brink/io/variables.hpp"
#include "commands.hpp"
#include "machine_memory.hpp"

namespace brink {
namespace {

// The least memory a run of `plan` on `threads` holds at once, in bytes
// (docs/sweeps.md "Memory and run time"): a point in flight keeps 9 + 8 x
// actors bytes per replication for its summary (adaptive: counted at min),
// and each block in flight its per-replication values and time series and
// its sums on the step axis, as the file stores them (the kernel's state and
// the queue come on top).
struct RunMemory {
  double summary = 0, blocks = 0;
  std::int64_t in_flight = 0;
};
RunMemory run_memory_at_least(const SweepPlan& plan, int threads) {
  const FileLayout layout = file_layout(plan);
  const std::int64_t replications = plan.rule.adaptive ? plan.rule.min : plan.replications;
  RunMemory m;
  m.summary = (9.0 + 8.0 * static_cast<double>(layout.length(Dim::kActor))) * static_cast<double>(replications);
  const double points = static_cast<double>(std::max<std::uint64_t>(1, layout.length(Dim::kPoint)));
  const double lanes = static_cast<double>(std::min<std::int64_t>(kBlockLanes, plan.replications));
  double block = 0;
  for (const VariableSpec& v : variable_table()) {
    if (!layout.present(v) || layout.dtype(v) == Dtype::kString) continue;
    double elements = 1;
    for (std::uint64_t extent : layout.shape(v)) elements *= static_cast<double>(extent);
    const double size = static_cast<double>(dtype_size(layout.dtype(v)));
    if (v.kind == Kind::kPerRun || v.kind == Kind::kSeries)
      block += elements / points / static_cast<double>(layout.length(Dim::kReplication)) * lanes * size;
    else if (v.kind == Kind::kPerPoint && v.dims.has(Dim::kStep))
      block += elements / points * size;
  }
  const std::int64_t blocks = plan.points_run() * ((replications + kBlockLanes - 1) / kBlockLanes);
  m.in_flight = std::max<std::int64_t>(1, std::min<std::int64_t>(threads, blocks));
  m.blocks = block * static_cast<double>(m.in_flight);
  return m;
}

}  // namespace

std::string out_of_memory_text() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    return fmt::format(
        "out of memory: this needs more than the process's address-space limit of {} MB allows "
        "(see 'ulimit -v')",
        limit.rlim_cur >> 20);
  return "out of memory: this needs more memory than the machine could give";
}

std::string memory_advice(const SweepPlan& plan) {
  if (plan.points_run() > 1)
    return "run fewer points or replications per process (e.g. --shard I/N per node), a sparser --timeseries "
           "every=K or fewer --threads";
  return "run fewer replications (-n), a sparser --timeseries every=K, a shorter horizon or fewer --threads";
}

void check_run_memory(const SweepPlan& plan, int threads) {
  const std::optional<double> machine = machine_memory_bytes();
  if (!machine) return;  // unknown: the allocation itself will say
  const RunMemory m = run_memory_at_least(plan, threads);
  if (m.summary + m.blocks <= *machine) return;
  const std::int64_t replications = plan.rule.adaptive ? plan.rule.min : plan.replications;
  throw UsageError(fmt::format(
      "this run needs at least {:.3g} GB of memory ({:.3g} GB to summarize a point's {} replications, {:.3g} GB "
      "for {} block{} in flight of {} steps), more than this machine's {:.3g} GB; {}",
      (m.summary + m.blocks) / 1e9, m.summary / 1e9, replications, m.blocks / 1e9, m.in_flight,
      m.in_flight == 1 ? "" : "s", plan.model(0).steps(), *machine / 1e9, memory_advice(plan)));
}

}  // namespace brink
