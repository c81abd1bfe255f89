// A sweep validated over its whole declared range before anything runs, by
// reasoning over the bounds of its axes rather than by sampling points: a
// random, LHS or Sobol design that visits a bad corner only for some seeds
// must be refused for every seed.
//
// Why corners suffice: every value rule is, in each sweepable field it reads,
// either monotone (deployed_cap >= deployed, an event's day < S·dt, a
// salience > 0 making a party) or true on a convex band (an actor's priors
// summing to 1). (S·dt is not monotone in dt, but run.* settings cannot be
// swept; a new sweepable input must keep this property.) A true/false field
// is ordered false < true (0 < 1, as stored) and checked at both: a rule may
// read one only if it is monotone in it (a core issue adds to the stake).
// If a rule holds at every corner of the box its swept axes span, it holds in
// the whole box (move one coordinate at a time from the worst corner), so the
// box is valid exactly when its corners are. Grid axes span their smallest and
// largest values, which are themselves grid points; range axes span
// [min, max], which the designs never leave (sweep/design.cpp clamps).
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "brink/scenario/fields.hpp"
#include "brink/scenario/sweep_constraints.hpp"

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

// A value as the axis lists it: a number, or true/false.
std::string shown(const SweptField& f, double v) {
  if (f.ref.spec->kind != FieldKind::kBoolean || f.ref.spec->choices.size() != 2) return fmt::format("{}", v);
  return std::string(f.ref.spec->choices[v != 0.0 ? 1 : 0]);
}

std::string range_text(const SweptField& f, SweepDesign design) {
  if (design == SweepDesign::kGrid || f.axis->lever)
    return fmt::format("grid values {} to {}", shown(f, f.low), shown(f, f.high));
  return fmt::format("{} range [{}, {}]", to_string(design), f.low, f.high);
}

std::vector<SweptField> swept_fields(const Scenario& s, const FieldRegistry& registry) {
  std::vector<SweptField> out;
  for (const SweepAxis& axis : s.sweep.axes) {
    const FieldRef* ref = registry.find(axis.path);
    // Other choices are read by no rule; true/false only on a grid (sweep_axis_problem).
    const FieldKind kind = ref ? ref->spec->kind : FieldKind::kChoice;
    if (!(kind == FieldKind::kNumber || kind == FieldKind::kInteger || kind == FieldKind::kBoolean)) continue;
    SweptField f{.axis = &axis, .ref = *ref, .low = axis.min, .high = axis.max};
    const bool grid = s.sweep.design == SweepDesign::kGrid || axis.lever;
    if (kind == FieldKind::kBoolean && !grid) continue;  // refused by categorical_axis_problem
    if (grid) {
      if (axis.values.empty()) continue;  // reported by sweep_axis_problem
      const auto [lo, hi] = std::minmax_element(axis.values.begin(), axis.values.end());
      f.low = *lo;
      f.high = *hi;
    }
    out.push_back(f);
  }
  return out;
}

// Whether `rule` reads the swept field.
bool reads(const Rule& rule, const SweptField& f) {
  return std::find(rule.inputs.begin(), rule.inputs.end(), f.ref.spec->pattern()) != rule.inputs.end();
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
    at += fmt::format("{}{}={}", i == 0 ? "" : ", ", f->axis->path, shown(*f, (corner >> bit) & 1u ? f->high : f->low));
  }
  out.message = fmt::format(
      "sweep axis {} crosses rule {} ({}): at {}, {}; every point of a declared range must be valid, whatever the "
      "seed: narrow the range or change the fixed value",
      axes, rule.name, rule.statement, at, found.message);
  return out;
}

// Under constraints the points fill the box cut by (reject) or pushed onto
// (clip) linear bounds. A linear rule is worst at a vertex of that polytope:
// a kept corner, a clipped corner, or where a bound crosses an edge of the
// box out of a rejected corner. Those are the points checked here.
class ConstrainedCheck {
 public:
  ConstrainedCheck(const Scenario& s, const std::vector<SweptField>& swept)
      : scenario_(s), swept_(swept), bound_(s.sweep, s), low_(s.sweep.axes.size(), 0.0) {
    for (const SweptField& f : swept_) low_[column(f)] = f.low;
  }
  bool empty() const { return bound_.empty(); }

  // The read axes plus every axis a constraint ties to them.
  std::vector<const SweptField*> involved(std::vector<const SweptField*> read) const {
    for (bool grown = true; grown;) {
      grown = false;
      for (std::size_t k = 0; k < bound_.size(); ++k) {
        const std::vector<int> axes = bound_.axes_of(k);
        const bool touches = std::any_of(axes.begin(), axes.end(), [&](int a) {
          return std::any_of(read.begin(), read.end(), [&](const SweptField* f) { return column(*f) == a; });
        });
        if (!touches) continue;
        for (int a : axes)
          for (const SweptField& f : swept_)
            if (column(f) == a && std::find(read.begin(), read.end(), &f) == read.end()) {
              read.push_back(&f);
              grown = true;
            }
      }
    }
    return read;
  }

  // The swept fields the clip constraints read, and every one tied to them
  // (none without a clip: a reject rule moves no value).
  std::vector<const SweptField*> clipped_axes() const {
    std::vector<const SweptField*> read;
    for (std::size_t k = 0; k < bound_.size(); ++k)
      for (int a : bound_.reject(k) ? std::vector<int>() : bound_.axes_of(k))
        for (const SweptField& f : swept_)
          if (column(f) == a && std::find(read.begin(), read.end(), &f) == read.end()) read.push_back(&f);
    return read.empty() ? read : involved(read);
  }

  // The first clip that takes its target out of the field's own range, at
  // the vertices of the constrained box spanned by `axes` (the clipped value
  // is linear in the others, so it is extreme at one of them).
  std::vector<Problem> clip_range_problems(const std::vector<const SweptField*>& axes) const {
    for (std::uint64_t corner = 0; corner < (std::uint64_t{1} << axes.size()); ++corner) {
      const std::vector<double> row = corner_row(axes, corner);
      for (const Vertex& v : vertices(row, axes))
        for (const SweptField& f : swept_) {
          const int k = v.clipped_by[static_cast<std::size_t>(column(f))];
          if (k < 0) continue;
          const std::string problem = field_value_problem(*f.ref.spec, f.axis->path, v.row[column(f)]);
          if (problem.empty()) continue;
          std::string at;
          for (const SweptField* a : axes)
            at += fmt::format("{}{}={}", at.empty() ? "" : ", ", a->axis->path, row[column(*a)]);
          const std::string key = fmt::format("sweep.constraints.{}.rule", k);
          return {{{key},
                   fmt::format("'{}': clip rule '{}' takes '{}' out of its range at the corner {}: {}; change the "
                               "rule's bound or narrow the ranges",
                               key, scenario_.sweep.constraints[static_cast<std::size_t>(k)].rule, f.axis->path, at,
                               problem)}};
        }
    }
    return {};
  }

  // The first problem of `rule` at the vertices of the constrained box spanned by `axes`.
  std::vector<Problem> check(const Rule& rule, const std::vector<const SweptField*>& axes) const {
    Scenario at = scenario_;
    for (std::uint64_t corner = 0; corner < (std::uint64_t{1} << axes.size()); ++corner)
      for (const Vertex& v : vertices(corner_row(axes, corner), axes))
        if (std::vector<Problem> found = problems_at(rule, v.row, &at); !found.empty()) return found;
    return {};
  }

 private:
  struct Vertex {
    std::vector<double> row;
    std::vector<int> clipped_by;  // per axis: the constraint that clipped it last, or -1
  };

  int column(const SweptField& f) const { return static_cast<int>(f.axis - scenario_.sweep.axes.data()); }

  std::vector<double> corner_row(const std::vector<const SweptField*>& axes, std::uint64_t corner) const {
    std::vector<double> row = low_;
    for (std::size_t k = 0; k < axes.size(); ++k)
      row[column(*axes[k])] = (corner >> k) & 1u ? axes[k]->high : axes[k]->low;
    return row;
  }

  // The corner as the constraints leave it, or where reject bounds cross the
  // box's edges out of it if it is dropped.
  std::vector<Vertex> vertices(const std::vector<double>& row, const std::vector<const SweptField*>& axes) const {
    std::vector<Vertex> out;
    if (Vertex kept{row, {}}; bound_.apply(kept.row, &kept.clipped_by))
      out.push_back(std::move(kept));
    else
      add_crossings(row, axes, &out);
    return out;
  }

  void add_crossings(const std::vector<double>& row, const std::vector<const SweptField*>& axes,
                     std::vector<Vertex>* out) const {
    for (std::size_t k = 0; k < bound_.size(); ++k) {
      if (!bound_.reject(k) || !bound_.broken(k, row)) continue;
      for (const SweptField* f : axes) {
        std::vector<double> other = row;
        const int a = column(*f);
        other[a] = row[a] == f->low ? f->high : f->low;
        if (bound_.broken(k, other)) continue;
        const double s0 = bound_.slack(k, row), s1 = bound_.slack(k, other);
        Vertex crossing{row, {}};
        crossing.row[a] = row[a] + s0 / (s0 - s1) * (other[a] - row[a]);
        if (bound_.apply(crossing.row, &crossing.clipped_by)) out->push_back(std::move(crossing));
      }
    }
  }

  std::vector<Problem> problems_at(const Rule& rule, const std::vector<double>& row, Scenario* at) const {
    std::vector<Problem> found;
    std::string where;
    for (const SweptField& f : swept_) {
      const double v = row[column(f)];
      f.ref.set(*at, v);
      where += fmt::format("{}{}={}", where.empty() ? "" : ", ", f.axis->path, v);
      if (std::string problem = field_value_problem(*f.ref.spec, f.axis->path, v); !problem.empty())
        found.push_back({{"sweep.parameters." + f.axis->path}, problem + " after the sweep's constraints"});
    }
    if (found.empty()) rule.check(*at, &found);
    for (Problem& p : found) {
      p.paths.insert(p.paths.begin(), "sweep.parameters." + swept_.front().axis->path);
      for (const SweptField& f : swept_)
        if (std::find(p.paths.begin() + 1, p.paths.end(), f.axis->path) != p.paths.end()) {
          p.paths.front() = "sweep.parameters." + f.axis->path;
          break;
        }
      p.message = fmt::format(
          "the sweep crosses rule {} ({}) even under its constraints: at {}, {}; every point of a declared range "
          "must be valid, whatever the seed: add or tighten a constraint, or narrow the range",
          rule.name, rule.statement, where, p.message);
    }
    return found;
  }

  const Scenario& scenario_;
  const std::vector<SweptField>& swept_;
  BoundConstraints bound_;
  std::vector<double> low_;
};

}  // namespace

SweptRuleCheck::SweptRuleCheck(const Scenario& scenario) : at_(scenario) {
  const FieldRegistry registry(scenario);
  const std::vector<SweptField> swept = swept_fields(scenario, registry);
  for (const SweptField& f : swept)
    fields_.emplace_back(static_cast<std::size_t>(f.axis - scenario.sweep.axes.data()), f.ref);
  for (const Rule& rule : validation_rules())
    if (std::any_of(swept.begin(), swept.end(), [&](const SweptField& f) { return reads(rule, f); }))
      rules_.push_back(&rule);
}

std::string SweptRuleCheck::problem_at(std::span<const double> row) {
  if (rules_.empty()) return {};
  for (const auto& [column, ref] : fields_) ref.set(at_, row[column]);
  std::vector<Problem> found;
  for (const Rule* rule : rules_) {
    rule->check(at_, &found);
    if (found.empty()) continue;
    std::string where;
    for (const auto& field : fields_)
      where += fmt::format("{}{}={}", where.empty() ? "" : ", ", at_.sweep.axes[field.first].path, row[field.first]);
    return fmt::format("rule {} ({}) at {}: {}", rule->name, rule->statement, where, found.front().message);
  }
  return {};
}

std::vector<Problem> unreached_axis_problems(const Scenario& scenario) {
  std::vector<Problem> out;
  const FieldRegistry registry(scenario);
  for (const SweptField& f : swept_fields(scenario, registry))
    if (std::string why = unreached_reason(scenario, f.ref); !why.empty())
      out.push_back({{"sweep.parameters." + f.axis->path}, fmt::format("sweep axis '{}' {}", f.axis->path, why)});
  return out;
}

std::vector<Problem> sweep_range_problems(const Scenario& scenario) {
  std::vector<Problem> out;
  if (scenario.sweep.empty()) return out;
  const FieldRegistry registry(scenario);
  const std::vector<SweptField> swept = swept_fields(scenario, registry);
  const ConstrainedCheck constrained(scenario, swept);
  if (!constrained.empty()) {
    // A clip that leaves its field's range is the problem, whichever rule it also breaks.
    const std::vector<const SweptField*> axes = constrained.clipped_axes();
    if (axes.size() > kMaxCornerAxes)
      return {{{"sweep.constraints"},
               fmt::format("the sweep's clip constraints tie {} axes together; at most {} can be checked over their "
                           "whole range (every clipped value must stay in its field's range)",
                           axes.size(), kMaxCornerAxes)}};
    if (std::vector<Problem> found = axes.empty() ? std::vector<Problem>() : constrained.clip_range_problems(axes);
        !found.empty())
      return found;
  }
  for (const Rule& rule : validation_rules()) {
    std::vector<const SweptField*> read;
    for (const SweptField& f : swept)
      if (reads(rule, f)) read.push_back(&f);
    if (read.empty()) continue;
    if (!constrained.empty()) read = constrained.involved(read);
    if (read.size() > kMaxCornerAxes) {
      out.push_back({{"sweep.parameters." + read.front()->axis->path},
                     fmt::format("{} sweep axes feed the rule '{}' ({}); at most {} can be checked over their whole "
                                 "range",
                                 read.size(), rule.statement, rule.name, kMaxCornerAxes)});
      continue;
    }
    if (!constrained.empty()) {
      const std::vector<Problem> found = constrained.check(rule, read);
      out.insert(out.end(), found.begin(), found.end());
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
