#include "xgrad/random.hpp"

#include <cmath>
#include <numbers>
#include <sstream>

#include "xgrad/error.hpp"

namespace xgrad {

void Generator::normal_pair(double& a, double& b) {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();  // log(0) is -inf
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  a = radius * std::cos(2.0 * std::numbers::pi * u2);
  b = radius * std::sin(2.0 * std::numbers::pi * u2);
}

std::string Generator::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  in >> engine;
  if (in.fail()) throw ValueError("Generator::set_state: the text is not a saved generator state");
  engine_ = engine;
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(std::uint64_t seed) {
  Generator& g = default_generator();
  std::lock_guard lock(g.mutex());
  g.seed(seed);
}

}  // namespace xgrad
