#pragma once
/// \file nn/sequential.hpp
/// A chain of modules applied in order; children are named "0", "1", ... unless
/// given names (as torch.nn.Sequential).
///
///   auto net = std::make_shared<xgrad::nn::Sequential>(std::vector<std::shared_ptr<xgrad::nn::Module>>{
///       std::make_shared<xgrad::nn::Linear>(4, 8), std::make_shared<xgrad::nn::ReLU>(),
///       std::make_shared<xgrad::nn::Linear>(8, 2)});

#include <memory>
#include <string>
#include <vector>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);

  /// Appends a module named by its position.
  Sequential& push_back(std::shared_ptr<Module> module);
  /// Appends a module under a name of your choice.
  Sequential& push_back(const std::string& name, std::shared_ptr<Module> module);

  Tensor forward(const Tensor& input) override;
  std::size_t size() const { return layers_.size(); }
  const std::shared_ptr<Module>& operator[](std::size_t index) const;

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

/// Runs `sequential` in `segments` pieces of about equal length, each but the
/// last under autograd::checkpoint (as torch.utils.checkpoint.checkpoint_sequential):
/// activations inside the checkpointed pieces are recomputed during backward.
Tensor checkpoint_sequential(Sequential& sequential, std::size_t segments, const Tensor& input);

}  // namespace xgrad::nn
