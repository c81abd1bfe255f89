// A copy of a model with other run settings: the kernel reads the seed, the
// random-number mode and the record grid from the Model only.
#pragma once

#include <cstdint>

#include "brink/model/kernel.hpp"

namespace brink {

inline Model configured(const Model& model, std::uint64_t seed, bool common_random, int timeseries_every) {
  Scenario s = model.scenario();
  s.run.seed = seed;
  s.run.common_random = common_random;
  s.output.timeseries_every = timeseries_every;
  return Model(std::move(s));
}

}  // namespace brink
