#include "xgrad/random.hpp"

#include <cmath>
#include <sstream>

#include "xgrad/error.hpp"

namespace xgrad {

// Marsaglia's polar method: Box-Muller without sin and cos (points outside the
// unit disc are drawn again), about twice as fast.
void Generator::normal_pair(double& a, double& b) {
  double u = 0, v = 0, s = 0;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double scale = std::sqrt(-2.0 * std::log(s) / s);
  a = u * scale;
  b = v * scale;
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
