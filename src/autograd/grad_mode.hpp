#pragma once
// Internal: grad mode set for a scope, to either value (NoGradGuard only turns
// it off): the engine records its backward exactly under create_graph, and the
// functional transforms, checkpoint, forward mode and gradgradcheck need grad
// mode on whatever their caller's.

#include "xgrad/autograd.hpp"

namespace xgrad::detail {

class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(is_grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace xgrad::detail
