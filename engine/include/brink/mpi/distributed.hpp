// `brink run` under an MPI launcher (docs/cluster.md). Rank 0 parses the
// command line, keeps the one BlockScheduler, the recorder and the HDF5
// writer; it sends every other rank the job (scenario text, settings, the
// kernel path it chose), and each rank, rank 0 included, simulates blocks on
// its threads. Other ranks compress their blocks' chunks and send them back;
// rank 0 only stores them. Without a launcher none of this runs and MPI is
// never initialised.
#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "brink/scenario/parse.hpp"
#include "brink/sweep/executor.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {

// What every rank needs to build the same plan as rank 0: only rank 0 reads
// the scenario file and parses the command line.
struct RunJob {
  ScenarioSource source;
  std::string options;  // the run's options as the file's `overrides` attribute records them
  int threads = 0;      // --threads; 0: each rank starts one thread per CPU it may run on
};

// Builds the plan of a job exactly as rank 0's command line built it (the
// cli's function: MPI knows nothing of options). Throws ScenarioError.
using PlanFn = SweepPlan (*)(const RunJob& job);

std::vector<std::uint8_t> encode_job(const RunJob& job);
RunJob decode_job(const std::vector<std::uint8_t>& bytes);
// A digest of what makes two plans run the same blocks: their points, the
// replications, the output settings and the files each rank reads itself
// (the scenario choices' texts, the `inputs` digests).
std::uint64_t plan_fingerprint(const SweepPlan& plan);

// True when an MPI launcher (mpirun, srun) started this process: one of
// OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK is set.
bool launched_by_mpi();
// This process's rank as the launcher gives it (OMPI_COMM_WORLD_RANK,
// PMIX_RANK or PMI_RANK), without initialising MPI; 0 when there is none.
int launcher_rank();
// How many processes the launcher started (1 when none did).
int launcher_size();
// "Open MPI 4.1.4" (the library linked in), or "no" when MPI is not built in.
std::string mpi_library();

// Who simulates, for the final line of `brink run`: "2 threads", or under
// MPI "3 MPI ranks (2 threads on rank 0)".
std::string describe_workers(int threads);

// The command-line entry point of one process.
using CommandFn = int (*)(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

// Runs `brink run` as one rank of an MPI job: initialises MPI, lets rank 0
// run `command` (whose executor then distributes the blocks, see
// execute_run) and makes every other rank serve it, building its plan with
// `plan_of`. Every rank returns rank
// 0's exit code; only rank 0 prints. Without MPI built in, runs `command`.
int run_as_mpi_rank(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command,
                    PlanFn plan_of);

// Ranks in lockstep (`brink calibrate` under a launcher): every rank runs the
// same command on the same inputs, shares the work by a fixed rule, and
// combines it with collective sums, so every rank holds the same state.
class RankGroup {
 public:
  virtual ~RankGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // The element-wise sum over the ranks, in place on every rank (MPI_Allreduce).
  virtual void sum(std::span<double> values) = 0;
  // Rank 0's `text`, on every rank.
  virtual std::string broadcast(const std::string& text) = 0;
  // Prints "brink: MPI rank R: <why>" and ends every rank of the job with `code`.
  [[noreturn]] virtual void abort(int code, const std::string& why) = 0;
};

// Runs `command` on every rank of an MPI job in lockstep (see RankGroup):
// only rank 0 prints (the others' output and errors are dropped: they meet
// the same inputs and so the same errors); each rank returns its own code.
// Without MPI built in, or without a launcher, runs `command`.
int run_in_lockstep(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command);
// Any other command under a launcher: one process's work (a merge on every
// rank would race for its file; validate, inspect, ... would print once per
// rank), so rank 0 runs `command` and the other ranks return 0 when it is
// done. With more than one rank, MPI starts on every rank and a rank started
// with another command than rank 0 stops the job (exit 2, one sentence).
int run_alone_under_mpi(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command);
// The group of the running lockstep job, or null (no launcher, or one rank).
RankGroup* lockstep_group();

// execute(), or, on rank 0 of a job with more than one rank, the distributed
// executor: the same scheduler hands blocks to local threads and to the other
// ranks, and the sink receives every block on this (the main) thread.
void execute_run(const SweepPlan& plan, int threads, ResultSink& sink, const ProgressFn& progress,
                 BlockScheduler* scheduler, const std::atomic<bool>* stop, const RunJob& job);

}  // namespace brink
