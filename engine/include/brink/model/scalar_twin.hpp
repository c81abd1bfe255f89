// The scalar reference twin (in the spirit of qsim's basic simulator beside
// its AVX ones): the model one replication at a time in plain C++, built from
// the same rules (rules.hpp), the same random streams (rng.hpp) and the same
// Model as the vectorized kernel, with the same precision per quantity. The
// two differ only where libm and Eigen round exp and log differently, and in
// the order of the block sums on the step axis (Eigen's vectorized sum).
// It is the oracle of the vectorized code (tests/model/scalar_twin_test.cpp)
// and the baseline of its speed-up (bench/kernel_bench.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "brink/model/block_result.hpp"
#include "brink/model/model.hpp"
#include "brink/model/rng.hpp"
#include "brink/model/war_value.hpp"

namespace brink {

// The twin's draws from the step's streams (rng.hpp), one Random123 call
// each: every lane of the vectorized kernel must draw the same numbers, bit
// for bit (tests/model/twin_draws.hpp).
namespace twin_draw {

// Actor i's choice uniform at step s: word i of the decision stream.
inline float choice(const StreamKey& key, std::uint32_t replication, int s, int i) {
  const auto w = philox_words(key, replication, static_cast<std::uint32_t>(s),
                              purpose_word(Purpose::kDecision, static_cast<std::uint32_t>(i / kDecisionGroup)));
  return unit_float(w[i % kDecisionGroup]);
}

// The incident's occurrence uniform at step s, past the `actors` actors' words.
inline double incident(const StreamKey& key, std::uint32_t replication, int s, int actors) {
  const int o = incident_word(actors);
  const auto w = philox_words(key, replication, static_cast<std::uint32_t>(s),
                              purpose_word(Purpose::kDecision, static_cast<std::uint32_t>(o / kDecisionGroup)));
  return unit_double(w[o % kDecisionGroup], w[o % kDecisionGroup + 1]);
}

// The receiver's acceptance uniform at step s (bargaining with acceptance_noise).
inline double bargain(const StreamKey& key, std::uint32_t replication, int s, int receiver) {
  const auto w = philox_words(key, replication, static_cast<std::uint32_t>(s),
                              purpose_word(Purpose::kBargain, static_cast<std::uint32_t>(receiver)));
  return unit_double(w[0], w[1]);
}

}  // namespace twin_draw

// The state of one replication; the fields mirror BlockState's columns.
struct ReplicationState {
  std::vector<double> deployed, ready, reserve, casualties, created, removed, effectiveness, moved;  // per actor
  std::vector<int> side, last_action, type;                                                          // per actor
  std::vector<int> action_count;  // actors × action kinds
  std::vector<float> position;    // issues × actors
  std::vector<int> agreed;        // per issue
  std::vector<float> belief;      // actors × kMaxTypes
  // Bargaining and war: private war costs per actor, the public belief about
  // the receiver's cost [cost_low, cost_high], and the latest demand.
  std::vector<double> war_cost;
  double cost_low = 0.0, cost_high = 0.0, offer = 0.0;
  double tension = 0.0, start_strength_attacker = 0.0, start_strength_defender = 0.0;
  int rung = 0, peak_rung = 0, outcome = -1, end_step = -1, war_start_step = -1, war_end_step = -1;
  int first_incident_step = -1, incidents = 0, alliance_war_cause = 0;
};

class ScalarTwin {
 public:
  ScalarTwin(const Model& model, std::int64_t point, std::int64_t replication);
  void step(int s);
  void finish();
  const ReplicationState& state() const { return st_; }

 private:
  void apply_events(int s, bool active);
  void decide_and_act(int s);
  // The decision, in the kernel's steps (docs/model.md, "2. Decisions").
  struct IssueTerms {  // open issues, and what proposing or conceding brings
    float open_party = 0, open_movable = 0, propose_gain = 0, concede_gain = 0, propose_settle = 0, concede_settle = 0;
  };
  struct ActorView {  // what the actor sees before it weighs its actions
    float own = 0, own_d = 0, threat_resolve = 0, tension_factor = 0, impatience = 0;
    bool at_war = false;
    IssueTerms issues;
  };
  struct ActionValues {  // an action's kind-specific features (kFeatureCount: none) and feasibility
    float fa = 0, fb = 0;
    Feature ka = kFeatureCount, kb = kFeatureCount;
    bool ok = true;
    // A war_forecast attack's terms of W, for pricing it as another type (Model::types_price_war_apart).
    double discount = 1.0, prevail = 0.0, loss = 0.0;
  };
  IssueTerms issue_terms(int i) const;
  ActorView actor_view(int i, int s, const std::vector<float>& believed_resolve, bool at_war) const;
  ActionValues action_values(int i, int m, const ActorView& v, const std::vector<float>& believed_resolve) const;
  int decide(int i, int s, const std::vector<float>& believed_resolve, bool at_war);
  void update_belief(int i, int choice, const std::vector<float>& weights, const std::vector<float>& total);
  void apply_effect(int i, int m, int s);
  void posture(bool active);
  void combat(int s);
  void incidents(int s, bool active);
  void negotiate(int s, bool active);
  // Bargaining and war (bargaining.cpp, war_value.cpp).
  void init_bargaining();
  void bargain(int s);
  double value_after_shift(int s, double* later) const;
  rules::WarForecast forecast(int i, int t, double intensity, double growth = 0.0) const;
  void start_war(int attacker, int target, int s);
  void raise_rung(int rung, int s, AllianceWarCause cause);
  void join_alliance_war();

  const Model& model_;
  const Scenario& sc_;
  StreamKey key_;
  std::uint32_t replication_;
  ReplicationState st_;
  std::vector<int> choice_;
};

// The block a kernel would return, computed replication by replication.
BlockResult simulate_block_scalar(const Model& model, const BlockSpec& spec);

}  // namespace brink
