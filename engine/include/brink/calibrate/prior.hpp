// A calibrated parameter's prior: density, draws by inversion, and the
// unbounded ("free") coordinate in which the SMC kernel perturbs particles.
//
// Every support is a finite interval [lower, upper] (a field's range bounds
// what the prior leaves open), mapped to the real line by
//   z = logit((x - lower) / (upper - lower)),
// so that a Gaussian step in z never leaves the support and needs no
// truncation; the density in z carries the Jacobian |dx/dz|.
#pragma once

#include <string>

#include "brink/scenario/observations.hpp"

namespace brink {

class Prior {
 public:
  explicit Prior(const PriorSpec& spec);
  const PriorSpec& spec() const { return spec_; }
  double lower() const { return spec_.lower; }
  double upper() const { return spec_.upper; }
  // Log density on the parameter's own scale, up to a constant; -inf outside the support.
  double log_density(double x) const;
  // The prior's quantile at u in (0, 1): a draw when u is uniform.
  double sample(double u) const;
  // The prior's distribution function, sample's inverse: uniform on [0, 1]
  // when x follows the prior (its "probability scale").
  double cdf(double x) const;
  // The free coordinate of x, and back (from_free stays inside the support).
  double to_free(double x) const;
  double from_free(double z) const;
  // log |dx/dz| at z.
  double log_jacobian(double z) const;
  // Log density of z = to_free(x) when x follows the prior, up to a constant.
  double log_free_density(double z) const { return log_density(from_free(z)) + log_jacobian(z); }

 private:
  PriorSpec spec_;
  double z_lower_ = 0.0, z_upper_ = 0.0;  // normal kinds: the standardized bounds
};

// The prior as a calibration file records it ("uniform [0, 1]", "normal
// mean 0 sd 1 on [-3, 3]", "exponential rate 2 on [0, 5]"), each number the
// shortest text that reads back to it; and back: false for any other text.
std::string prior_text(const PriorSpec& p);
bool prior_from_text(const std::string& text, PriorSpec* out);

// The prior's standard deviation on its support [lower, upper], in closed
// form (a normal prior is truncated there).
double prior_sd(const PriorSpec& p);

// The standard normal distribution function and its inverse (Acklam's
// rational approximation refined by one Halley step: relative error ~1e-15).
double normal_cdf(double x);
double normal_quantile(double p);
// A draw of the standard normal truncated to [lo, hi] (lo < hi <= 0, or
// lo < 0 < hi) from u in [0, 1): its CDF inverted, or in a tail too far for
// Φ (hi < -37) the exponential tail's.
double truncated_standard_normal(double lo, double hi, double u);
// Its distribution function at t: the u whose draw is t.
double truncated_standard_normal_cdf(double lo, double hi, double t);

}  // namespace brink
