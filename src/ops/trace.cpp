#include "ops/trace.hpp"

#include "util/check.hpp"

namespace xgrad::detail::trace {

namespace {
thread_local Tracer* current = nullptr;
}

Tracer* active() { return current; }

TraceGuard::TraceGuard() : previous_(current) { current = &tracer_; }
TraceGuard::~TraceGuard() { current = previous_; }

void Scope::record(std::string op, std::vector<Tensor> inputs, const Tensor& output, Attributes attributes) const {
  tracer_->records.push_back({std::move(op), std::move(inputs), output, std::move(attributes)});
}

Tensor Scope::constant(double value, const Tensor& like) const {
  Tensor t = full({}, value, {.dtype = like.dtype()});
  tracer_->constants.push_back(t);
  return t;
}

template <class T>
const T& Record::get(std::string_view name) const {
  for (const auto& [key, value] : attributes)
    if (key == name) {
      if (const T* v = std::get_if<T>(&value)) return *v;
      fail("trace: op {} has attribute {} of another type", op, name);
    }
  fail("trace: op {} has no attribute {}", op, name);
}

template const std::int64_t& Record::get(std::string_view) const;
template const double& Record::get(std::string_view) const;
template const std::vector<std::int64_t>& Record::get(std::string_view) const;
template const std::vector<double>& Record::get(std::string_view) const;
template const std::string& Record::get(std::string_view) const;

}  // namespace xgrad::detail::trace
