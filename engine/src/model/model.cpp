// Model: the scenario with its relations as index lists. Eigen-free, so the
// brink binary (which never compiles Eigen) builds its models itself and hands
// them to whichever kernel variant it loaded.
#include "brink/model/model.hpp"

#include <algorithm>

#include "brink/scenario/fields.hpp"

namespace brink {

Model::Model(Scenario scenario) : Model(std::move(scenario), Validated{}) {
  // Every Scenario the kernel runs has passed the same rules as a file, whatever built it.
  validate_or_throw(scenario_);
}

Model::Model(Scenario scenario, Validated) : scenario_(std::move(scenario)) {
  const int n = scenario_.actor_count();
  steps_ = scenario_.step_count();
  record_every_ = scenario_.output.timeseries_every > 0 ? scenario_.output.timeseries_every : 1;
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
  for (const Issue& issue : scenario_.negotiation.issues) {
    parties_.emplace_back();
    for (int j = 0; j < n; ++j)
      if (issue.salience[j] > 0.0) parties_.back().push_back(j);
  }
  for (const Event& e : scenario_.events) event_steps_.push_back(event_step(e.day, scenario_.run.dt_days));
}

}  // namespace brink
