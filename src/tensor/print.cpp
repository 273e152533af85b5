// Printing: shape, dtype and values, abbreviated past 1000 elements.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>

#include "tensor/tensor_impl.hpp"
#include "util/dispatch.hpp"

namespace xgrad {

namespace {

constexpr std::int64_t kSummarizeAbove = 1000;
constexpr std::int64_t kEdgeItems = 3;

struct Printer {
  Printer(const Tensor& tensor, bool abbreviate) : t(tensor), summarize(abbreviate) {}
  const Tensor& t;
  bool summarize;
  bool scientific = false;
  std::vector<std::string> cells;  // formatted values in visiting order
  std::size_t width = 0;

  // Visits the shown indices of dim `d` (all, or the first and last kEdgeItems).
  template <class F>
  void for_shown(std::int64_t size, F f) const {
    if (!summarize || size <= 2 * kEdgeItems) {
      for (std::int64_t i = 0; i < size; ++i) f(i, false);
      return;
    }
    for (std::int64_t i = 0; i < kEdgeItems; ++i) f(i, false);
    f(-1, true);  // the ellipsis
    for (std::int64_t i = size - kEdgeItems; i < size; ++i) f(i, false);
  }

  template <class T>
  std::string format_value(T v) const {
    if constexpr (std::is_integral_v<T>) {
      return fmt::format("{}", v);
    } else {
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      return scientific ? fmt::format("{:.4e}", v) : fmt::format("{:.4f}", v);
    }
  }

  template <class T>
  void collect(const T* base, std::int64_t d, std::int64_t offset, std::vector<T>& out) const {
    if (d == t.dim()) {
      out.push_back(base[offset]);
      return;
    }
    const auto ud = static_cast<std::size_t>(d);
    for_shown(t.shape()[ud], [&](std::int64_t i, bool ellipsis) {
      if (!ellipsis) collect(base, d + 1, offset + i * t.strides()[ud], out);
    });
  }

  std::size_t next = 0;
  void emit(std::string& s, std::int64_t d, int indent) {
    if (d == t.dim()) {
      const std::string& c = cells[next++];
      s += std::string(width - c.size(), ' ') + c;
      return;
    }
    s += '[';
    const auto ud = static_cast<std::size_t>(d);
    bool first = true;
    for_shown(t.shape()[ud], [&](std::int64_t, bool ellipsis) {
      if (!first) {
        s += ',';
        if (d + 1 == t.dim()) {
          s += ' ';
        } else {
          s += std::string(static_cast<std::size_t>(t.dim() - d - 1), '\n');
          s += std::string(static_cast<std::size_t>(indent + 1), ' ');
        }
      }
      first = false;
      if (ellipsis) {
        s += "...";
      } else {
        emit(s, d + 1, indent + 1);
      }
    });
    s += ']';
  }

  std::string render() {
    detail::visit_all(t.dtype(), [&]<class T>() {
      std::vector<T> values;
      collect(detail::element_ptr<T>(t), 0, 0, values);
      if constexpr (std::is_floating_point_v<T>) {
        double largest = 0, smallest = INFINITY;
        for (T v : values)
          if (std::isfinite(v) && v != 0) {
            largest = std::max(largest, std::abs(double(v)));
            smallest = std::min(smallest, std::abs(double(v)));
          }
        scientific = largest >= 1e8 || smallest < 1e-4;
      }
      for (T v : values) cells.push_back(format_value(v));
    });
    for (const auto& c : cells) width = std::max(width, c.size());
    std::string s = "tensor(";
    emit(s, 0, static_cast<int>(s.size()));
    return s;
  }
};

}  // namespace

std::string shape_to_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  Printer printer(t, t.numel() > kSummarizeAbove);
  std::string s = t.numel() == 0 ? "tensor([]" : printer.render();
  s += fmt::format(", shape={}, dtype={}", shape_to_string(t.shape()), dtype_name(t.dtype()));
  if (t.grad_fn()) {
    s += fmt::format(", grad_fn=<{}>", t.grad_fn()->name());
  } else if (t.requires_grad()) {
    s += ", requires_grad=true";
  }
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace xgrad
