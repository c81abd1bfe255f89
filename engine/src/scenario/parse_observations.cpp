// The `observations:` and `calibrate:` blocks of a scenario file, and
// `run.start_date`. Read after every other section: observations name actors
// and rungs, priors name settable paths.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "yaml_reader.hpp"

namespace brink::yaml_reader {
namespace {

constexpr std::string_view kQuantities = "forces, rung, war_started, incidents";
// A range is read as a 95% interval of a normal measurement error.
constexpr double kRangeWidthInSd = 2.0 * 1.959963984540054;

// The values a quantity can take in a replication, so also its mean or
// quantile over replications; an observed value or range bound outside them
// is a mistake, not a measurement.
struct Domain {
  double lower, upper;
  std::string_view text;
};
Domain domain_of(ObservedQuantity q) {
  switch (q) {
    case ObservedQuantity::kForces:
      return {0.0, std::numeric_limits<double>::infinity(), "troops, at least 0"};
    case ObservedQuantity::kIncidents:
      return {0.0, std::numeric_limits<double>::infinity(), "a count, at least 0"};
    case ObservedQuantity::kRung:
    case ObservedQuantity::kWarStarted:
      break;
  }
  return {0.0, 1.0, "a probability, in [0, 1]"};
}
bool in(const Domain& d, double v) { return v >= d.lower && v <= d.upper; }

// The smallest and largest sd accepted, relative to the value: below the
// floor no measurement is meant, and (statistic - value) / sd can overflow to
// an infinite distance; above the ceiling the observation carries no
// information, and the measurement noise sd·z added to a statistic can
// overflow.
constexpr double kRelativeSdFloor = 1e-12;
constexpr double kRelativeSdCeiling = 1e12;

bool parse_quantity(std::string_view name, ObservedQuantity* q) {
  for (int k = 0; k < 4; ++k)
    if (to_string(static_cast<ObservedQuantity>(k)) == name) {
      *q = static_cast<ObservedQuantity>(k);
      return true;
    }
  return false;
}

// A date is written as text or under YAML 1.1's !!timestamp; another tag names another type.
bool date_node(const YAML::Node& node) {
  return node.IsScalar() && (plain_text_node(node) || node.Tag() == "tag:yaml.org,2002:timestamp");
}
// A date refused, as the message quotes it: 'text', or '!tag text'; write it without the tag.
// A date untagged shows what can hide in it: the blanks around it (a quoted
// "2024-03-01 ") and invisible characters (a zero-width space), escaped.
std::string refused_date(const YAML::Node& date) {
  const bool tagged = date.IsScalar() && !date_node(date);
  if (date.IsScalar() && !tagged)
    return fmt::format("'{}'{}", shown_value(date.Scalar()), blank_edges_note(date.Scalar()));
  return fmt::format("'{}'{}", as_text_written(date, tagged), tagged ? "; write it without the tag" : "");
}

// A finite number under `key`, or nothing (reported) when present but not a number.
bool number(Parser& p, const YAML::Node& map, const std::string& key, const std::string& path, double* value) {
  const YAML::Node node = get(map, key);
  if (!node.IsDefined() || node.IsNull()) return false;
  if (!parse_number(node, value)) {
    p.error(node, fmt::format("'{}.{}' must be a finite number, got '{}'", path, key, scalar_text(node)));
    return false;
  }
  return true;
}

}  // namespace

bool model_day_of_date(Parser& p, const YAML::Node& date, const std::string& path, const Scenario& s, bool refused,
                       double* day) {
  std::int64_t days = 0, start = 0;
  if (!date_node(date) || !parse_iso_date(date.Scalar(), &days)) {
    p.error(date, fmt::format("'{}' must be an ISO date like 2022-01-19, got {}", path, refused_date(date)));
    return false;
  }
  if (refused) return false;
  if (s.run.start_date.empty() || !parse_iso_date(s.run.start_date, &start)) {
    p.error(date, fmt::format("'{}' needs 'run.start_date' (the calendar date of day 0); without it give 'day' "
                              "instead",
                              path));
    return false;
  }
  *day = static_cast<double>(days - start);
  return true;
}

bool start_date_refused(const YAML::Node& root, const Scenario& s) {
  // A missing or malformed run section was reported; a date would only echo it.
  const YAML::Node run = get(root, "run");
  return !run.IsMap() ||
         (get(run, "start_date").IsDefined() && !get(run, "start_date").IsNull() && s.run.start_date.empty());
}

namespace {

// The day of an observation: `date` (needs run.start_date) or `day`.
// start_date_refused: 'run' or 'run.start_date' was given but refused (a
// date then repeats nothing but that error).
bool observation_day(Parser& p, const YAML::Node& e, const std::string& op, const Scenario& s, bool start_date_refused,
                     Observation& o) {
  const YAML::Node date = given(e, "date"), day = given(e, "day");
  if (date.IsDefined() == day.IsDefined()) {
    p.error(e,
            fmt::format("'{}' needs exactly one of 'date' (an ISO date like 2022-01-19) or 'day' (a model day)", op));
    return false;
  }
  // Before day 0 is outside any run; past the horizon only a calibration refuses
  // (observation_day_problems, validate.cpp): a --set of the horizon can move it.
  const auto before_the_start = [&](const YAML::Node& at) {
    if (o.day >= 0) return false;
    p.error(at, fmt::format("'{}' falls on day {}, before day 0, the first simulated day", op, o.day));
    return true;
  };
  if (day.IsDefined()) return number(p, e, "day", op, &o.day) && !before_the_start(day);
  if (!model_day_of_date(p, date, op + ".date", s, start_date_refused, &o.day)) return false;
  o.date = date.Scalar();
  return !before_the_start(date);
}

// value and sd, or range [lo, hi] (a 95% interval; its midpoint is the value unless `value` is given).
void observation_value(Parser& p, const YAML::Node& e, const std::string& op, Observation& o) {
  const YAML::Node value = get(e, "value");
  const YAML::Node sd = get(e, "sd"), range = get(e, "range");
  // Whether it had happened by the date: true or false, or without a value a
  // range on the probability scale, whose midpoint is the value.
  const bool binary = o.quantity == ObservedQuantity::kRung || o.quantity == ObservedQuantity::kWarStarted;
  if (binary && (value.IsDefined() || !range.IsDefined())) {
    if (!plain_text_node(value, true) || (value.Scalar() != "true" && value.Scalar() != "false")) {
      const bool tagged = value.IsScalar() && !plain_text_node(value, true);
      const std::string_view hint = !value.IsDefined() ? "; or give a 'range' of its probability"
                                    : tagged           ? "; write it without the tag"
                                                       : "";
      p.error(value.IsDefined() ? value : e,
              fmt::format("'{}.value' must be true or false (whether it had happened by the date), got '{}'{}", op,
                          as_text_written(value, tagged), hint));
      return;
    }
    o.value = value.Scalar() == "true" ? 1.0 : 0.0;
  }
  if (sd.IsDefined() == range.IsDefined()) {
    p.error(e, fmt::format("'{}' needs exactly one uncertainty: 'sd' (a standard deviation) or 'range' "
                           "([low, high], read as a 95% interval)",
                           op));
    return;
  }
  const Domain domain = domain_of(o.quantity);
  bool has_value = binary ? value.IsDefined() : number(p, e, "value", op, &o.value);
  if (has_value && !binary && !in(domain, o.value)) {
    p.error(value, fmt::format("'{}.value' is {}, outside what quantity '{}' can be ({})", op, value.Scalar(),
                               to_string(o.quantity), domain.text));
    return;
  }
  if (sd.IsDefined()) {
    if (!number(p, e, "sd", op, &o.sd)) {
      if (sd.IsNull()) p.error(sd, fmt::format("'{}.sd' must be a positive number, got nothing", op));
      return;
    }
    if (!(o.sd > 0)) {
      p.error(sd, fmt::format("'{}.sd' must be positive, got {}", op, sd.Scalar()));
      return;
    }
  } else {
    double lo = 0, hi = 0;
    if (!range.IsSequence() || range.size() != 2) {
      p.error(range, fmt::format("'{}.range' must be [low, high] with low < high", op));
      return;
    }
    for (const auto& [bound, name, out] : {std::tuple{range[0], "low", &lo}, std::tuple{range[1], "high", &hi}}) {
      if (parse_number(bound, out)) continue;  // finite: parse_number takes no inf or nan
      p.error(bound, fmt::format("'{}.range' must be [low, high] with low < high; its {} is not a finite number: {}",
                                 op, name, scalar_text(bound)));
      return;
    }
    if (!(lo < hi)) {
      p.error(range, fmt::format("'{}.range' must be [low, high] with low < high, got [{}, {}]", op, range[0].Scalar(),
                                 range[1].Scalar()));
      return;
    }
    if (has_value && !(lo <= o.value && o.value <= hi)) {
      p.error(value, fmt::format("'{}.value' is {}, outside its own range [{}, {}] (read as its 95% interval)", op,
                                 value.Scalar(), range[0].Scalar(), range[1].Scalar()));
      return;
    }
    if (!in(domain, lo) || !in(domain, hi)) {
      p.error(range, fmt::format("'{}.range' is [{}, {}], outside what quantity '{}' can be ({})", op,
                                 range[0].Scalar(), range[1].Scalar(), to_string(o.quantity), domain.text));
      return;
    }
    o.sd = (hi - lo) / kRangeWidthInSd;
    if (!has_value) o.value = 0.5 * (lo + hi);
    has_value = true;
  }
  if (!has_value) {  // a 'value' that is there but no number was reported where it stands
    if (!get(e, "value").IsDefined())
      p.error(e, fmt::format("'{}' needs 'value' (or a 'range' whose midpoint is the value)", op));
    return;
  }
  // The sd must lie within [1e-12, 1e12] x max(1, |value|).
  const double scale = std::max(1.0, std::abs(o.value));
  const bool too_wide = o.sd > kRelativeSdCeiling * scale;
  if (!too_wide && o.sd >= kRelativeSdFloor * scale) return;
  const double bound = (too_wide ? kRelativeSdCeiling : kRelativeSdFloor) * scale;
  const std::string_view side = too_wide ? "above 1e12" : "below 1e-12";
  const std::string_view why =
      too_wide ? "no measurement is that imprecise (the observation would carry no information), and the noise "
                 "N(0, sd^2) added to a statistic could overflow"
               : "no measurement is that precise, and the standardized distance (statistic - value) / sd would "
                 "overflow";
  if (sd.IsDefined())
    p.error(sd, fmt::format("'{}.sd' is {}, {} x max(1, |value|) = {:.3g} for value {}: {}", op, sd.Scalar(), side,
                            bound, o.value, why));
  else
    p.error(range, fmt::format("'{}.range' [{}, {}] is too {}: its sd (high - low) / 3.92 = {:.3g} is {} x max(1, "
                               "|value|) = {:.3g} for value {}: {}",
                               op, range[0].Scalar(), range[1].Scalar(), too_wide ? "wide" : "narrow", o.sd, side,
                               bound, o.value, why));
}

void parse_observation(Parser& p, const YAML::Node& e, const std::string& op, const std::vector<std::string>& ids,
                       bool start_date_refused, Scenario& s) {
  if (!p.check_map(
          e, op,
          {"quantity", "actor", "pool", "rung", "date", "day", "value", "sd", "range", "quantile", "source", "note"}))
    return;
  p.note(e, op);
  Observation o;
  o.id = op.substr(std::string_view("observations.").size());
  const std::string q = p.text(e, "quantity", op, "", true);
  if (!q.empty() && !parse_quantity(q, &o.quantity)) {
    p.error(get(e, "quantity"), fmt::format("'{}.quantity' must be one of {}, got '{}'", op, kQuantities, q));
    return;
  }
  o.source = p.text(e, "source", op, "", true);
  if (o.quantity == ObservedQuantity::kForces) {
    o.actor = get(e, "actor").IsDefined() ? p.actor(get(e, "actor"), op + ".actor", ids) : -1;
    if (!get(e, "actor").IsDefined()) p.error(e, fmt::format("missing required key 'actor' in '{}'", op));
    const std::string pool = p.text(e, "pool", op, "deployed");
    static constexpr std::string_view kPools[] = {"deployed", "ready", "reserve", "total"};
    o.pool = -1;
    for (int k = 0; k < 4; ++k)
      if (pool == kPools[k]) o.pool = k;
    if (o.pool < 0)
      p.error(get(e, "pool"), fmt::format("'{}.pool' must be deployed, ready, reserve or total, got '{}'", op, pool));
  } else if (get(e, "actor").IsDefined() || get(e, "pool").IsDefined()) {
    p.error(e, fmt::format("'{}': 'actor' and 'pool' apply only to quantity 'forces'", op));
  }
  if (o.quantity == ObservedQuantity::kRung) {
    if (!get(e, "rung").IsDefined())
      p.error(e, fmt::format("missing required key 'rung' in '{}' (the rung reached)", op));
    else
      o.rung = p.rung(get(e, "rung"), op + ".rung", s.escalation.rungs);
  } else if (get(e, "rung").IsDefined()) {
    p.error(get(e, "rung"), fmt::format("'{}.rung' applies only to quantity 'rung'", op));
  }
  // Whether the day lies in the run is a calibration's check (observation_day_problems,
  // validate.cpp): a --set of the horizon can move it.
  if (!observation_day(p, e, op, s, start_date_refused, o)) {
    // Its day is unknown (reported, or only an echo of a refused start_date):
    // checks over it would judge day 0 in its place.
    p.unread(op + ".date");
    p.unread(op + ".day");
  }
  observation_value(p, e, op, o);
  double quantile = 0;
  if (number(p, e, "quantile", op, &quantile)) {
    if (!(quantile > 0 && quantile < 1))
      p.error(get(e, "quantile"), fmt::format("'{}.quantile' must be in (0, 1), got {}", op, quantile));
    o.quantile = quantile;
  }
  s.observations.push_back(std::move(o));
}

bool parse_prior_kind(std::string_view name, PriorKind* kind) {
  for (int k = 0; k < 5; ++k)
    if (to_string(static_cast<PriorKind>(k)) == name) {
      *kind = static_cast<PriorKind>(k);
      return true;
    }
  return false;
}

// One prior; its support is checked against the field's range here, the
// cross-field rules at its corners by the calibrator (after --set).
// A normal prior whose support lies this many sd or more from its mean has
// mass below Φ(−8) ≈ 6e-16 there, under a double's resolution: its draws
// pile up on the bound.
constexpr double kFarTail = 8.0;
// The calibrator weighs each particle by its prior's log density (smc.cpp,
// importance_weights): −t²/2 with t = (x − mean)/sd for a normal, −rate·x for
// an exponential. Past |t| or rate·x of 1e154 that overflows a double and
// every weight becomes NaN; 1e150 on the whole support keeps the density,
// and its sum over any number of parameters, finite.
constexpr double kLargestLogDensityTerm = 1e150;

void parse_prior(Parser& p, const YAML::Node& e, const std::string& pp, const ParameterInfo& field, PriorSpec& prior) {
  if (!p.check_map(e, pp, {"prior", "min", "max", "mean", "sd", "rate", "note"})) return;
  p.note(e, pp);
  const std::string kind = p.text(e, "prior", pp, "", true);
  if (!kind.empty() && !parse_prior_kind(kind, &prior.kind)) {
    p.error(get(e, "prior"), fmt::format("'{}.prior' must be uniform, log_uniform, normal, truncated_normal or "
                                         "exponential, got '{}'",
                                         pp, kind));
    return;
  }
  const std::size_t problems_before = p.problem_count();
  const bool bounded = prior.kind == PriorKind::kUniform || prior.kind == PriorKind::kLogUniform ||
                       prior.kind == PriorKind::kTruncatedNormal;
  const bool normal = prior.kind == PriorKind::kNormal || prior.kind == PriorKind::kTruncatedNormal;
  prior.lower = field.min;
  prior.upper = field.max;
  double v = 0;
  for (const char* key : {"min", "max"}) {
    const bool given = number(p, e, key, pp, &v);
    if (given && !(bounded || prior.kind == PriorKind::kExponential))
      p.error(get(e, key), fmt::format("'{}.{}' does not apply to a {} prior", pp, key, kind));
    else if (!given && bounded && !get(e, key).IsDefined())
      p.error(e, fmt::format("missing required key '{}' in '{}' (a {} prior)", key, pp, kind));
    if (given) (std::string_view(key) == "min" ? prior.lower : prior.upper) = v;
  }
  for (const char* key : {"mean", "sd"}) {
    const bool given = number(p, e, key, pp, &v);
    if (given != normal && (given || !get(e, key).IsDefined()))
      p.error(given ? get(e, key) : e, given ? fmt::format("'{}.{}' does not apply to a {} prior", pp, key, kind)
                                             : fmt::format("missing required key '{}' in '{}'", key, pp));
    if (given) (std::string_view(key) == "mean" ? prior.mean : prior.sd) = v;
  }
  const bool has_rate = number(p, e, "rate", pp, &prior.rate);
  if (has_rate != (prior.kind == PriorKind::kExponential) && (has_rate || !get(e, "rate").IsDefined()))
    p.error(has_rate ? get(e, "rate") : e, has_rate ? fmt::format("'{}.rate' applies only to an exponential prior", pp)
                                                    : fmt::format("missing required key 'rate' in '{}'", pp));
  if (normal && !(prior.sd > 0))
    p.error(get(e, "sd"), fmt::format("'{}.sd' must be positive, got {}", pp, scalar_text(get(e, "sd"))));
  if (prior.kind == PriorKind::kExponential && !(prior.rate > 0))
    p.error(get(e, "rate"), fmt::format("'{}.rate' must be positive, got {}", pp, scalar_text(get(e, "rate"))));
  if (prior.kind == PriorKind::kExponential && get(e, "min").IsDefined())
    p.error(get(e, "min"), fmt::format("'{}': an exponential prior starts at 0; give only 'max'", pp));
  if (prior.kind == PriorKind::kExponential) prior.lower = 0.0;
  // The support is checked once its bounds were read: one problem, one message.
  if (p.problem_count() != problems_before) return;
  if (prior.kind == PriorKind::kLogUniform && !(prior.lower > 0))
    p.error(e, fmt::format("'{}': a log_uniform prior needs min > 0, got {}", pp, prior.lower));
  else if (!(prior.lower < prior.upper))
    p.error(e, fmt::format("'{}': the prior's support [{}, {}] is empty (min must be below max)", pp, prior.lower,
                           prior.upper));
  else if (prior.lower < field.min || prior.upper > field.max)
    p.error(e, fmt::format("'{}': the prior's support [{}, {}] leaves the field's range [{}, {}]{}", pp, prior.lower,
                           prior.upper, field.min, field.max, field.unit.empty() ? "" : " " + field.unit));
  else if (normal && (prior.mean - kFarTail * prior.sd > prior.upper || prior.mean + kFarTail * prior.sd < prior.lower))
    p.error(e, fmt::format("'{}': the {} prior (mean {}, sd {}) has no mass worth drawing on its support [{}, {}], "
                           "more than {} sd away: every draw would be the bound; move the mean, widen the sd, or "
                           "use a uniform prior",
                           pp, kind, prior.mean, prior.sd, prior.lower, prior.upper, kFarTail));
  else if (const double reach = std::max(prior.upper - prior.mean, prior.mean - prior.lower);
           normal && !(prior.sd >= reach / kLargestLogDensityTerm))
    p.error(get(e, "sd"), fmt::format("'{}.sd' is {}, too small for the support [{}, {}]: the prior's log density "
                                      "-((x - mean)/sd)^2/2 overflows a double there and every particle's weight "
                                      "would be NaN; give an sd of at least {:.3g}",
                                      pp, prior.sd, prior.lower, prior.upper, reach / kLargestLogDensityTerm));
  else if (prior.kind == PriorKind::kExponential && !(prior.rate * prior.upper <= kLargestLogDensityTerm))
    p.error(get(e, "rate"), fmt::format("'{}.rate' is {}, too large for the support [0, {}]: the prior's log density "
                                        "-rate*x overflows a double there and every particle's weight would be NaN; "
                                        "give a rate of at most {:.3g}",
                                        pp, prior.rate, prior.upper, kLargestLogDensityTerm / prior.upper));
}

}  // namespace

// Whether observation a's value is at most b's in every world: the quantity
// only grows with the day (a rung reached, a war begun, incidents counted),
// and a rung reached means every lower one was; both read the same statistic.
bool at_most(const Observation& a, const Observation& b) {
  if (a.quantity != b.quantity || a.quantity == ObservedQuantity::kForces || a.quantile != b.quantile) return false;
  return a.day <= b.day && (a.quantity != ObservedQuantity::kRung || a.rung >= b.rung);
}

// What observation o states, for a message: "rung 'tense' by day 3".
std::string statement(const Observation& o, const Scenario& s) {
  switch (o.quantity) {
    case ObservedQuantity::kRung:
      return fmt::format("rung '{}' by day {}", s.escalation.rungs[static_cast<std::size_t>(o.rung)], o.day);
    case ObservedQuantity::kWarStarted:
      return fmt::format("war started by day {}", o.day);
    default:
      return fmt::format("incidents through day {}", o.day);
  }
}

// For each observation b, the largest value of the observations a with
// at_most(a, b), b itself among them (−∞ for forces, which no order binds):
// each (quantity, statistic, rung) is sorted by day with a running maximum,
// so a file of thousands of observations is judged in O(m·rungs·log m).
std::vector<double> highest_at_most(const std::vector<Observation>& obs) {
  struct Reading {
    double day, highest;  // highest: the largest value up to this day
  };
  std::map<std::tuple<ObservedQuantity, double, int>, std::vector<Reading>> groups;
  for (const Observation& o : obs)
    if (o.quantity != ObservedQuantity::kForces) groups[{o.quantity, o.quantile, o.rung}].push_back({o.day, o.value});
  for (auto& [key, readings] : groups) {
    std::sort(readings.begin(), readings.end(), [](const Reading& x, const Reading& y) { return x.day < y.day; });
    for (std::size_t k = 1; k < readings.size(); ++k)
      readings[k].highest = std::max(readings[k].highest, readings[k - 1].highest);
  }
  std::vector<double> highest(obs.size(), -std::numeric_limits<double>::infinity());
  for (std::size_t b = 0; b < obs.size(); ++b) {
    const Observation& o = obs[b];
    if (o.quantity == ObservedQuantity::kForces) continue;
    // Every rung at or above b's reached by its day is at most it; other quantities have the one group.
    for (auto it = groups.lower_bound({o.quantity, o.quantile, o.rung});
         it != groups.end() && std::get<0>(it->first) == o.quantity && std::get<1>(it->first) == o.quantile; ++it) {
      const std::vector<Reading>& readings = it->second;
      const auto end = std::upper_bound(readings.begin(), readings.end(), o.day,
                                        [](double day, const Reading& r) { return day < r.day; });
      if (end != readings.begin()) highest[b] = std::max(highest[b], std::prev(end)->highest);
    }
  }
  return highest;
}

// Observations that no world can satisfy together: a value that must be at
// most another's (at_most) but lies above it by more than kConflictSd·√m of
// their combined sd, a distance no calibration could fit; refused at the
// second's value, naming the first's line. `nodes`: each observation's node.
void contradicting_observations(Parser& p, const std::vector<YAML::Node>& nodes, const Scenario& s) {
  const std::vector<Observation>& obs = s.observations;
  const double bound = kConflictSd * std::sqrt(static_cast<double>(obs.size()));
  // Only an observation with a higher value at most it by more than bound·sd
  // can be the second of a pair (their combined sd is at least its own); the
  // pairs are then searched as before, first by first, among those alone.
  // The margin keeps every pair whose distance rounds above the bound.
  const std::vector<double> highest = highest_at_most(obs);
  std::vector<std::size_t> seconds;
  for (std::size_t b = 0; b < obs.size(); ++b)
    if (highest[b] - obs[b].value > 0.999 * bound * obs[b].sd) seconds.push_back(b);
  if (seconds.empty()) return;
  // The value as written, or the range it is the midpoint of.
  const auto key = [](const YAML::Node& e) { return get(e, "value").IsDefined() ? "value" : "range"; };
  const auto written = [&](const YAML::Node& e) {
    const YAML::Node v = get(e, key(e));
    return v.IsScalar() ? v.Scalar() : fmt::format("[{}, {}]", v[0].Scalar(), v[1].Scalar());
  };
  for (std::size_t a = 0; a < obs.size(); ++a)
    for (const std::size_t b : seconds) {
      if (a == b || !at_most(obs[a], obs[b])) continue;
      const double apart = (obs[a].value - obs[b].value) / std::hypot(obs[a].sd, obs[b].sd);
      if (!(apart > bound)) continue;
      // Same day and statistic: two readings of one value; else the later (or lower-rung) one cannot be smaller.
      const bool same =
          obs[a].day == obs[b].day && (obs[a].quantity != ObservedQuantity::kRung || obs[a].rung == obs[b].rung);
      p.error(get(nodes[b], key(nodes[b])),
              fmt::format("'observations.{}.{}' is {} ({}), below 'observations.{}.{}' {} at line {} ({}), {}; the two "
                          "lie {:.3g} sd apart, beyond the {:.3g} within which a calibration can fit them",
                          obs[b].id, key(nodes[b]), written(nodes[b]), statement(obs[b], s), obs[a].id, key(nodes[a]),
                          written(nodes[a]), mark_of(get(nodes[a], key(nodes[a]))).line + 1, statement(obs[a], s),
                          same ? "yet both read one and the same value in every world"
                               : "though in no world is the first below the second",
                          apart, bound));
      return;
    }
}

void parse_start_date(Parser& p, const YAML::Node& run, Scenario& s) {
  const YAML::Node date = get(run, "start_date");
  if (!date.IsDefined() || date.IsNull()) return;
  std::int64_t days = 0;
  if (!date_node(date) || !parse_iso_date(date.Scalar(), &days)) {
    p.error(date, fmt::format("'run.start_date' must be an ISO date like 2022-01-24, got {}", refused_date(date)));
    return;
  }
  s.run.start_date = date.Scalar();
}

void parse_observations(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node obs = get(root, "observations");
  if (obs.IsDefined()) p.place("observations", obs);  // an empty block is named at its place
  if (!obs.IsDefined() || obs.IsNull()) return;
  if (!obs.IsMap()) {
    p.error(obs,
            "'observations' must be a mapping of observation name to {quantity, date or day, value, sd or "
            "range, source}");
    return;
  }
  p.no_duplicates(obs, "observations");
  const std::size_t problems_before = p.problem_count();
  std::vector<std::string> ids;
  for (const Actor& a : s.actors) ids.push_back(a.id);
  const bool date_refused = start_date_refused(root, s);
  std::vector<YAML::Node> nodes;
  for (const auto& entry : obs) {
    if (!entry.first.IsScalar()) continue;  // reported by no_duplicates
    const std::string op = "observations." + entry.first.Scalar();
    p.place(op, entry.second);
    parse_observation(p, entry.second, op, ids, date_refused, s);
    nodes.resize(s.observations.size(), entry.second);
  }
  // Only between observations read without a problem: one refused would be judged on values it does not have.
  if (p.problem_count() == problems_before) contradicting_observations(p, nodes, s);
  // Whether incidents are observed on the last observed step is a
  // calibration's check (observation_day_problems, validate.cpp): it reads
  // dt_days, which a --set can change.
}

void parse_calibrate(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node cal = get(root, "calibrate");
  if (!cal.IsDefined() || cal.IsNull()) return;
  if (!p.check_map(cal, "calibrate", p.section_keys("calibrate", s))) return;
  CalibrateSpec& spec = s.calibrate;
  double v = 0;
  auto whole = [&](const char* key, double lo, double hi, auto* out) {
    if (!number(p, cal, key, "calibrate", &v)) return;
    if (v < lo || v > hi || v != std::floor(v))
      p.error(get(cal, key), fmt::format("'calibrate.{}' must be a whole number in [{}, {}], got {}", key, lo, hi, v));
    else
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
  };
  whole("particles", 2, 1e7, &spec.particles);
  whole("generations", 1, kMaxGenerations, &spec.generations);
  whole("replications", 1, 1e6, &spec.replications);
  if (number(p, cal, "quantile", "calibrate", &v)) {
    if (!(v > 0 && v < 1))
      p.error(get(cal, "quantile"), fmt::format("'calibrate.quantile' must be in (0, 1), got {}", v));
    else
      spec.quantile = v;
  }
  const std::string rn = p.text(cal, "random_numbers", "calibrate", "independent");
  if (rn != "independent" && rn != "common")
    p.error(get(cal, "random_numbers"),
            fmt::format("'calibrate.random_numbers' must be 'common' or 'independent', got '{}'", rn));
  spec.common_random = rn == "common";
  const YAML::Node parameters = get(cal, "parameters");
  if (!parameters.IsDefined() || !parameters.IsMap() || parameters.size() == 0) {
    p.error(parameters.IsDefined() ? parameters : cal,
            "'calibrate.parameters' must map parameter paths to priors like {prior: uniform, min: 0, max: 1}");
    return;
  }
  p.no_duplicates(parameters, "calibrate.parameters");
  const FieldRegistry registry(s);
  for (const auto& entry : parameters) {
    if (!entry.first.IsScalar()) continue;  // reported by no_duplicates
    const std::string path = entry.first.Scalar();
    const std::string pp = "calibrate.parameters." + path;
    p.place(pp, entry.first);
    const FieldRef* ref = registry.find(path);
    if (!ref) {
      // A guess only when it is near (a typo): the nearest of a scenario
      // without the section named ('bargaining.rounds') can be anything.
      const std::vector<std::string> near = nearest_paths(registry.parameters(), path, 1);
      const bool close =
          !near.empty() && edit_distance(path, near.front()) <= std::max<std::size_t>(2, path.size() / 3);
      p.error(entry.first, fmt::format("unknown parameter '{}' in 'calibrate.parameters'{}", path,
                                       close ? "; did you mean '" + near.front() + "'?"
                                             : "; 'brink params' lists this scenario's paths"));
      continue;
    }
    const ParameterInfo& info = registry.parameters()[static_cast<std::size_t>(ref - &registry.ref(0))];
    if (!info.numeric || !ref->spec->sweepable || ref->spec->kind == FieldKind::kInteger) {
      // Why, as 'brink params' shows it: kind 'set', a range marked 'integer', or names or true/false.
      const std::string why = !ref->spec->sweepable ? "it is a run setting (kind 'set' in 'brink params')"
                              : ref->spec->kind == FieldKind::kInteger
                                  ? "it holds whole numbers (its range is marked 'integer' in 'brink params')"
                                  : "it holds names or true/false, not a number";
      p.error(entry.first,
              fmt::format("'{}' cannot be calibrated: {}; only real-valued model parameters can", path, why));
      continue;
    }
    PriorSpec prior;
    prior.path = path;
    parse_prior(p, entry.second, pp, info, prior);
    spec.priors.push_back(prior);
  }
}

}  // namespace brink::yaml_reader
