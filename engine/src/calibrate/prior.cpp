#include "brink/calibrate/prior.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace brink {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// log(1 + e^x) without overflow.
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// The variance of an exponential of rate `rate` truncated to [0, width]:
// 1/rate² − width²/(4 sinh²(rate·width/2)), which tends to width²/12.
double truncated_exponential_variance(double rate, double width) {
  const double x = rate * width;
  if (x < 1e-4) return width * width / 12;
  const double s = std::sinh(x / 2);
  return 1 / (rate * rate) - width * width / (4 * s * s);
}

// The variance of the standard normal truncated to [a, b]; where Φ underflows
// (the whole interval far in a tail) that of its exponential tail, as
// truncated_standard_normal draws it.
double truncated_normal_variance(double a, double b) {
  if (a > 0) std::tie(a, b) = std::pair(-b, -a);  // the mirror image has the same variance
  const double z = normal_cdf(b) - normal_cdf(a);
  if (z < 1e-290) return truncated_exponential_variance(-b, b - a);
  const auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * M_PI); };
  const double r = (phi(a) - phi(b)) / z;
  return std::max(0.0, 1 + (a * phi(a) - b * phi(b)) / z - r * r);
}

}  // namespace

std::string prior_text(const PriorSpec& p) {
  switch (p.kind) {
    case PriorKind::kNormal:
    case PriorKind::kTruncatedNormal:
      return fmt::format("{} mean {} sd {} on [{}, {}]", to_string(p.kind), p.mean, p.sd, p.lower, p.upper);
    case PriorKind::kExponential:
      return fmt::format("exponential rate {} on [{}, {}]", p.rate, p.lower, p.upper);
    default:
      return fmt::format("{} [{}, {}]", to_string(p.kind), p.lower, p.upper);
  }
}

bool prior_from_text(const std::string& text, PriorSpec* out) {
  std::string words = text;
  for (char& c : words)
    if (c == '[' || c == ']' || c == ',') c = ' ';
  std::istringstream in(words);
  std::string kind, word;
  PriorSpec p;
  in >> kind;
  for (int k = 0; k <= static_cast<int>(PriorKind::kExponential); ++k)
    if (to_string(static_cast<PriorKind>(k)) == kind) p.kind = static_cast<PriorKind>(k);
  if (p.kind == PriorKind::kNormal || p.kind == PriorKind::kTruncatedNormal) in >> word >> p.mean >> word >> p.sd;
  if (p.kind == PriorKind::kExponential) in >> word >> p.rate;
  if (p.kind != PriorKind::kUniform && p.kind != PriorKind::kLogUniform) in >> word;  // "on"
  in >> p.lower >> p.upper;
  // Whatever was read must write the same text again.
  if (!in || prior_text(p) != text) return false;
  *out = p;
  return true;
}

double prior_sd(const PriorSpec& p) {
  const double a = p.lower, b = p.upper;
  switch (p.kind) {
    case PriorKind::kUniform:
      return (b - a) / std::sqrt(12.0);
    case PriorKind::kLogUniform: {
      const double l = std::log(b / a), mean = (b - a) / l;
      return std::sqrt(std::max(0.0, (b * b - a * a) / (2 * l) - mean * mean));
    }
    case PriorKind::kNormal:
    case PriorKind::kTruncatedNormal:
      return p.sd * std::sqrt(truncated_normal_variance((a - p.mean) / p.sd, (b - p.mean) / p.sd));
    case PriorKind::kExponential:
      return std::sqrt(truncated_exponential_variance(p.rate, b - a));
  }
  return std::nan("");
}

double truncated_standard_normal(double lo, double hi, double u) {
  const double p_lo = normal_cdf(lo), p_hi = normal_cdf(hi);
  if (p_hi - p_lo > 1e-290) return normal_quantile(p_lo + u * (p_hi - p_lo));
  // So far below the mean that Φ underflows (hi < -37): the density falls as
  // e^(-|hi|·d) with the distance d below hi (its relative error is about 1.4/hi²),
  // an exponential truncated to d <= hi - lo.
  const double rate = -hi;
  return hi + std::log1p((1.0 - u) * std::expm1(-rate * (hi - lo))) / rate;  // u = 0 at lo, as Φ's inversion
}

double truncated_standard_normal_cdf(double lo, double hi, double t) {
  const double p_lo = normal_cdf(lo), p_hi = normal_cdf(hi);
  if (p_hi - p_lo > 1e-290) return std::clamp((normal_cdf(t) - p_lo) / (p_hi - p_lo), 0.0, 1.0);
  // truncated_standard_normal's exponential far below the mean, inverted.
  const double rate = -hi;
  return std::clamp(1.0 - std::expm1(rate * (t - hi)) / std::expm1(-rate * (hi - lo)), 0.0, 1.0);
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_quantile(double p) {
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  double x = 0;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = normal_cdf(x) - p;  // Halley refinement
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

Prior::Prior(const PriorSpec& spec) : spec_(spec) {
  if (spec.kind == PriorKind::kNormal || spec.kind == PriorKind::kTruncatedNormal) {
    z_lower_ = (spec.lower - spec.mean) / spec.sd;
    z_upper_ = (spec.upper - spec.mean) / spec.sd;
  }
}

double Prior::log_density(double x) const {
  if (!(x >= spec_.lower && x <= spec_.upper)) return kNegInf;
  switch (spec_.kind) {
    case PriorKind::kUniform:
      return 0.0;
    case PriorKind::kLogUniform:
      return -std::log(x);
    case PriorKind::kNormal:
    case PriorKind::kTruncatedNormal: {
      const double t = (x - spec_.mean) / spec_.sd;
      return -0.5 * t * t;
    }
    case PriorKind::kExponential:
      return -spec_.rate * x;
  }
  return kNegInf;
}

double Prior::sample(double u) const {
  const double lo = spec_.lower, hi = spec_.upper;
  double x = lo;
  switch (spec_.kind) {
    case PriorKind::kUniform:
      x = lo + u * (hi - lo);
      break;
    case PriorKind::kLogUniform:
      x = std::exp(std::log(lo) + u * (std::log(hi) - std::log(lo)));
      break;
    case PriorKind::kNormal:
    case PriorKind::kTruncatedNormal:
      // Inversion where Φ keeps its precision, the lower half: a range above
      // the mean is the mirror image of one below it.
      x = spec_.mean + spec_.sd * (z_lower_ > 0 ? -truncated_standard_normal(-z_upper_, -z_lower_, 1.0 - u)
                                                : truncated_standard_normal(z_lower_, z_upper_, u));
      break;
    case PriorKind::kExponential:
      // Inversion of the exponential truncated to [0, upper].
      x = -std::log1p(u * std::expm1(-spec_.rate * hi)) / spec_.rate;
      break;
  }
  return std::clamp(x, lo, hi);
}

double Prior::cdf(double x) const {
  const double lo = spec_.lower, hi = spec_.upper;
  if (!(x > lo)) return 0.0;
  if (!(x < hi)) return 1.0;
  switch (spec_.kind) {
    case PriorKind::kUniform:
      return (x - lo) / (hi - lo);
    case PriorKind::kLogUniform:
      return std::log(x / lo) / std::log(hi / lo);
    case PriorKind::kNormal:
    case PriorKind::kTruncatedNormal: {
      // The mirror image of sample's: the lower half, where Φ keeps its precision.
      const double t = (x - spec_.mean) / spec_.sd;
      return z_lower_ > 0 ? 1.0 - truncated_standard_normal_cdf(-z_upper_, -z_lower_, -t)
                          : truncated_standard_normal_cdf(z_lower_, z_upper_, t);
    }
    case PriorKind::kExponential:
      return std::expm1(-spec_.rate * x) / std::expm1(-spec_.rate * hi);
  }
  return std::nan("");
}

double Prior::to_free(double x) const {
  const double f = std::clamp((x - spec_.lower) / (spec_.upper - spec_.lower), 1e-300, 1.0 - 1e-16);
  return std::log(f) - std::log1p(-f);
}

double Prior::from_free(double z) const {
  const double f = 1.0 / (1.0 + std::exp(-z));
  return std::clamp(spec_.lower + (spec_.upper - spec_.lower) * f, spec_.lower, spec_.upper);
}

double Prior::log_jacobian(double z) const { return std::log(spec_.upper - spec_.lower) - softplus(-z) - softplus(z); }

}  // namespace brink
