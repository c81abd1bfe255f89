// A build without MPI: `brink run` under a launcher runs as a plain process.
#include <string>

#include "brink/mpi/distributed.hpp"

namespace brink {

std::string mpi_library() { return "no"; }

std::string describe_workers(int threads) { return std::to_string(threads) + (threads == 1 ? " thread" : " threads"); }

int run_as_mpi_rank(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command,
                    PlanFn plan_of) {
  (void)plan_of;
  return command(argc, argv, out, err);
}

int run_in_lockstep(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command) {
  return command(argc, argv, out, err);
}

RankGroup* lockstep_group() { return nullptr; }

int run_alone_under_mpi(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command) {
  return launcher_rank() == 0 ? command(argc, argv, out, err) : 0;
}

void execute_run(const SweepPlan& plan, int threads, ResultSink& sink, const ProgressFn& progress,
                 BlockScheduler* scheduler, const std::atomic<bool>* stop, const RunJob&) {
  execute(plan, threads, sink, progress, scheduler, stop);
}

}  // namespace brink
