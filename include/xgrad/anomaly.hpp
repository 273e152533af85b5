#pragma once
/// \file anomaly.hpp
/// Anomaly detection for the tape, as PyTorch's `torch.autograd.detect_anomaly`:
///
///   xgrad::autograd::DetectAnomalyGuard detect;          // for this scope
///   { xgrad::autograd::AnomalyLabel label("block3"); y = block3(x); }
///   loss.backward();   // AutogradError: "... ConvBackward ... produced NaN ... label 'block3' ..."
///
/// While a guard is on, every gradient an op's backward returns is checked for
/// NaN and infinity, and the first one found throws an AutogradError naming the
/// backward node, the forward op it belongs to with its sequence number on the
/// tape, and the labels that were active when the forward ran. Labels are kept
/// only for ops recorded while anomaly mode is on (turn it on before the forward).
/// It costs a pass over every gradient: for debugging, not for training runs.

#include <string>

namespace xgrad::autograd {

/// Turns anomaly detection on (or off) for its lifetime, for every thread;
/// the previous setting comes back when it is destroyed.
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool enabled = true);
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

/// Whether anomaly detection is on.
bool is_anomaly_enabled();

/// Names the ops this thread records during its lifetime (nested labels join
/// with '/'), for anomaly messages: where in the model a bad op came from.
class AnomalyLabel {
 public:
  explicit AnomalyLabel(std::string label);
  ~AnomalyLabel();
  AnomalyLabel(const AnomalyLabel&) = delete;
  AnomalyLabel& operator=(const AnomalyLabel&) = delete;
};

}  // namespace xgrad::autograd
