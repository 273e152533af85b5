#pragma once
/// \file nn/summary.hpp
/// A model at a glance: summary() runs one forward and tabulates every layer's
/// output shape, parameters and multiply-accumulates; to_string() prints the
/// module tree as PyTorch's repr does.
///
///   auto net = xgrad::models::resnet18();
///   std::cout << xgrad::nn::summary(*net, {1, 3, 224, 224});
///   std::cout << *net;   // ResNet(\n  (conv1): Conv2d(3, 64, kernel_size=[7, 7], ...

#include <iosfwd>
#include <string>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

/// Runs model on zeros of `input_shape` (under NoGradGuard, in evaluation mode;
/// every module's mode is restored afterwards) and returns a table with one row
/// per call of a leaf module (one without children): its dotted name and type,
/// output shape, parameters (on its first call only; "--" on later calls) and
/// MACs (Module::macs), then the totals: parameters of the whole model, each
/// counted once, trainable ones, MACs of all rows, and the input and output
/// shapes. Computation a module with children does itself is not counted.
/// The temporary forward hooks are removed even when forward throws.
std::string summary(Module& model, const Shape& input_shape, DType dtype = f32);

/// The module tree as PyTorch's repr:
///   Sequential(
///     (0): Linear(in_features=4, out_features=8, bias=true)
///     (1): ReLU()
///   )
std::string to_string(const Module& module);
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace xgrad::nn
