// Model: the scenario with its relations as index lists. Eigen-free, so the
// brink binary (which never compiles Eigen) builds its models itself and hands
// them to whichever kernel variant it loaded.
//
// TODO(lead): a copy of the Model definitions at the top of
// engine/src/model/kernel.cpp. Once they are deleted there, also add
// BRINK_MODEL_CORE_SOURCES to brink_model in engine/CMakeLists.txt, so that
// tests and benchmarks link this copy; until then only the brink binary does.
#include <algorithm>

#include "brink/model/kernel.hpp"

namespace brink {

Model::Model(Scenario scenario) : scenario_(std::move(scenario)) {
  const int n = scenario_.actor_count();
  steps_ = scenario_.step_count();
  adversaries_.resize(n);
  allies_.resize(n);
  commitment_.assign(n, std::vector<double>(n, 0.0));
  protection_.assign(n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      if (scenario_.relations.adversary[i][j]) adversaries_[i].push_back(j);
      if (scenario_.relations.ally[i][j]) allies_[i].push_back(j);
    }
  for (const Commitment& c : scenario_.relations.commitments) {
    commitment_[c.from][c.to] = std::max(commitment_[c.from][c.to], c.strength);
    protection_[c.to] = std::max(protection_[c.to], c.strength);
  }
}

int Model::record_every() const {
  const int every = scenario_.output.timeseries_every;
  return every > 0 ? every : 1;
}

int Model::records() const { return (steps_ + record_every() - 1) / record_every() + 1; }

}  // namespace brink
