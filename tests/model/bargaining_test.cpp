// Bargaining and war (docs/model.md, "Bargaining and war"): the forecast rule
// against an ODE oracle, the optimal demand against a brute-force search, and
// the vectorized kernel against the scalar twin on the bargaining scenarios.
#include "brink/model/bargaining.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/model/scalar_twin.hpp"
#include "brink/model/war_value.hpp"
#include "brink/scenario/parse.hpp"

namespace brink {
namespace {

struct Collapse {
  double time, winner_share;
  bool a_wins;
};

// Independent oracle: RK4 on the Lanchester ODEs until one side falls to chi of its start.
Collapse integrate(double a0, double b0, double alpha, double beta, bool square, double chi) {
  double a = a0, b = b0, t = 0.0;
  const double h = 1e-4;
  auto f = [&](double x, double y, double* dx, double* dy) {
    *dx = square ? -beta * y : -beta * x * y;
    *dy = square ? -alpha * x : -alpha * x * y;
  };
  while (a > chi * a0 && b > chi * b0) {
    double k1a, k1b, k2a, k2b, k3a, k3b, k4a, k4b;
    f(a, b, &k1a, &k1b);
    f(a + h / 2 * k1a, b + h / 2 * k1b, &k2a, &k2b);
    f(a + h / 2 * k2a, b + h / 2 * k2b, &k3a, &k3b);
    f(a + h * k3a, b + h * k3b, &k4a, &k4b);
    a += h / 6 * (k1a + 2 * k2a + 2 * k3a + k4a);
    b += h / 6 * (k1b + 2 * k2b + 2 * k3b + k4b);
    t += h;
  }
  return {t, a > chi * a0 ? a / a0 : b / b0, a > chi * a0};
}

TEST(WarForecastTest, DurationAndSurvivorsMatchTheLanchesterOde) {
  struct Case {
    double a0, b0, alpha, beta;
    bool square;
  };
  // alpha, beta are per-troop rates; the rule takes sums (rate × strength).
  for (const Case& c :
       {Case{120, 100, 0.01, 0.01, true}, Case{100, 130, 0.02, 0.01, true}, Case{100, 100, 0.011, 0.01, true},
        Case{120, 100, 0.001, 0.001, false}, Case{100, 90, 0.001, 0.0012, false},
        // A side that cannot kill loses, however many it is, and the winner loses no one.
        Case{200, 100, 0.0, 0.01, true}, Case{50, 100, 0.01, 0.0, true}, Case{200, 100, 0.0, 0.001, false},
        Case{50, 100, 0.001, 0.0, false}}) {
    for (double chi : {0.3, 0.5}) {
      const rules::WarForecast f =
          rules::war_forecast(c.a0, c.b0, c.alpha * c.a0, c.beta * c.b0, c.square, chi, 1.0, 1e9, 1e-3);
      const Collapse oracle = integrate(c.a0, c.b0, c.alpha, c.beta, c.square, chi);
      EXPECT_NEAR(f.duration, oracle.time, 2e-4 + 1e-6 * oracle.time) << c.a0 << " " << c.b0 << " " << chi;
      // With σ → 0 the forecast is Lanchester's deterministic winner.
      const bool a_wins = f.prevail > 0.5;
      EXPECT_EQ(a_wins, oracle.a_wins) << c.a0 << " " << c.b0 << " " << chi;
      EXPECT_NEAR(a_wins ? 1.0 - f.loss_a : 1.0 - f.loss_b, oracle.winner_share, 1e-4);
      EXPECT_NEAR(a_wins ? f.loss_b : f.loss_a, 1.0 - chi, 1e-12);
    }
  }
}

// Near parity the linear law's duration tends to (1/χ − 1)/(rate·y0); the
// log of a ratio 1 + rounding lost every digit there (an outside review saw
// 139 days for 117). Sides equal up to a relative ε, down to ε = 0, against the ODE.
TEST(WarForecastTest, LinearDurationIsContinuousThroughParity) {
  for (double eps : {0.0, 1e-16, 3e-16, 1e-15, 1e-13, 1e-11, 1e-8, 1e-5}) {
    for (double chi : {0.3, 0.6}) {
      const double a0 = 10000, b0 = 20000, alpha = 2e-6, beta = 1e-6 * (1 + eps);
      const rules::WarForecast f = rules::war_forecast(a0, b0, alpha * a0, beta * b0, false, chi, 1.0, 1e9, 1e-3);
      const Collapse oracle = integrate(a0, b0, alpha, beta, false, chi);
      EXPECT_NEAR(f.duration, oracle.time, 2e-4 + 1e-6 * oracle.time) << "eps " << eps << " chi " << chi;
    }
  }
}

TEST(WarForecastTest, ProbabilityOfPrevailingIsTheFightingStrengthShare) {
  // σ = 1, square law: p = αA²/(αA² + βB²); parity gives 1/2; more defence lowers p.
  const rules::WarForecast f = rules::war_forecast(120, 100, 0.01 * 120, 0.02 * 100, true, 0.3, 1.0, 100, 1.0);
  EXPECT_NEAR(f.prevail, 0.01 * 120 * 120 / (0.01 * 120 * 120 + 0.02 * 100 * 100), 1e-15);
  EXPECT_DOUBLE_EQ(rules::war_forecast(100, 100, 1, 1, true, 0.3, 1.0, 100, 1.0).prevail, 0.5);
  EXPECT_LT(rules::war_forecast(100, 100, 1, 2, false, 0.3, 1.0, 100, 1.0).prevail, 0.5);
  // Without kill rates the forecast is by numbers; without a war the duration is the horizon.
  EXPECT_NEAR(rules::war_forecast(200, 100, 0, 0, false, 0.3, 1.0, 50, 1.0).prevail, 2.0 / 3.0, 1e-15);
  EXPECT_EQ(rules::war_forecast(200, 100, 0, 0, false, 0.3, 1.0, 50, 1.0).duration, 50);
  EXPECT_EQ(rules::war_forecast(100, 100, 1, 1, true, 0.0, 1.0, 50, 1.0).duration, 50);
}

TEST(WarForecastTest, ProbabilityFollowsTheSpreadFormulaUnderBothLaws) {
  // p = 1/(1 + Φ^(−1/σ)), Φ = αA²/(βB²) (square) or αA/(βB) (linear), with
  // α and β per troop; the rule takes the sums αA and βB.
  const double a = 150, b = 100, alpha = 0.012, beta = 0.02;
  for (double sigma : {0.25, 1.0, 3.0}) {
    const double square_phi = alpha * a * a / (beta * b * b), linear_phi = alpha * a / (beta * b);
    EXPECT_NEAR(rules::prevail_probability(a, b, alpha * a, beta * b, true, sigma),
                1.0 / (1.0 + std::pow(square_phi, -1.0 / sigma)), 1e-15)
        << sigma;
    EXPECT_NEAR(rules::prevail_probability(a, b, alpha * a, beta * b, false, sigma),
                1.0 / (1.0 + std::pow(linear_phi, -1.0 / sigma)), 1e-15)
        << sigma;
    // The forecast's p is the same rule's.
    EXPECT_EQ(rules::war_forecast(a, b, alpha * a, beta * b, true, 0.3, 1.0, 100, sigma).prevail,
              rules::prevail_probability(a, b, alpha * a, beta * b, true, sigma));
  }
  // A side without troops counts as 1e-9 of one: the other prevails.
  EXPECT_NEAR(rules::prevail_probability(0.0, 100, 0.0, 2.0, true, 1.0), 0.0, 1e-20);
  EXPECT_NEAR(rules::prevail_probability(100, 0.0, 1.0, 0.0, true, 1.0), 1.0, 1e-15);
}

double expected_utility(double x, double x0, double war_a, double low, double high) {
  const double y = x - x0;
  const double accept = high > low ? std::min(std::max((high - y) / (high - low), 0.0), 1.0) : (y <= low ? 1.0 : 0.0);
  return accept * x + (1.0 - accept) * war_a;
}

TEST(OptimalDemandTest, MaximizesTheProposersExpectedUtility) {
  for (double x0 : {0.2, 0.5, 0.8})
    for (double war_a : {-0.3, 0.1, 0.4, 0.6})
      for (double low : {-0.1, 0.0, 0.2})
        for (double width : {0.05, 0.3, 0.9}) {
          const double high = low + width;
          const double x = rules::optimal_demand(x0, war_a, low, high);
          ASSERT_GE(x, 0.0);
          ASSERT_LE(x, 1.0);
          double best = -1e300;
          for (int g = 0; g <= 200000; ++g) best = std::max(best, expected_utility(g / 200000.0, x0, war_a, low, high));
          EXPECT_GE(expected_utility(x, x0, war_a, low, high), best - 1e-9) << x0 << " " << war_a << " " << low;
        }
}

TEST(OptimalDemandTest, CompleteInformationLeavesTheReceiverIndifferentAndAccepting) {
  const double x0 = 0.55, cost_b = 0.13;
  const double x = rules::optimal_demand(x0, 0.2, cost_b, cost_b);
  EXPECT_DOUBLE_EQ(x, x0 + cost_b);
  const double war_b = (1.0 - x0) - cost_b;  // the receiver's war value
  EXPECT_TRUE(rules::accepts(rules::acceptance_margin(x, war_b), 0.0, 0.5));
  EXPECT_DOUBLE_EQ(rules::screened_high(0.7, 0.5, 0.0, 0.4, 0.0), 0.2);
  EXPECT_DOUBLE_EQ(rules::screened_high(0.3, 0.5, 0.0, 0.4, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(rules::screened_high(0.7, 0.5, 0.0, 0.4, 0.01), 0.4);  // a noisy refusal bounds nothing
}

// The chance of acceptance of demand x under logit noise, by the midpoint rule over a
// uniform belief (2,000,000 points) or by the sum over discrete types: an
// independent reading of expected_acceptance.
double noisy_accept(double x, double x0, double noise, double low, double high, const std::vector<double>& cost = {},
                    const std::vector<double>& belief = {}) {
  auto logistic = [&](double margin) { return 1.0 / (1.0 + std::exp(-margin / noise)); };
  double p = 0.0;
  if (!cost.empty()) {
    for (std::size_t k = 0; k < cost.size(); ++k) p += belief[k] * logistic(x0 + cost[k] - x);
    return p;
  }
  if (!(high > low)) return logistic(x0 + low - x);
  constexpr int kPoints = 2000000;
  for (int i = 0; i < kPoints; ++i) p += logistic(x0 + low + (i + 0.5) * (high - low) / kPoints - x);
  return p / kPoints;
}

TEST(NoisyDemandTest, ExpectedAcceptanceIsTheIntegralOfTheLogistic) {
  for (double noise : {0.003, 0.05, 0.4})
    for (double x : {0.1, 0.55, 0.7, 0.95}) {
      const rules::CostBelief uniform{.low = -0.05, .high = 0.3};
      EXPECT_NEAR(rules::expected_acceptance(x, 0.5, uniform, noise), noisy_accept(x, 0.5, noise, -0.05, 0.3), 1e-6)
          << noise << " " << x;
    }
}

// The demand maximizes W_A + P(x)(x − W_A) over a grid of 200,001 demands
// (with P read independently, above), for uniform, point and discrete beliefs.
TEST(NoisyDemandTest, MaximizesTheProposersExpectedValueUnderTheNoise) {
  const std::vector<double> cost = {0.0, 0.2, 0.45}, belief = {0.3, 0.4, 0.3};
  for (double noise : {1e-3, 0.02, 0.1, 0.5})
    for (double war_a : {-0.2, 0.3, 0.45})
      for (int shape = 0; shape < 3; ++shape) {
        const double x0 = 0.5, low = shape == 1 ? 0.15 : 0.0, high = shape == 1 ? 0.15 : 0.4;
        const rules::CostBelief b = shape == 2
                                        ? rules::CostBelief{.cost = cost.data(), .belief = belief.data(), .types = 3}
                                        : rules::CostBelief{.low = low, .high = high};
        const std::vector<double> c = shape == 2 ? cost : std::vector<double>{};
        auto value = [&](double x) {
          const double p = shape == 0 ? rules::expected_acceptance(x, x0, b, noise)  // the integral is checked above
                                      : noisy_accept(x, x0, noise, low, high, c, belief);
          return war_a + p * (x - war_a);
        };
        const double x = rules::noisy_demand(x0, war_a, b, noise);
        ASSERT_GE(x, 0.0);
        ASSERT_LE(x, 1.0);
        double best = -1e300;
        for (int g = 0; g <= 200000; ++g) best = std::max(best, value(g / 200000.0));
        EXPECT_GE(value(x), best - 1e-9) << "noise " << noise << " war_a " << war_a << " shape " << shape;
      }
}

// As the noise vanishes the demand's chance of acceptance tends to the best
// response's, 1 under complete information: the first-order condition
// (1 − P)(r − W_A − ν y) = ν at P = 1/(1 + e^−y) gives P(refusal) ≈ ν/(r − W_A).
// A proposer blind to the noise demanded r itself, refused half the time at any ν > 0.
TEST(NoisyDemandTest, RefusalsVanishWithTheNoiseUnderCompleteInformation) {
  const double x0 = 0.5, cost_b = 0.25, war_a = 0.4, r = x0 + cost_b;
  const rules::CostBelief point{.low = cost_b, .high = cost_b};
  for (double noise : {1e-9, 1e-6, 1e-3}) {
    const double x = rules::noisy_demand(x0, war_a, point, noise);
    const double refuse = 1.0 - rules::acceptance_probability(r - x, noise);
    EXPECT_LT(refuse, 3.0 * noise / (r - war_a) * std::max(1.0, std::log(1.0 / noise))) << noise;
    EXPECT_GT(refuse, 0.5 * noise / (r - war_a)) << noise;
    EXPECT_LT(x, r);
    EXPECT_GT(x, r - 50.0 * noise * std::max(1.0, std::log(1.0 / noise)));
  }
}

// Under noise each type's belief is weighted by its chance of the answer
// (Bayes' rule with logit likelihoods): no type is ruled out, and the
// belief is a martingale: its expectation over the answers is the prior.
TEST(NoisyScreeningTest, BayesRuleWithLogitLikelihoods) {
  const std::vector<double> cost = {0.0, 0.2, 0.45}, prior = {0.3, 0.4, 0.3};
  const double x0 = 0.5, offer = 0.7, noise = 0.05;
  std::vector<double> yes = prior, no = prior;
  rules::screen_types(yes.data(), cost.data(), 3, offer, x0, true, noise);
  rules::screen_types(no.data(), cost.data(), 3, offer, x0, false, noise);
  double p_yes = 0.0;
  for (int k = 0; k < 3; ++k) p_yes += prior[k] / (1.0 + std::exp(-(x0 + cost[k] - offer) / noise));
  for (int k = 0; k < 3; ++k) {
    const double like = 1.0 / (1.0 + std::exp(-(x0 + cost[k] - offer) / noise));
    EXPECT_NEAR(yes[k], prior[k] * like / p_yes, 1e-12);
    EXPECT_NEAR(no[k], prior[k] * (1.0 - like) / (1.0 - p_yes), 1e-12);
    EXPECT_GT(yes[k], 0.0);
    EXPECT_GT(no[k], 0.0);
    EXPECT_NEAR(p_yes * yes[k] + (1.0 - p_yes) * no[k], prior[k], 1e-12);
  }
}

// The chance that discrete types accept demand x (best responses, ties accepted).
double discrete_accept(double x, double x0, const std::vector<double>& cost, const std::vector<double>& belief) {
  double accept = 0.0;
  for (std::size_t k = 0; k < cost.size(); ++k) accept += cost[k] >= x - x0 - rules::kAcceptTolerance ? belief[k] : 0.0;
  return accept;
}
// The proposer's expected value of demand x.
double discrete_value(double x, double x0, double war_a, const std::vector<double>& cost,
                      const std::vector<double>& belief) {
  const double accept = discrete_accept(x, x0, cost, belief);
  return accept * x + (1.0 - accept) * war_a;
}

struct DiscreteCase {
  double x0, war_a;
  std::vector<double> cost, belief;
  bool war_at_once;  // the closed form: every share x0 + c_k of a type believed possible is below W_A
};

// One rule for both beliefs: no offer when even the costliest type believed
// possible would take less than war is worth (no_bargaining_range at
// highest_believed_cost); otherwise the best of the reservation shares.
TEST(DiscreteDemandTest, WarAtOnceExactlyWhenNoReservationShareBeatsWar) {
  const std::vector<DiscreteCase> cases = {
      {0.5, 0.45, {-0.2, -0.1, -0.1}, {0.3, 0.3, 0.4}, true},  // the tester's: 0.4 was offered, worth 0.415
      {0.5, 0.6, {0.0, 0.08}, {0.4, 0.6}, true},
      {0.5, 0.5, {-0.3, -0.05}, {0.25, 0.75}, true},
      {0.5, 0.45, {-0.2, 0.0}, {0.4, 0.6}, false},  // 0.5 beats war; worth 0.48
      {0.5, 0.55, {0.0, 0.1}, {0.5, 0.5}, false},
      {0.3, 0.2, {0.05, 0.4}, {0.6, 0.4}, false},
      {0.8, 0.95, {0.1, 0.4}, {0.5, 0.5}, false},             // the whole stake, 1, beats war
      {0.5, 0.45, {-0.2, -0.1, 0.5}, {0.4, 0.6, 0.0}, true},  // a costly type believed impossible
  };
  for (const DiscreteCase& c : cases) {
    const int n = static_cast<int>(c.cost.size());
    const double high = rules::highest_believed_cost(c.cost.data(), c.belief.data(), n);
    EXPECT_EQ(rules::no_bargaining_range(c.x0, c.war_a, high), c.war_at_once) << c.x0 << " " << c.war_a;
    // Brute force over every demand some type might accept (a demand refused for sure is war, worth
    // W_A): the best one beats war iff there is a range.
    double best = -1e300;
    for (int g = 0; g <= 100000; ++g)
      if (discrete_accept(g / 100000.0, c.x0, c.cost, c.belief) > 0.0)
        best = std::max(best, discrete_value(g / 100000.0, c.x0, c.war_a, c.cost, c.belief));
    EXPECT_EQ(best < c.war_a, c.war_at_once) << best << " " << c.war_a;
    if (c.war_at_once) continue;
    const rules::Demand d = rules::discrete_demand(c.x0, c.war_a, c.cost.data(), c.belief.data(), n);
    EXPECT_NEAR(d.value, best, 1e-9);
    EXPECT_NEAR(discrete_value(d.offer, c.x0, c.war_a, c.cost, c.belief), best, 1e-9);
  }
}

TEST(DiscreteDemandTest, TypesBelievedImpossibleNeverChangeTheDemand) {
  const std::vector<double> cost = {-0.2, 0.05, 0.3}, belief = {0.3, 0.5, 0.2};
  for (double x0 : {0.2, 0.5, 0.8})
    for (double war_a : {-0.3, 0.3, 0.45, 0.6, 0.9})
      for (double ghost : {-1.0, -0.1, 0.0, 0.1, 0.2, 0.6, 2.0})
        for (int at = 0; at <= 3; ++at) {
          std::vector<double> c = cost, b = belief;
          c.insert(c.begin() + at, ghost);
          b.insert(b.begin() + at, 0.0);
          const rules::Demand plain = rules::discrete_demand(x0, war_a, cost.data(), belief.data(), 3);
          const rules::Demand more = rules::discrete_demand(x0, war_a, c.data(), b.data(), 4);
          EXPECT_EQ(more.offer, plain.offer) << x0 << " " << war_a << " " << ghost;
          EXPECT_EQ(more.value, plain.value);
          EXPECT_EQ(rules::highest_believed_cost(c.data(), b.data(), 4),
                    rules::highest_believed_cost(cost.data(), belief.data(), 3));
        }
}

TEST(OfferRoundTest, OffersFallOnTheirDays) {
  Bargaining b;
  b.first_day = 2.0;
  b.interval_days = 3.0;
  b.rounds = 3;
  std::vector<int> rounds;
  for (int s = 0; s < 14; ++s) rounds.push_back(rules::offer_round(s, 1.0, b));
  EXPECT_EQ(rounds, (std::vector<int>{-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, -1, -1, -1}));
  b.first_day = 0.3;  // decimal days land in their step (dt 0.1)
  b.interval_days = 0.2;
  EXPECT_EQ(rules::offer_round(3, 0.1, b), 0);
  EXPECT_EQ(rules::offer_round(5, 0.1, b), 1);
  EXPECT_EQ(rules::offer_round(4, 0.1, b), -1);
}

Model bargaining_model(const std::string& name, const std::vector<Override>& overrides) {
  const std::string path = std::string(BRINK_SOURCE_DIR) + "/scenarios/validation/" + name + ".yaml";
  return Model(load_scenario(read_scenario_file(path), overrides).scenario);
}

TEST(BargainingTwinTest, KernelAndScalarTwinMakeTheSameOffersAndWars) {
  const std::vector<std::pair<std::string, std::vector<Override>>> cases = {
      {"bargaining-ultimatum", {}},
      {"bargaining-ultimatum",
       {{"bargaining.rounds", "3"}, {"actors.PROPOSER.decision.casualty_cost", "0.3"}, {"bargaining.discount", "0.9"}}},
      {"bargaining-ultimatum",  // a noisy receiver: one round over a uniform belief (noisy_rounds_need_typed_costs)
       {{"bargaining.acceptance_noise", "0.05"},
        {"actors.PROPOSER.decision.casualty_cost", "0.3"},
        {"bargaining.discount", "0.9"}}},
      {"bargaining-deterrence", {}},
      {"bargaining-commitment", {}},
      {"bargaining-commitment", {{"bargaining.shift_growth", "0.1"}}},
      {"bargaining-signals", {}},
      {"bargaining-signals", {{"actors.RECEIVER.actions.signal.cost", "0.3"}, {"bargaining.rounds", "2"}}},
      {"bargaining-signals",  // noisy answers screen the types by Bayes' rule with logit likelihoods
       {{"actors.RECEIVER.actions.signal.cost", "0.3"},
        {"bargaining.rounds", "2"},
        {"bargaining.acceptance_noise", "0.05"}}},
      {"bargaining-signals",  // no bargaining range over the types: war at once
       {{"actors.RECEIVER.actions.signal.cost", "0.3"},
        {"actors.RECEIVER.types.resolved.war_cost", "-0.2"},
        {"actors.RECEIVER.types.irresolute.war_cost", "-0.1"},
        {"actors.PROPOSER.decision.war_cost", "0.05"},
        {"bargaining.rounds", "2"}}},
  };
  for (const auto& [name, overrides] : cases) {
    SCOPED_TRACE(name + " with " + std::to_string(overrides.size()) + " overrides");
    const Model model = bargaining_model(name, overrides);
    const BlockSpec spec{0, kBlockLanes, kBlockLanes};
    const BlockResult v = simulate_block(model, spec);
    const BlockResult t = simulate_block_scalar(model, spec);
    ASSERT_EQ(v.war_cost, t.war_cost);
    ASSERT_EQ(v.offer.size(), t.offer.size());
    int same = 0;
    for (std::size_t r = 0; r < v.offer.size(); ++r) {
      if (std::isnan(t.offer[r])) {
        EXPECT_TRUE(std::isnan(v.offer[r]));
      } else {
        EXPECT_NEAR(v.offer[r], t.offer[r], 1e-12);
      }
      same += v.outcome[r] == t.outcome[r] && v.end_step[r] == t.end_step[r];
    }
    EXPECT_GE(same, kBlockLanes - 1);
  }
}

}  // namespace
}  // namespace brink
