// Tensor handle: metadata, data access, autograd accessors and in-place updates.

#include <atomic>
#include <cstring>

#include "autograd/accumulate_grad.hpp"
#include "ops/elementwise.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad {

using detail::fail;
using detail::str;

namespace {

const detail::TensorImpl& checked(const std::shared_ptr<detail::TensorImpl>& impl) {
  if (!impl) fail<Error>("tensor: operation on an undefined tensor (default-constructed Tensor)");
  return *impl;
}

// In-place updates are not recorded, so they are refused where they would
// silently corrupt gradients.
void check_inplace(const char* op, const Tensor& t) {
  if (t.requires_grad() && is_grad_enabled())
    fail<AutogradError>(
        "{}: in-place operation on a tensor of shape {} that requires grad; wrap it in "
        "xgrad::NoGradGuard (e.g. for a parameter update) or work on detach()",
        op, str(t.shape()));
}

}  // namespace

Tensor::Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
std::int64_t Tensor::storage_offset() const { return checked(impl_).offset; }
std::int64_t Tensor::dim() const { return static_cast<std::int64_t>(shape().size()); }
std::int64_t Tensor::size(std::int64_t d) const {
  return shape()[static_cast<std::size_t>(detail::wrap_dim("size", d, dim()))];
}
std::int64_t Tensor::numel() const { return detail::shape_numel(shape()); }
DType Tensor::dtype() const { return checked(impl_).dtype; }

bool Tensor::shares_storage(const Tensor& other) const {
  return checked(impl_).storage == checked(other.impl_).storage;
}

bool Tensor::is_contiguous() const {
  const auto& impl = checked(impl_);
  if (detail::shape_numel(impl.shape) == 0) return true;  // as PyTorch: nothing to lay out
  std::int64_t expected = 1;
  for (std::size_t d = impl.shape.size(); d-- > 0;) {
    if (impl.shape[d] == 1) continue;
    if (impl.strides[d] != expected) return false;
    expected *= impl.shape[d];
  }
  return true;
}

const void* Tensor::raw_data(DType expected) const {
  const auto& impl = checked(impl_);
  if (impl.dtype != expected)
    fail<DTypeError>("data<T>: tensor has dtype {} but {} was requested", dtype_name(impl.dtype),
                     dtype_name(expected));
  if (!is_contiguous())
    fail<ValueError>("data<T>: tensor of shape {} with strides {} is not contiguous; call contiguous() first",
                     str(impl.shape), str(impl.strides));
  return impl.element_ptr();
}

template <class T>
const T* Tensor::data() const {
  return static_cast<const T*>(raw_data(dtype_of<T>));
}

template <class T>
const T* Tensor::strided_data() const {
  const auto& impl = checked(impl_);
  if (impl.dtype != dtype_of<T>)
    fail<DTypeError>("strided_data<T>: tensor has dtype {} but {} was requested", dtype_name(impl.dtype),
                     dtype_name(dtype_of<T>));
  return reinterpret_cast<const T*>(impl.element_ptr());
}

template <class T>
T* Tensor::mutable_data() {
  auto* p = const_cast<T*>(data<T>());
  impl_->storage->bump_version();
  return p;
}

template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const std::int64_t* Tensor::data<std::int64_t>() const;
template const float* Tensor::strided_data<float>() const;
template const double* Tensor::strided_data<double>() const;
template const std::int64_t* Tensor::strided_data<std::int64_t>() const;
template float* Tensor::mutable_data<float>();
template double* Tensor::mutable_data<double>();
template std::int64_t* Tensor::mutable_data<std::int64_t>();

double Tensor::item() const {
  if (numel() != 1)
    fail<ValueError>("item: tensor of shape {} has {} elements; item() needs exactly one", str(shape()), numel());
  return detail::visit_all(dtype(), [&]<class T>() { return static_cast<double>(*detail::element_ptr<T>(*this)); });
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(static_cast<std::size_t>(numel()));
  if (out.empty()) return out;
  detail::visit_all(dtype(), [&]<class S>() {
    const S* src = detail::element_ptr<S>(*this);
    std::size_t i = 0;
    kernels::for_each_run<1>(shape(), {&strides()}, [&](const auto& off, std::int64_t n, const auto& step) {
      for (std::int64_t k = 0; k < n; ++k) out[i++] = static_cast<T>(src[off[0] + k * step[0]]);
    });
  });
  return out;
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
template std::vector<int> Tensor::to_vector<int>() const;

// ---- autograd -----------------------------------------------------------------

bool Tensor::requires_grad() const {
  const auto& impl = checked(impl_);
  return impl.requires_grad || impl.grad_fn != nullptr;
}

Tensor& Tensor::requires_grad_(bool on) {
  auto& impl = const_cast<detail::TensorImpl&>(checked(impl_));
  if (impl.grad_fn)
    fail<AutogradError>(
        "requires_grad_: only leaf tensors can change requires_grad; this tensor was computed by {} "
        "(use detach() to get a leaf)",
        impl.grad_fn->name());
  if (on && !is_floating(impl.dtype))
    fail<DTypeError>("requires_grad_: only floating-point tensors can require gradients, got {}",
                     dtype_name(impl.dtype));
  impl.requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return checked(impl_).grad; }

void Tensor::set_grad(const Tensor& grad) const {
  auto& impl = const_cast<detail::TensorImpl&>(checked(impl_));
  if (grad.defined() && (grad.shape() != impl.shape || grad.dtype() != impl.dtype))
    fail<ShapeError>("set_grad: gradient of shape {} ({}) for a tensor of shape {} ({})", str(grad.shape()),
                     dtype_name(grad.dtype()), str(impl.shape), dtype_name(impl.dtype));
  impl.grad = grad;
}

bool Tensor::is_leaf() const { return checked(impl_).grad_fn == nullptr; }

void Tensor::retain_grad() const {
  auto& impl = const_cast<detail::TensorImpl&>(checked(impl_));
  if (!impl.grad_fn) {
    if (!impl.requires_grad)
      fail<AutogradError>("retain_grad: tensor of shape {} does not require grad", str(impl.shape));
    return;  // leaves keep their gradient anyway
  }
  impl.retains_grad = true;
  impl.grad_fn->retain_output(impl.output_nr, impl_);
}

bool Tensor::retains_grad() const { return checked(impl_).retains_grad; }

int Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  static std::atomic<int> next_id{0};
  auto& impl = const_cast<detail::TensorImpl&>(checked(impl_));
  if (impl.grad_fn || !impl.requires_grad)
    fail<AutogradError>(
        "register_post_accumulate_grad_hook: only a leaf that requires grad accumulates a gradient; this tensor "
        "of shape {} {}",
        str(impl.shape), impl.grad_fn ? "was computed by " + impl.grad_fn->name() : std::string("does not require grad"));
  if (!hook) fail<ValueError>("register_post_accumulate_grad_hook: the hook is empty");
  const int id = next_id++;
  impl.post_accumulate_hooks.emplace_back(id, std::move(hook));
  return id;
}

void Tensor::remove_post_accumulate_grad_hook(int id) const {
  auto& hooks = const_cast<detail::TensorImpl&>(checked(impl_)).post_accumulate_hooks;
  std::erase_if(hooks, [id](const auto& entry) { return entry.first == id; });
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const { return checked(impl_).grad_fn; }

Tensor Tensor::detach() const { return detail::make_view(*this, shape(), strides(), storage_offset()); }

void Tensor::backward(const Tensor& gradient, autograd::GradOptions options) const {
  autograd::backward({*this}, gradient.defined() ? std::vector<Tensor>{gradient} : std::vector<Tensor>{},
                     options);
}

// ---- in place -------------------------------------------------------------------

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::fill_(double value) {
  check_inplace("fill_", *this);
  detail::inplace_map("fill_", *this, scalar_tensor(value, {.dtype = f64}), [](auto, auto v) { return v; });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace("copy_", *this);
  detail::check_defined("copy_", src, "source");
  const Tensor source = src.impl()->storage == impl_->storage ? src.clone() : src;  // overlap-safe
  detail::inplace_map("copy_", *this, source, [](auto, auto v) { return v; });
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace("add_", *this);
  detail::check_same_dtype("add_", *this, other);
  const Tensor source = other.impl()->storage == impl_->storage ? other.clone() : other;
  detail::visit_all(dtype(), [&]<class T>() {
    const T a = static_cast<T>(alpha);
    detail::inplace_map("add_", *this, source, [a](T d, T s) { return d + a * s; });
  });
  return *this;
}

Tensor& Tensor::mul_(double factor) {
  check_inplace("mul_", *this);
  detail::visit_all(dtype(), [&]<class T>() {
    const T f = static_cast<T>(factor);
    detail::inplace_map("mul_", *this, scalar_tensor(0.0, {.dtype = dtype()}), [f](T d, T) { return d * f; });
  });
  return *this;
}

}  // namespace xgrad
