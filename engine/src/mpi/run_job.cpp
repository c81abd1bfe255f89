// The job rank 0 hands to the other ranks, and the check that they built the
// same plan from it. No MPI here: this is also built without MPI.
#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "brink/mpi/block_wire.hpp"
#include "brink/mpi/distributed.hpp"

namespace brink {
namespace {

constexpr std::uint32_t kJobMagic = 0x424a4f42;  // "BOJB" in memory
constexpr std::uint32_t kJobWireVersion = 2;

}  // namespace

std::vector<std::uint8_t> encode_job(const RunJob& job) {
  WireWriter out;
  out.put(kJobMagic);
  out.put(kJobWireVersion);
  out.put_string(job.source.label);
  out.put_string(job.source.text);
  out.put_string(job.options);
  out.put(static_cast<std::int32_t>(job.threads));
  return out.take();
}

RunJob decode_job(const std::vector<std::uint8_t>& bytes) {
  WireReader in(bytes, "the job sent by rank 0");
  if (in.get<std::uint32_t>() != kJobMagic || in.get<std::uint32_t>() != kJobWireVersion)
    throw std::runtime_error("the job sent by rank 0 is not one of this brink version");
  RunJob job;
  job.source.label = in.get_string();
  job.source.text = in.get_string();
  job.options = in.get_string();
  job.threads = in.get<std::int32_t>();
  in.expect_end();
  return job;
}

bool launched_by_mpi() {
  // A task of a job that runs each brink as its own process (a shard per
  // task, a Python driver's child) says so: it joins no MPI world.
  if (const char* off = std::getenv("BRINK_NO_MPI"); off && *off && std::string_view(off) != "0") return false;
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

int launcher_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  return 1;
}

int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return 0;
}

std::uint64_t plan_fingerprint(const SweepPlan& plan) {
  // FNV-1a over the values that decide which blocks exist and what they hold,
  // and over the inputs besides the job that decide how they are simulated.
  std::uint64_t hash = kFnvOffsetBasis;
  auto mix = [&](const void* data, std::size_t n) { hash = fnv1a(data, n, hash); };
  auto mix_value = [&](auto value) { mix(&value, sizeof value); };
  mix_value(plan.point_count());
  mix_value(plan.replications);
  mix_value(plan.blocks_per_point());
  mix_value(static_cast<int>(plan.write_runs));
  mix_value(plan.points_per_block());  // how blocks and chunks are formed, which every rank must share
  mix_value(plan.points_per_chunk());
  mix_value(static_cast<int>(plan.sensitivity));
  mix_value(static_cast<int>(plan.morris));
  mix_value(plan.run().seed);
  mix_value(plan.output().timeseries_every);
  for (const auto& name : plan.parameters) mix(name.data(), name.size() + 1);
  for (const PointView p : plan.points) mix(p.values.data(), p.values.size_bytes());
  if (plan.draws) {  // a posterior run's parameter sets per replication
    mix(plan.draws->set_of.data(), plan.draws->set_of.size() * sizeof(std::int32_t));
    mix(plan.draws->values.data(), plan.draws->values.size() * sizeof(double));
  }
  // Each rank reads the choice files and the posterior itself: an edit that
  // every choice shares changes no point value, only the model each choice
  // builds, so their texts (and the digests recorded as `inputs`) decide too.
  for (const ScenarioChoice& choice : plan.choices) {
    mix(choice.label.data(), choice.label.size() + 1);
    mix(choice.text.data(), choice.text.size() + 1);
  }
  mix(plan.inputs.data(), plan.inputs.size() + 1);
  return hash;
}

}  // namespace brink
