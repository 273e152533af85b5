// The lecture notes' worked exercise (Example 7.1): a 4x4 RGB image through one
// 3x3x3 filter with zero padding 1, stride 1 and bias 2, then ReLU, then 2x2
// max pooling and 2x2 average pooling. Prints each step and checks the notes'
// answers; exits non-zero if any differs.
//
//   ./build/examples/seed_exercise

#include <iostream>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "cli.hpp"

using xgrad::Tensor;

namespace {

bool same(const Tensor& t, const std::vector<double>& expected) {
  const std::vector<double> got = t.to_vector<double>();
  if (got.size() != expected.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (std::abs(got[i] - expected[i]) > 1e-9) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  cli::App app{"The lecture notes' worked exercise: conv, ReLU, max and average pooling, printed and checked."};
  cli::parse_or_exit(app, argc, argv);
  const Tensor x = xgrad::from_vector(std::vector<double>{
                                          2, 1, 0, 0, 0, 0, 2, 1, 0, 2, 0, 1, 2, 1, 0, 1,  // X0
                                          2, 2, 0, 0, 0, 0, 2, 1, 0, 0, 2, 0, 0, 1, 0, 1,  // X1
                                          2, 1, 0, 0, 0, 0, 2, 1, 2, 0, 0, 0, 0, 1, 0, 1,  // X2
                                      },
                                      {1, 3, 4, 4});
  const Tensor w = xgrad::from_vector(std::vector<double>{
                                          1, 0, 0, 0, -2, 0, 0, 0, -1,   // W0
                                          1, 2, 0, 2, 0, -1, 0, -1, 1,   // W1
                                          0, 0, -2, 0, 1, 2, -2, 2, 0,   // W2
                                      },
                                      {1, 3, 3, 3});
  const Tensor bias = xgrad::from_vector(std::vector<double>{2});

  // The per-channel products X_i * W_i: the same filter as a grouped convolution.
  const Tensor per_channel = xgrad::conv2d(x, w.reshape({3, 1, 3, 3}), {}, {.padding = {1, 1}, .groups = 3});
  for (int i = 0; i < 3; ++i)
    std::cout << "X" << i << " * W" << i << " =\n" << per_channel.select(1, i).squeeze(0) << "\n\n";

  const Tensor y = xgrad::relu(xgrad::conv2d(x, w, bias, {.stride = {1, 1}, .padding = {1, 1}}));
  const Tensor max_pooled = xgrad::max_pool2d(y, {.kernel = {2, 2}});
  const Tensor avg_pooled = xgrad::avg_pool2d(y, {.kernel = {2, 2}});
  std::cout << "Y = ReLU(sum_i X_i * W_i + 2) =\n" << y.squeeze(0).squeeze(0) << "\n\n"
            << "2x2 max pooling =\n" << max_pooled.squeeze(0).squeeze(0) << "\n\n"
            << "2x2 average pooling =\n" << avg_pooled.squeeze(0).squeeze(0) << "\n\n";

  const bool ok = same(y, {0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3}) &&
                  same(max_pooled, {10, 8, 4, 11}) && same(avg_pooled, {21.0 / 4, 7.0 / 2, 5.0 / 4, 27.0 / 4}) &&
                  same(per_channel.select(1, 2), {4, 1, 4, -2, 2, 0, 4, 1, 2, -2, -4, 2, 2, 1, 2, 1});
  std::cout << (ok ? "All values match the lecture notes (with X2*W2 row 2, column 4 = 1, a misprint of 11 there)."
                   : "MISMATCH with the lecture notes")
            << "\n";
  return ok ? 0 : 1;
}
