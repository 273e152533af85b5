#pragma once
/// \file tensor.hpp
/// Tensor: a cheap, shared handle to strided storage plus autograd metadata.
///
/// Copying a Tensor copies the handle, never the data (as in LibTorch). Views
/// (reshape of contiguous data, transpose, permute, narrow, slice, expand, ...)
/// share storage with their base; contiguous() copies only when needed.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/dtype.hpp"

namespace xgrad {

using Shape = std::vector<std::int64_t>;

namespace detail {
struct TensorImpl;
}
namespace autograd {
class Node;

/// Options of a backward pass (Tensor::backward, autograd::backward, autograd::grad),
/// declared in this order: `{.retain_graph = true, .create_graph = true}`.
struct GradOptions {
  /// Keep the graph's saved tensors, so that it can be run backward again.
  bool retain_graph = false;
  /// Record the backward pass itself, so that the gradients it returns are
  /// differentiable again (to any order). Implies retain_graph, as in PyTorch.
  bool create_graph = false;
  /// grad() only: an input the outputs do not depend on gets an undefined
  /// gradient instead of an AutogradError.
  bool allow_unused = false;
};
}  // namespace autograd

/// Options for factories. Declared in this order so designated initialisers read
/// `{.dtype = xgrad::f64, .requires_grad = true}`. An empty dtype means f32, except in
/// from_vector, where it means the vector's element type.
struct TensorOptions {
  std::optional<DType> dtype = std::nullopt;
  bool requires_grad = false;
};

/// A list of dimensions for reductions: `x.sum(1)`, `x.mean({0, 2})`, `x.sum({})` (all).
struct Dims {
  std::vector<std::int64_t> values;
  Dims() = default;
  Dims(std::int64_t dim) : values{dim} {}  // NOLINT(google-explicit-constructor)
  Dims(int dim) : values{dim} {}           // NOLINT(google-explicit-constructor)
  Dims(std::initializer_list<std::int64_t> dims) : values(dims) {}
  Dims(std::vector<std::int64_t> dims) : values(std::move(dims)) {}  // NOLINT
};

struct ValuesIndices;  // below: what max / min along a dim, sort and topk return

class Tensor {
 public:
  /// An undefined tensor (no storage); `defined()` is false.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl);

  // ---- metadata -------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;  ///< in elements, not bytes
  std::int64_t storage_offset() const;
  std::int64_t dim() const;
  std::int64_t size(std::int64_t dim) const;  ///< negative dims count from the end
  std::int64_t numel() const;
  DType dtype() const;
  bool is_contiguous() const;
  /// True when both handles point to the same tensor (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  /// True when both tensors view the same storage (a view and its base).
  bool shares_storage(const Tensor& other) const;

  // ---- data access ----------------------------------------------------------
  /// Pointer to the first element. T must match dtype() and the tensor must be
  /// contiguous (call contiguous() first); otherwise throws.
  template <class T> const T* data() const;
  /// Pointer to element (0, ..., 0) of any tensor, views included: element
  /// (i, j, ...) is at offset i*strides()[0] + j*strides()[1] + ... . T must match dtype().
  template <class T> const T* strided_data() const;
  /// Writable pointer; bumps the version counter so that a tensor saved for
  /// backward and then modified is detected.
  template <class T> T* mutable_data();
  /// The single element of a one-element tensor, as double.
  double item() const;
  template <class T> T item() const { return static_cast<T>(item()); }
  /// All elements in row-major order, converted to T.
  template <class T> std::vector<T> to_vector() const;

  // ---- conversions (differentiable) -----------------------------------------
  Tensor to(DType dtype) const;
  Tensor contiguous() const;
  Tensor clone() const;

  // ---- autograd -------------------------------------------------------------
  bool requires_grad() const;
  /// Marks a leaf tensor as needing a gradient (only float tensors can).
  Tensor& requires_grad_(bool on = true);
  /// The accumulated gradient (undefined until a backward reaches this tensor).
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  bool is_leaf() const;
  /// Keep the gradient of this non-leaf tensor in grad() during backward.
  void retain_grad() const;
  bool retains_grad() const;
  /// Leaves that require grad: `hook(tensor)` runs each time a backward has
  /// accumulated into this tensor's grad() (PyTorch's
  /// register_post_accumulate_grad_hook), on the thread running the backward; it
  /// may read grad() or change it in place. Returns an id for removal.
  int register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;
  void remove_post_accumulate_grad_hook(int id) const;
  /// The node that produced this tensor (null for leaves).
  std::shared_ptr<autograd::Node> grad_fn() const;
  /// A tensor sharing storage but cut from the graph.
  Tensor detach() const;
  /// Reverse-mode gradient of this tensor, accumulated into the leaves' grad().
  /// Without `gradient` the tensor must hold one element. Frees the graph's saved
  /// tensors unless options.retain_graph (or create_graph) is set; with
  /// create_graph the accumulated gradients are themselves differentiable.
  void backward(const Tensor& gradient = Tensor(), autograd::GradOptions options = {}) const;

  // ---- in place (not recorded; refused on a leaf that requires grad while grad
  // mode is on, as in PyTorch). Each bumps the version counter.
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);  ///< src broadcasts to this shape
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double factor);

  // ---- views and shape (differentiable) -------------------------------------
  Tensor reshape(const Shape& shape) const;  ///< one -1 allowed; a view when possible
  Tensor view(const Shape& shape) const;     ///< like reshape but never copies
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const;  ///< transpose of a 2-D tensor
  Tensor permute(const Shape& dims) const;
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor expand(const Shape& shape) const;  ///< -1 keeps a size
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;

  // ---- math (differentiable) ------------------------------------------------
  Tensor neg() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor pow(double exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor clamp(std::optional<double> min, std::optional<double> max) const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor sum() const;
  Tensor sum(const Dims& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Dims& dims, bool keepdim = false) const;
  Tensor max() const;
  /// {values, indices} along dim, as torch.max(x, dim); see ops/reduction.hpp.
  ValuesIndices max(std::int64_t dim, bool keepdim = false) const;
  Tensor min() const;
  ValuesIndices min(std::int64_t dim, bool keepdim = false) const;
  Tensor amax(const Dims& dims, bool keepdim = false) const;
  Tensor amin(const Dims& dims, bool keepdim = false) const;
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;  ///< i64, not differentiable
  Tensor argmin(std::int64_t dim, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;

  /// For xgrad's own code: the implementation object.
  const std::shared_ptr<detail::TensorImpl>& impl() const { return impl_; }

 private:
  const void* raw_data(DType expected) const;
  std::shared_ptr<detail::TensorImpl> impl_;
};

/// What max / min along a dim, sort and topk return (torch.return_types):
/// `auto [values, indices] = x.max(1);`. indices are i64.
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};

// Arithmetic with NumPy broadcasting; scalars take the tensor's dtype.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& a);

/// Prints shape, dtype and values (abbreviated past 1000 elements).
std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string to_string(const Tensor& t);
std::string shape_to_string(const Shape& shape);  ///< "[8, 3, 32, 32]"

// ---- factories ----------------------------------------------------------------
Tensor empty(const Shape& shape, TensorOptions options = {});  ///< uninitialised
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor zeros_like(const Tensor& t, TensorOptions options = {});  ///< dtype defaults to t's
Tensor ones_like(const Tensor& t, TensorOptions options = {});
Tensor full_like(const Tensor& t, double value, TensorOptions options = {});
Tensor scalar_tensor(double value, TensorOptions options = {});  ///< shape []
/// [0, end) and [start, end) by step, like numpy.arange.
Tensor arange(double end, TensorOptions options = {});
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
/// Standard normal / uniform [0, 1) samples from the default generator.
Tensor randn(const Shape& shape, TensorOptions options = {});
Tensor rand(const Shape& shape, TensorOptions options = {});
Tensor randn_like(const Tensor& t, TensorOptions options = {});
Tensor rand_like(const Tensor& t, TensorOptions options = {});
/// Copies `values` into a new tensor of `shape` (default: 1-D). The dtype defaults
/// to the element type of the vector (float → f32, double → f64, int64_t → i64).
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape = {}, TensorOptions options = {});

}  // namespace xgrad
