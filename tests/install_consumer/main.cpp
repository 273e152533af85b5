#include <iostream>

#include <xgrad/xgrad.hpp>

int main() {
  xgrad::Tensor x = xgrad::from_vector(std::vector<double>{1, 2, 3}, {3}, {.requires_grad = true});
  xgrad::Tensor y = (x * x).sum();
  y.backward();
  const auto g = x.grad().to_vector<double>();
  std::cout << "grad " << g[0] << " " << g[1] << " " << g[2] << "\n";
  return g == std::vector<double>{2, 4, 6} ? 0 : 1;
}
