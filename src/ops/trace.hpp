#pragma once
// Internal: a record of the ops one forward pass runs, for exporters (ONNX).
//
// While a Tracer is active on a thread, each traced op that is not called from
// inside another traced op appends a Record: its name, inputs, output and its
// resolved options (strides per dim, padding per side, ...). Ops look like
//
//   Tensor relu(const Tensor& x) {
//     trace::Scope scope;
//     Tensor y = ...;
//     if (scope.recording()) scope.record("relu", {x}, y);
//     return y;
//   }
//
// With no tracer active a Scope costs one thread-local read. The ops know nothing
// of any file format: an exporter maps the records onto its own ops.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad::detail::trace {

using Attribute = std::variant<std::int64_t, double, std::vector<std::int64_t>, std::vector<double>, std::string>;
using Attributes = std::vector<std::pair<std::string, Attribute>>;

struct Record {
  std::string op;
  std::vector<Tensor> inputs;  ///< an absent optional input (a conv's bias) is undefined
  Tensor output;
  Attributes attributes;

  /// The attribute `name`; throws Error naming the op when it is missing or of another type.
  template <class T>
  const T& get(std::string_view name) const;
};

class Tracer {
 public:
  std::vector<Record> records;
  std::vector<Tensor> constants;  ///< tensors the traced ops made (a scalar operand)
  int depth = 0;
};

/// Traces the ops run on this thread while it lives (one at a time per thread).
class TraceGuard {
 public:
  TraceGuard();
  ~TraceGuard();
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;
  Tracer& tracer() { return tracer_; }

 private:
  Tracer tracer_;
  Tracer* previous_;
};

Tracer* active();

class Scope {
 public:
  Scope() : tracer_(active()) {
    if (tracer_) ++tracer_->depth;
  }
  ~Scope() {
    if (tracer_) --tracer_->depth;
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  /// True for the outermost traced op while a tracer is active.
  bool recording() const { return tracer_ && tracer_->depth == 1; }
  void record(std::string op, std::vector<Tensor> inputs, const Tensor& output, Attributes attributes = {}) const;
  /// A scalar operand as a 0-dim tensor of `like`'s dtype, known to the tracer as a constant.
  Tensor constant(double value, const Tensor& like) const;

 private:
  Tracer* tracer_;
};

/// What an op records besides its output.
struct Call {
  std::vector<Tensor> inputs;
  Attributes attributes = {};
};

/// Runs `compute` (the op's body) and, while tracing and outermost, records its
/// result as `op` with what `describe(scope, output)` returns — called only then.
template <class Compute, class Describe>
Tensor traced(const char* op, Compute&& compute, Describe&& describe) {
  const Scope scope;
  Tensor out = compute();
  if (scope.recording()) {
    Call call = describe(scope, out);
    scope.record(op, std::move(call.inputs), out, std::move(call.attributes));
  }
  return out;
}

/// The usual `describe`: the op's tensor arguments, no attributes.
template <class... Tensors>
auto inputs(const Tensors&... tensors) {
  return [&tensors...](const Scope&, const Tensor&) { return Call{{tensors...}}; };
}

}  // namespace xgrad::detail::trace
