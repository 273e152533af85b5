#include "xgrad/nn/sequential.hpp"

#include "util/check.hpp"

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

const std::shared_ptr<Module>& Sequential::operator[](std::size_t index) const {
  if (index >= layers_.size())
    detail::fail<ValueError>("Sequential: index {} is out of range for {} modules", index, layers_.size());
  return layers_[index];
}

}  // namespace xgrad::nn
