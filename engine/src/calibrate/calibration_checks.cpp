#include "calibration_checks.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "brink/io/hdf5_writer.hpp"
#include "brink/scenario/observations.hpp"

namespace brink::calibration_checks {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The support [lower, upper] a prior's text ends with ("uniform [0.01, 1.5]",
// "normal mean 0 sd 1 on [-3, 3]": prior_text in cli_calibrate.cpp writes
// each bound as the shortest text that reads back to it); false if it does not.
bool prior_support(const std::string& text, double* lower, double* upper) {
  const std::size_t open = text.rfind('['), comma = text.rfind(", "), close = text.rfind(']');
  if (open == std::string::npos || comma == std::string::npos || close != text.size() - 1 || !(open < comma))
    return false;
  const auto number = [&](std::size_t from, std::size_t to, double* out) {
    const auto [ptr, ec] = std::from_chars(text.data() + from, text.data() + to, *out);
    return ec == std::errc() && ptr == text.data() + to;
  };
  return number(open + 1, comma, lower) && number(comma + 2, close, upper) && *lower <= *upper;
}

// The value of the line `name=VALUE` of a record's settings, if it has one.
std::optional<std::string> setting(const std::string& settings, std::string_view name) {
  std::istringstream in(settings);
  for (std::string line; std::getline(in, line);)
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == '=')
      return line.substr(name.size() + 1);
  return std::nullopt;
}

// A generation's distances: at least 0 (+inf only in generation 0, the
// prior's, whose candidates are all kept) and within its tolerance after it.
void check_distances(const std::string& path, const Population& p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double d = p.distance[i];
    if (p.generation == 0 ? !(d >= 0) : !(d >= 0 && d <= p.tolerance))
      throw DamagedInput(fmt::format(
          "'{}' is damaged: variable 'distances' holds {} (generation {}, particle {}), where a calibration writes {}",
          path, d, p.generation, i,
          p.generation == 0 ? std::string("a distance of at least 0")
                            : fmt::format("a distance from 0 to the generation's tolerance {}", p.tolerance)));
  }
}

}  // namespace

void check_shapes(const std::string& path, std::initializer_list<Extent> extents) {
  for (const Extent& e : extents)
    if (e.values != e.expected)
      throw DamagedInput(
          fmt::format("'{}' is damaged: variable '{}' holds {} values where its dimensions "
                      "(generation, particle, parameter, observation) give {}",
                      path, e.name, e.values, e.expected));
}

void check_some_particles(const std::string& path, std::size_t generations, std::size_t particles) {
  if (generations > 0 && particles == 0)
    throw DamagedInput(fmt::format(
        "'{}' is damaged: its {} generation{} hold no particles (the dimension 'particle' is empty), where a "
        "calibration keeps --particles of them, at least 1",
        path, generations, generations == 1 ? "" : "s"));
}

void check_weights(const std::string& path, std::size_t generation, std::span<const double> weights) {
  double total = 0;
  for (double w : weights) {
    if (!std::isfinite(w) || w < 0)
      throw DamagedInput(
          fmt::format("'{}' is damaged: generation {} has the weight {}, not a finite "
                      "non-negative number",
                      path, generation, w));
    total += w;
  }
  if (!weights.empty() && std::abs(total - 1.0) > 1e-9)
    throw DamagedInput(
        fmt::format("'{}' is damaged: the weights of generation {} sum to {:.12g}, not 1", path, generation, total));
}

// A file edited by hand is refused here, before a posterior run draws a
// value no prior allows or --resume starts from a tolerance of NaN.
void check_draws(const std::string& path, const CalibrationRecord& r) {
  const std::size_t d = r.parameters.size();
  std::vector<double> lower(d), upper(d);
  for (std::size_t a = 0; a < d; ++a)
    if (!prior_support(r.priors[a], &lower[a], &upper[a]))
      throw DamagedInput(
          fmt::format("'{}' is damaged: variable 'prior' reads '{}' for parameter '{}', not a "
                      "prior with its support [lower, upper]",
                      path, r.priors[a], r.parameters[a]));
  for (const Population& p : r.generations) {
    const bool prior = p.generation == 0;
    if (std::isnan(p.tolerance) || p.tolerance < 0 || (!prior && !std::isfinite(p.tolerance)) ||
        (prior && p.tolerance != kInf))
      throw DamagedInput(
          fmt::format("'{}' is damaged: variable 'tolerances' holds {} for generation {}, where "
                      "a calibration writes {}",
                      path, p.tolerance, p.generation, prior ? "inf (the prior's)" : "a finite number, at least 0"));
    for (std::size_t i = 0; i < p.size(); ++i)
      for (std::size_t a = 0; a < d; ++a) {
        const double x = p.theta[i * d + a];
        if (!(x >= lower[a] && x <= upper[a]))
          throw DamagedInput(
              fmt::format("'{}' is damaged: variable 'particles' holds {} for parameter '{}' "
                          "(generation {}, particle {}), outside its prior's support [{}, {}]",
                          path, x, r.parameters[a], p.generation, i, lower[a], upper[a]));
      }
  }
}

// Each tolerance is a quantile of the previous generation's distances, all
// within that generation's tolerance, so the sequence never grows; a
// continuation took an edited one (NaN or negative distances, a tolerance of
// -3) as its next target, and burned candidates before a wrong diagnosis.
void check_populations(const std::string& path, const CalibrationRecord& r) {
  const std::size_t m = r.observation_names.size();
  double previous = kInf;
  for (const Population& p : r.generations) {
    if (p.tolerance > previous)
      throw DamagedInput(fmt::format(
          "'{}' is damaged: variable 'tolerances' holds {} for generation {}, above generation {}'s {}, where a "
          "calibration's tolerances never grow",
          path, p.tolerance, p.generation, p.generation - 1, previous));
    previous = p.tolerance;
    if (p.proposed < static_cast<std::int64_t>(p.size()))
      throw DamagedInput(fmt::format(
          "'{}' is damaged: variable 'proposed' holds {} for generation {}, fewer than the {} particles it accepted",
          path, p.proposed, p.generation, p.size()));
    check_distances(path, p);
    for (std::size_t k = 0; k < p.statistic.size(); ++k)
      if (!std::isfinite(p.statistic[k]))
        throw DamagedInput(fmt::format(
            "'{}' is damaged: variable 'statistics' holds {} for observation '{}' (generation {}, particle {}), "
            "where a calibration writes a finite count or share",
            path, p.statistic[k], r.observation_names[k % m], p.generation, k / m));
  }
}

// The numbers a calibration writes besides its draws, as it writes them: an
// edited file printed "3 of 0 generations complete" and drew from a NaN
// observation. `planned` is the attribute, if the file has it.
void check_plan_and_observations(const std::string& path, const CalibrationRecord& r,
                                 std::optional<std::int64_t> planned) {
  const auto complete = static_cast<std::int64_t>(r.generations.size());
  if (planned && !(*planned >= std::max<std::int64_t>(1, complete) && *planned <= kMaxGenerations))
    throw DamagedInput(fmt::format(
        "'{}' is damaged: root attribute 'planned_generations' is {}, where a calibration of {} complete generations "
        "writes a whole number in [{}, {}]",
        path, *planned, complete, std::max<std::int64_t>(1, complete), kMaxGenerations));
  struct Column {
    const char* name;
    const std::vector<double>& values;
    bool (*valid)(double);
    const char* written;  // what a calibration writes there
  };
  const Column columns[] = {
      {"observed", r.observed, [](double v) { return std::isfinite(v); }, "a finite number"},
      {"observed_sd", r.observed_sd, [](double v) { return std::isfinite(v) && v > 0; },
       "a standard deviation above 0"},
      {"observed_day", r.observed_day, [](double v) { return std::isfinite(v) && v >= 0; }, "a day at least 0"}};
  for (const Column& c : columns)
    for (std::size_t k = 0; k < c.values.size(); ++k)
      if (!c.valid(c.values[k]))
        throw DamagedInput(
            fmt::format("'{}' is damaged: variable '{}' holds {} for observation '{}', where a calibration writes {}",
                        path, c.name, c.values[k], r.observation_names[k], c.written));
}

// --continue ran its next generation with the settings' particles into the
// file's narrower axis (150 of 200 kept, weights summing to 0.75) and
// published it with exit 0.
void check_particles_against_settings(const std::string& path, const CalibrationRecord& r) {
  const std::optional<std::string> text = setting(r.settings, "particles");
  if (!text || r.generations.empty()) return;  // files of earlier versions may lack it
  std::int64_t particles = 0;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), particles);
  const std::size_t held = r.generations.front().size();
  if (ec != std::errc() || ptr != text->data() + text->size() || particles != static_cast<std::int64_t>(held))
    throw DamagedInput(
        fmt::format("'{}' is damaged: its generations hold {} particles each where its settings say particles={}", path,
                    held, *text));
}

}  // namespace brink::calibration_checks
