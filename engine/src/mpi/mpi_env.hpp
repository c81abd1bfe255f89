// MPI for the distributed run: the session (init and finalize), the message
// tags ranks exchange and polling helpers. Only a rank's main thread calls
// MPI (MPI_THREAD_FUNNELED); nobody blocks in a receive that may never come:
// ranks poll with MPI_Iprobe and a short sleep, so an idle rank burns no core.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace brink::mpi {

// What a message is. Rank 0 sends kJob, kBlock and kExit; the other ranks
// send kRequest, kResult, kFailure and, last of all, kBye.
enum Tag : int {
  kJob = 1,      // RunJob, kernel path and plan fingerprint
  kBlock = 2,    // a block to simulate: its points' BlockSpecs (encode_block_specs)
  kExit = 3,     // the run is over: rank 0's exit code (int32); reply kBye
  kRequest = 4,  // the sender wants this many more blocks (int32)
  kResult = 5,   // a finished block (encode_block_result); also asks for one more block
  kFailure = 6,  // a sentence saying why the sender cannot go on
  kBye = 7,      // the sender has stopped and sends nothing more
};

class Session {
 public:
  Session();  // MPI_Init_thread; throws std::runtime_error if MPI fails
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

// The session this process runs in, or null (no launcher, or before init).
Session* current_session();

// A message that has arrived (source and tag known), or none.
struct Arrival {
  bool any = false;
  int source = 0;
  int tag = 0;
  MPI_Status status{};
};
Arrival probe(int source = MPI_ANY_SOURCE);
// Receives the message `arrival` announced.
std::vector<std::uint8_t> receive(const Arrival& arrival);
// The same, but gives up and returns nothing once `give_up()` is true. A sender
// killed in the middle of a message too large to go eagerly leaves the
// receive waiting for the rest forever (Open MPI's shared-memory transport
// reads it from the sender's memory, fails with ESRCH and asks the dead
// sender to send it instead): blocked in MPI_Recv, rank 0 would never see the
// launcher's SIGTERM and be killed a second later with its file open.
std::optional<std::vector<std::uint8_t>> receive_unless(const Arrival& arrival, const std::function<bool()>& give_up);
void send(int dest, Tag tag, std::span<const std::uint8_t> bytes);
// The same, but gives up and returns false once `give_up()` is true. A
// message larger than MPI's eager limit (the job: the scenario's text) is
// sent only when the receiver takes it; blocked in MPI_Send to a rank that
// has died, rank 0 could not close its `.partial` when the launcher ends
// the job (SIGTERM, then SIGKILL).
bool send_unless(int dest, Tag tag, std::span<const std::uint8_t> bytes, const std::function<bool()>& give_up);
void send_int(int dest, Tag tag, std::int32_t value);
std::int32_t as_int(const std::vector<std::uint8_t>& bytes);
// The short sleep between two polls.
void pause();
// Whether every rank was started with rank 0's command (argv[1]); collective,
// the first thing every rank does. When one was not, rank 0 says so on `err`
// and every rank gets the exit code to end with.
std::optional<int> differing_command(const Session& session, int argc, const char* const* argv, std::ostream& err);

}  // namespace brink::mpi
