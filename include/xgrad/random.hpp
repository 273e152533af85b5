#pragma once
/// \file random.hpp
/// Seeded random numbers. randn, rand (and later dropout and shuffling) draw from
/// the default generator unless given their own; the same seed gives the same
/// numbers on every platform (the samplers are xgrad's own, not std's
/// implementation-defined distributions).

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace xgrad {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) : engine_(seed) {}

  void seed(std::uint64_t seed) { engine_.seed(seed); }
  std::uint64_t next_u64() { return engine_(); }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Two independent standard normal samples (Marsaglia's polar method).
  void normal_pair(double& a, double& b);

  /// The complete state as text, for checkpoints; set_state restores it exactly.
  std::string state() const;
  void set_state(const std::string& state);

  /// Held while a factory fills a tensor, so concurrent users do not interleave.
  std::mutex& mutex() { return mutex_; }

 private:
  std::mt19937_64 engine_;
  std::mutex mutex_;
};

/// The process-wide generator used by default.
Generator& default_generator();
/// Seeds the default generator (as torch::manual_seed).
void manual_seed(std::uint64_t seed);

}  // namespace xgrad
