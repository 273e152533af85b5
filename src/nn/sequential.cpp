#include "xgrad/nn/sequential.hpp"

#include <algorithm>

#include "util/check.hpp"
#include "xgrad/autograd.hpp"

namespace xgrad::nn {

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) : Sequential() {
  for (const auto& m : modules) push_back(m);
}

Sequential& Sequential::push_back(std::shared_ptr<Module> module) {
  return push_back(std::to_string(layers_.size()), std::move(module));
}

Sequential& Sequential::push_back(const std::string& name, std::shared_ptr<Module> module) {
  layers_.push_back(register_module(name, std::move(module)));
  return *this;
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& layer : layers_) x = (*layer)(x);
  return x;
}

Tensor checkpoint_sequential(Sequential& sequential, std::size_t segments, const Tensor& input) {
  const std::size_t n = sequential.size();
  if (segments < 1 || segments > std::max<std::size_t>(n, 1))
    detail::fail<ValueError>("checkpoint_sequential: segments must be in [1, {}] for {} modules, got {}",
                             std::max<std::size_t>(n, 1), n, segments);
  Tensor x = input;
  std::size_t begin = 0;
  for (std::size_t s = 0; s < segments; ++s) {
    const std::size_t end = n * (s + 1) / segments;  // pieces of n / segments modules, the remainder spread
    const auto run = [&sequential, begin, end](const std::vector<Tensor>& in) {
      Tensor y = in[0];
      for (std::size_t i = begin; i < end; ++i) y = (*sequential[i])(y);
      return y;
    };
    x = s + 1 < segments ? autograd::checkpoint(run, {x}) : run({x});
    begin = end;
  }
  return x;
}

const std::shared_ptr<Module>& Sequential::operator[](std::size_t index) const {
  if (index >= layers_.size())
    detail::fail<ValueError>("Sequential: index {} is out of range for {} modules", index, layers_.size());
  return layers_[index];
}

}  // namespace xgrad::nn
