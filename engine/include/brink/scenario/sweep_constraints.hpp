// Constraints on sampled sweep points (`sweep.constraints`): linear rules
// between fields, written as text ("actors.RUS.forces.deployed <=
// actors.RUS.forces.deployed_cap") and read by a small fixed grammar, never
// evaluated as code:
//
//   rule  := side ("<=" | ">=") side
//   side  := ["-"] term (("+" | "-") term)*
//   term  := number | path | number "*" path
//
// A path is a numeric model parameter (no run.* or output.* setting); swept
// axes take the point's value, the others the scenario's. `clip` moves the
// left side (a single swept range axis) onto the bound; `reject` drops the
// point. Both are pure functions of the design, so whether a point runs
// never depends on anything else (the seed included).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "brink/scenario/fields.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink {

// Reads `rule` into *out (terms, constant, direction, target); returns the
// problem as one sentence, or "" if none. `reject` sets the action. Ids may
// contain '-', so a word written without spaces around a '-' ("A-2") is read
// with the scenario's `parameters`: as one path when it is a known path,
// else as known paths and numbers joined by minus signs when that is its one
// reading (two readings are refused: a subtraction is then written with
// spaces); with no reading it is one path, which constraint_problem refuses.
std::string parse_constraint(const std::string& rule, bool reject, SweepConstraint* out,
                             std::span<const ParameterInfo> parameters = {});

// Checks a read constraint against the sweep (paths known, numeric and no
// run or output setting, the clip target a swept range axis not on the
// right, a sampled design, no reject with sensitivity, none with Morris);
// "" if none.
std::string constraint_problem(const SweepConstraint& c, const SweepSpec& spec,
                               const std::vector<ParameterInfo>& parameters);

// Whether clip constraint `c`, applied after `earlier`, can break one of them:
// it moves its target (down for <=, up for >=), and an earlier rule whose
// left − right grows the wrong way with that move would hold when it was
// applied and fail after. Returns the problem as one sentence naming both
// rules and the order that works, or "" if none (always for reject rules).
std::string constraint_order_problem(std::span<const SweepConstraint> earlier, const SweepConstraint& c);

// Constraints bound to the axes of a spec: each term is an axis column of a
// point row or a fixed value of the base scenario.
class BoundConstraints {
 public:
  BoundConstraints(const SweepSpec& spec, const Scenario& base);
  bool empty() const { return rules_.empty(); }
  // Applies every constraint in order to `row` (one value per axis); false if
  // a reject constraint drops the point. With `clipped_by` (one entry per
  // axis), the index of the last constraint that clipped each axis, or -1.
  // With the order constraint_order_problem accepts, every rule holds after.
  bool apply(std::span<double> row, std::vector<int>* clipped_by = nullptr) const;
  // The first constraint that `row` breaks by more than rounding, or -1.
  int first_broken(std::span<const double> row) const;
  // left − right of constraint k at `row` (> 0 breaks an at_most rule).
  double slack(std::size_t k, std::span<const double> row) const;
  std::size_t size() const { return rules_.size(); }
  bool reject(std::size_t k) const { return rules_[k].reject; }
  bool broken(std::size_t k, std::span<const double> row) const;
  // Axis columns that constraint k reads.
  std::vector<int> axes_of(std::size_t k) const;

 private:
  struct Term {
    int axis = -1;       // column of the row, or -1
    double fixed = 0.0;  // the base scenario's value when axis < 0
    double coefficient = 0.0;
  };
  struct Rule {
    std::vector<Term> terms;
    double constant = 0.0;
    bool at_most = true;
    bool reject = false;
    int target = -1;
  };
  std::vector<Rule> rules_;
};

}  // namespace brink
