// A sweep validated over its whole declared range before anything runs, by
// reasoning over the bounds of its axes rather than by sampling points: a
// random, LHS or Sobol design that visits a bad corner only for some seeds
// must be refused for every seed.
//
// Why corners suffice: every value rule is, in each sweepable field it reads,
// either monotone (deployed_cap >= deployed, an event's day < S·dt, a
// salience > 0 making a party) or true on a convex band (an actor's priors
// summing to 1). (S·dt is not monotone in dt, but run.* settings cannot be
// swept; a new sweepable input must keep this property.)
// If a rule holds at every corner of the box its swept axes span, it holds in
// the whole box (move one coordinate at a time from the worst corner), so the
// box is valid exactly when its corners are. Grid axes span their smallest and
// largest values, which are themselves grid points; range axes span
// [min, max], which the designs never leave (sweep/design.cpp clamps).
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "brink/scenario/fields.hpp"

namespace brink {
namespace {

// 2^16 corners of one rule at most; no real sweep has more axes feeding one rule.
constexpr std::size_t kMaxCornerAxes = 16;

struct SweptField {
  const SweepAxis* axis = nullptr;
  FieldRef ref;
  double low = 0.0;
  double high = 0.0;
};

std::string range_text(const SweptField& f, SweepDesign design) {
  if (design == SweepDesign::kGrid) return fmt::format("grid values {} to {}", f.low, f.high);
  return fmt::format("{} range [{}, {}]", to_string(design), f.low, f.high);
}

std::vector<SweptField> swept_fields(const Scenario& s, const FieldRegistry& registry) {
  std::vector<SweptField> out;
  for (const SweepAxis& axis : s.sweep.axes) {
    const FieldRef* ref = registry.find(axis.path);
    if (!ref || !(ref->spec->kind == FieldKind::kNumber || ref->spec->kind == FieldKind::kInteger)) continue;
    SweptField f{.axis = &axis, .ref = *ref, .low = axis.min, .high = axis.max};
    if (s.sweep.design == SweepDesign::kGrid) {
      if (axis.values.empty()) continue;  // reported by sweep_axis_problem
      const auto [lo, hi] = std::minmax_element(axis.values.begin(), axis.values.end());
      f.low = *lo;
      f.high = *hi;
    }
    out.push_back(f);
  }
  return out;
}

// The problem at a corner, restated for the axes that caused it.
Problem crossing(const Rule& rule, const Problem& found, const std::vector<const SweptField*>& read,
                 std::uint64_t corner, SweepDesign design) {
  std::vector<const SweptField*> involved;
  for (const SweptField* f : read)
    if (std::find(found.paths.begin(), found.paths.end(), f->axis->path) != found.paths.end()) involved.push_back(f);
  if (involved.empty()) involved = read;
  Problem out;
  std::string axes, at;
  for (std::size_t i = 0; i < involved.size(); ++i) {
    const SweptField* f = involved[i];
    const auto bit = static_cast<std::size_t>(std::find(read.begin(), read.end(), f) - read.begin());
    out.paths.push_back("sweep.parameters." + f->axis->path);
    axes += fmt::format("{}'{}' ({})", i == 0 ? "" : " and ", f->axis->path, range_text(*f, design));
    at += fmt::format("{}{}={}", i == 0 ? "" : ", ", f->axis->path, (corner >> bit) & 1u ? f->high : f->low);
  }
  out.message = fmt::format(
      "sweep axis {} crosses rule {} ({}): at {}, {}; every point of a declared range must be valid, whatever the "
      "seed: narrow the range or change the fixed value",
      axes, rule.name, rule.statement, at, found.message);
  return out;
}

}  // namespace

std::vector<Problem> sweep_range_problems(const Scenario& scenario) {
  std::vector<Problem> out;
  if (scenario.sweep.empty()) return out;
  const FieldRegistry registry(scenario);
  const std::vector<SweptField> swept = swept_fields(scenario, registry);
  for (const Rule& rule : validation_rules()) {
    std::vector<const SweptField*> read;
    for (const SweptField& f : swept)
      if (std::find(rule.inputs.begin(), rule.inputs.end(), f.ref.spec->pattern()) != rule.inputs.end())
        read.push_back(&f);
    if (read.empty()) continue;
    if (read.size() > kMaxCornerAxes) {
      out.push_back({{"sweep.parameters." + read.front()->axis->path},
                     fmt::format("{} sweep axes feed the rule '{}' ({}); at most {} can be checked over their whole "
                                 "range",
                                 read.size(), rule.statement, rule.name, kMaxCornerAxes)});
      continue;
    }
    Scenario corner_scenario = scenario;
    std::vector<Problem> found;
    for (std::uint64_t corner = 0; corner < (std::uint64_t{1} << read.size()) && found.empty(); ++corner) {
      for (std::size_t k = 0; k < read.size(); ++k)
        read[k]->ref.set(corner_scenario, (corner >> k) & 1u ? read[k]->high : read[k]->low);
      rule.check(corner_scenario, &found);
      for (const Problem& p : found) out.push_back(crossing(rule, p, read, corner, scenario.sweep.design));
    }
  }
  return out;
}

}  // namespace brink
