#include "mpi_env.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "brink/mpi/distributed.hpp"
#include "brink/scenario/shown_text.hpp"
#include "worker.hpp"

namespace brink {
namespace mpi {
namespace {

Session* g_session = nullptr;

// How long rank 0 waits for every rank to confirm it stopped before it
// aborts the job: ranks answer within a block's step, so only a rank stuck
// outside brink (a dead node the launcher has not noticed) takes this long.
constexpr auto kShutdownLimit = std::chrono::seconds(20);

}  // namespace

Session::Session() {
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Init_thread failed");
  // Errors come back as codes (and become sentences) instead of aborting the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  g_session = this;
}

Session::~Session() {
  g_session = nullptr;
  MPI_Finalize();
}

Session* current_session() { return g_session; }

static void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(fmt::format("MPI failed to {}: {}", what, std::string(text, length)));
}

Arrival probe(int source) {
  Arrival a;
  int flag = 0;
  check(MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &a.status), "poll for messages");
  if (!flag) return a;
  a.any = true;
  a.source = a.status.MPI_SOURCE;
  a.tag = a.status.MPI_TAG;
  return a;
}

std::optional<std::vector<std::uint8_t>> receive_unless(const Arrival& arrival, const std::function<bool()>& give_up) {
  MPI_Status status = arrival.status;
  int count = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &count), "size a message");
  auto bytes = std::make_unique<std::vector<std::uint8_t>>(static_cast<std::size_t>(count));
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Irecv(bytes->data(), count, MPI_BYTE, arrival.source, arrival.tag, MPI_COMM_WORLD, &request),
        "receive a message");
  for (int done = 0;;) {  // tests once before giving up: the message may be all here
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "receive a message");
    if (done) return std::move(*bytes);
    if (give_up()) break;
  }
  // A matched receive cannot be cancelled, and MPI may still write into its
  // buffer: the buffer stays allocated, and reachable, until the process ends.
  static std::vector<std::unique_ptr<std::vector<std::uint8_t>>> abandoned;
  abandoned.push_back(std::move(bytes));
  return std::nullopt;
}

std::vector<std::uint8_t> receive(const Arrival& arrival) {
  return *receive_unless(arrival, [] { return false; });
}

static int message_size(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw std::runtime_error(fmt::format("a message of {} bytes is too large for MPI", bytes.size()));
  return static_cast<int>(bytes.size());
}

void send(int dest, Tag tag, std::span<const std::uint8_t> bytes) {
  check(MPI_Send(bytes.data(), message_size(bytes), MPI_BYTE, dest, tag, MPI_COMM_WORLD), "send a message");
}

bool send_unless(int dest, Tag tag, std::span<const std::uint8_t> bytes, const std::function<bool()>& give_up) {
  // MPI reads the buffer until the send completes, even one given up on: a copy that outlives it.
  auto copy = std::make_unique<std::vector<std::uint8_t>>(bytes.begin(), bytes.end());
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Isend(copy->data(), message_size(bytes), MPI_BYTE, dest, tag, MPI_COMM_WORLD, &request), "send a message");
  for (int done = 0;;) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "send a message");
    if (done) return true;
    if (give_up()) break;
    pause();
  }
  static std::vector<std::unique_ptr<std::vector<std::uint8_t>>> abandoned;
  abandoned.push_back(std::move(copy));
  return false;
}

void send_int(int dest, Tag tag, std::int32_t value) {
  std::uint8_t bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  send(dest, tag, bytes);
}

std::int32_t as_int(const std::vector<std::uint8_t>& bytes) {
  std::int32_t value = 0;
  if (bytes.size() != sizeof value) throw std::runtime_error("a malformed control message from another rank");
  std::memcpy(&value, bytes.data(), sizeof value);
  return value;
}

void pause() { std::this_thread::sleep_for(std::chrono::microseconds(500)); }

// Tells every other rank the run is over and waits until each confirms, so
// that MPI_Finalize never meets a message still in flight. Results that
// arrive meanwhile (blocks of an interrupted run) are dropped.
static void release_workers(const Session& session, int code) {
  for (int r = 1; r < session.size(); ++r) send_int(r, kExit, code);
  const auto deadline = std::chrono::steady_clock::now() + kShutdownLimit;
  const auto past_deadline = [&] { return std::chrono::steady_clock::now() > deadline; };
  for (int stopped = 0; stopped < session.size() - 1;) {
    const Arrival a = probe();
    if (!a.any) {
      if (past_deadline()) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
      pause();
      continue;
    }
    if (!receive_unless(a, past_deadline)) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
    if (a.tag == kBye) ++stopped;
  }
}

// Ranks started with different commands (an MPMD launch) would wait for
// each other for ever: in collectives that never match, or, when one command
// never starts MPI (`brink --version`), rank 0 in MPI_Init. Ranks started
// with the same command but other options (a script that gives each task its
// own --shard, --seed or -o) would silently run rank 0's alone: the other
// ranks serve rank 0's job, or wait for rank 0's one-process command. So
// every rank starts MPI and compares its whole command line with rank 0's
// before anything else. Returns the exit code when they differ (rank 0 has
// said so, naming the first rank that differs and what differs), else nothing.
namespace {

// The command line after the program, its words joined by NUL (which no
// argument holds).
std::string joined_arguments(int argc, const char* const* argv) {
  std::string joined;
  for (int k = 1; k < argc; ++k) {
    if (k > 1) joined += '\0';
    joined += argv[k];
  }
  if (joined.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw std::runtime_error("the command line is too long to share with the other ranks");
  return joined;
}

std::vector<std::string> split_arguments(const std::string& joined) {
  std::vector<std::string> words;
  std::size_t start = 0;
  for (std::size_t end; (end = joined.find('\0', start)) != std::string::npos; start = end + 1)
    words.push_back(joined.substr(start, end - start));
  words.push_back(joined.substr(start));
  return words;
}

// "'X' where rank 0 has 'Y'" for the first word that differs.
std::string first_differing_word(const std::string& rank0, const std::string& other) {
  const std::vector<std::string> a = split_arguments(rank0), b = split_arguments(other);
  for (std::size_t k = 0; k < std::max(a.size(), b.size()); ++k) {
    const std::string x = k < a.size() ? fmt::format("'{}'", escaped(a[k])) : std::string("nothing");
    const std::string y = k < b.size() ? fmt::format("'{}'", escaped(b[k])) : std::string("nothing");
    if (x != y) return fmt::format("{} where rank 0 has {}", y, x);
  }
  return "the same words";
}

}  // namespace

std::optional<int> differing_command(const Session& session, int argc, const char* const* argv, std::ostream& err) {
  const std::string own = joined_arguments(argc, argv);
  int length = static_cast<int>(own.size());
  check(MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD), "share the command");
  std::string rank0 = session.rank() == 0 ? own : std::string(static_cast<std::size_t>(length), '\0');
  if (length > 0) check(MPI_Bcast(rank0.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD), "share the command");
  int mine = rank0 == own ? session.size() : session.rank(), first = 0;
  check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "compare the commands");
  if (first == session.size()) return std::nullopt;
  // The first rank that differs tells rank 0 its command line.
  if (session.rank() == first) {
    int size = static_cast<int>(own.size());
    check(MPI_Send(&size, 1, MPI_INT, 0, 0, MPI_COMM_WORLD), "send the command");
    check(MPI_Send(own.data(), size, MPI_CHAR, 0, 0, MPI_COMM_WORLD), "send the command");
  }
  if (session.rank() == 0) {
    int size = 0;
    check(MPI_Recv(&size, 1, MPI_INT, first, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive the command");
    std::string other(static_cast<std::size_t>(size), '\0');
    check(MPI_Recv(other.data(), size, MPI_CHAR, first, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive the command");
    const std::string command = argc >= 2 ? argv[1] : "";
    const std::string named = command.empty() ? std::string("brink") : "brink " + escaped(command);
    const std::string other_command = split_arguments(other).front();
    if (other_command != command)
      err << fmt::format(
          "{}: MPI rank {} was started with another command than rank 0's '{}'; start every rank with the same "
          "brink command\n",
          named, first, named);
    else
      err << fmt::format(
          "{}: MPI rank {} was started with other arguments than rank 0's ({}); under an MPI launcher every rank "
          "joins rank 0's one run, so give every rank the same command line, or set BRINK_NO_MPI=1 in each task's "
          "environment to run each as a separate process (one --shard each, say)\n",
          named, first, first_differing_word(rank0, other));
  }
  return 2;  // kExitUsage
}

// Rank 0 runs a one-process command; the others wait for it here, asleep
// between polls (MPI_Finalize's own wait may spin).
static int run_on_rank_0(const Session& session, int argc, const char* const* argv, std::ostream& out,
                         std::ostream& err, CommandFn command) {
  const int code = session.rank() == 0 ? command(argc, argv, out, err) : 0;
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "wait for rank 0");
  for (int done = 0;;) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "wait for rank 0");
    if (done) return code;
    pause();
  }
}

}  // namespace mpi

int run_alone_under_mpi(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command) {
  // One process needs no agreement: MPI would only cost its start-up.
  if (launcher_size() <= 1) return command(argc, argv, out, err);
  const std::string name = argc >= 2 ? std::string(" ") + argv[1] : std::string();
  try {
    const mpi::Session session;
    if (const std::optional<int> code = mpi::differing_command(session, argc, argv, err)) return *code;
    return mpi::run_on_rank_0(session, argc, argv, out, err, command);
  } catch (const std::exception& e) {
    err << "brink" << escaped(name) << ": " << e.what() << "\n";
    return 1;  // kExitFailure
  }
}

std::string mpi_library() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  // One of the few MPI calls allowed before MPI_Init.
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "yes (unknown library)";
  std::string version(text, length);
  // "Open MPI v4.1.4, package: ..." -> "Open MPI 4.1.4"
  version = version.substr(0, version.find_first_of(",\n"));
  if (const auto v = version.find(" v"); v != std::string::npos) version.erase(v + 1, 1);
  while (!version.empty() && (version.back() == ' ' || version.back() == '\t')) version.pop_back();
  return version;
}

std::string describe_workers(int threads) {
  const std::string local = fmt::format("{} thread{}", threads, threads == 1 ? "" : "s");
  const mpi::Session* session = mpi::current_session();
  if (!session || session->size() == 1) return local;
  return fmt::format("{} MPI ranks ({} on rank 0)", session->size(), local);
}

int run_as_mpi_rank(int argc, const char* const* argv, std::ostream& out, std::ostream& err, CommandFn command,
                    PlanFn plan_of) {
  std::optional<mpi::Session> session;
  try {
    session.emplace();
  } catch (const std::exception& e) {
    err << "brink run: " << e.what() << "\n";
    return 1;  // kExitFailure
  }
  try {
    if (const std::optional<int> code = mpi::differing_command(*session, argc, argv, err)) return *code;
  } catch (const std::exception& e) {
    err << "brink run: " << e.what() << "\n";
    return 1;  // kExitFailure
  }
  if (session->rank() != 0) return mpi::serve_as_worker(*session, plan_of);
  const int code = command(argc, argv, out, err);
  try {
    mpi::release_workers(*session, code);
  } catch (const std::exception& e) {
    err << "brink run: " << e.what() << "\n";
    return code ? code : 1;
  }
  return code;
}

}  // namespace brink
