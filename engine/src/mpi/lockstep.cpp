// `brink calibrate` under a launcher: every rank runs the same command in
// lockstep (RankGroup in brink/mpi/distributed.hpp). Unlike `brink run`,
// whose ranks serve rank 0's scheduler block by block, a calibration is a
// sequence of small batches whose next batch depends on the last; sharing
// each batch by a fixed rule and summing the results keeps every rank's
// algorithm state identical without any protocol of its own.
#include <climits>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <streambuf>

#include "brink/mpi/distributed.hpp"
#include "mpi_env.hpp"

namespace brink {
namespace {

class WorldGroup final : public RankGroup {
 public:
  explicit WorldGroup(const mpi::Session& session) : session_(session) {}
  int rank() const override { return session_.rank(); }
  int size() const override { return session_.size(); }
  void sum(std::span<double> values) override {
    if (values.size() > static_cast<std::size_t>(INT_MAX)) throw std::length_error("too many values to sum over ranks");
    if (MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                      MPI_COMM_WORLD) != MPI_SUCCESS)
      throw std::runtime_error("MPI_Allreduce failed");
  }
  [[noreturn]] void abort(int code, const std::string& why) override {
    std::cerr << "brink: MPI rank " << rank() << ": " << why << std::endl;
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();  // MPI_Abort does not return
  }
  std::string broadcast(const std::string& text) override {
    long long length = static_cast<long long>(text.size());
    if (MPI_Bcast(&length, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
      throw std::runtime_error("MPI_Bcast failed");
    std::string out = rank() == 0 ? text : std::string(static_cast<std::size_t>(length), '\0');
    if (length > 0 && MPI_Bcast(out.data(), static_cast<int>(length), MPI_CHAR, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
      throw std::runtime_error("MPI_Bcast failed");
    return out;
  }

 private:
  const mpi::Session& session_;
};

WorldGroup* g_group = nullptr;

// Output of the ranks other than 0: dropped.
class NullBuffer final : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

}  // namespace

RankGroup* lockstep_group() { return g_group; }

int run_in_lockstep(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command) {
  std::optional<mpi::Session> session;
  try {
    session.emplace();
  } catch (const std::exception& e) {
    err << "brink: " << e.what() << "\n";
    return 1;  // kExitFailure
  }
  try {
    if (const std::optional<int> code = mpi::differing_command(*session, argc, argv, err)) return *code;
  } catch (const std::exception& e) {
    err << "brink calibrate: " << e.what() << "\n";
    return 1;  // kExitFailure
  }
  WorldGroup group(*session);
  g_group = session->size() > 1 ? &group : nullptr;
  int code = 0;
  if (session->rank() == 0) {
    code = command(argc, argv, out, err);
  } else {
    NullBuffer sink;
    std::ostream silent(&sink);
    code = command(argc, argv, silent, silent);
  }
  g_group = nullptr;
  return code;
}

}  // namespace brink
