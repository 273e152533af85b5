// Per-example image transforms, as torchvision's tensor transforms.

#include "xgrad/data/transforms.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

#include "kernels/bilinear.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/dispatch.hpp"
#include "xgrad/ops/shape.hpp"

namespace xgrad::data {

using xgrad::detail::fail;
using xgrad::detail::str;

std::int64_t random_index(Generator& generator, std::int64_t n) {
  // uniform() < 1, so the product is below n; the min guards the last bit of rounding.
  return std::min(static_cast<std::int64_t>(generator.uniform() * static_cast<double>(n)), n - 1);
}

namespace transforms {

namespace {

void check_image(const char* op, const Tensor& input) {
  xgrad::detail::check_defined(op, input);
  if (input.dim() != 3) fail<ShapeError>("{}: expected an image [C, H, W], got shape {}", op, str(input.shape()));
  xgrad::detail::check_floating(op, input);
}

// {height, width} from one value (a square) or two.
std::pair<std::int64_t, std::int64_t> height_width(const char* op, const std::vector<std::int64_t>& size) {
  if (size.size() != 2 || size[0] < 1 || size[1] < 1)
    fail<ValueError>("{}: size must be two positive values {{H, W}}, got {}", op, str(size));
  return {size[0], size[1]};
}

// The input rows mirrored left to right (a copy).
Tensor flip_width(const Tensor& input) {
  const Tensor x = input.contiguous();
  Tensor out = xgrad::detail::make_tensor(x.shape(), x.dtype());
  xgrad::detail::visit_floating(x.dtype(), "RandomHorizontalFlip", [&]<class T>() {
    const T* src = x.data<T>();
    T* dst = out.mutable_data<T>();
    const std::int64_t width = x.size(2);
    for (std::int64_t row = 0; row < x.size(0) * x.size(1); ++row)
      std::reverse_copy(src + row * width, src + (row + 1) * width, dst + row * width);
  });
  return out;
}

}  // namespace

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {
  if (mean_.empty() || mean_.size() != std_.size())
    fail<ValueError>("Normalize: mean {} and std {} must be non-empty and of equal length", mean_, std_);
  if (std::find(std_.begin(), std_.end(), 0.0) != std_.end())
    fail<ValueError>("Normalize: std {} contains a zero", std_);
}

Tensor Normalize::operator()(const Tensor& input, Generator& /*generator*/) const {
  check_image("Normalize", input);
  const auto channels = static_cast<std::int64_t>(mean_.size());
  if (channels != 1 && channels != input.size(0))
    fail<ShapeError>("Normalize: {} means and stds for an image {} of {} channels", channels, str(input.shape()),
                     input.size(0));
  const Shape per_channel{channels, 1, 1};
  return (input - from_vector(mean_, per_channel, {.dtype = input.dtype()})) /
         from_vector(std_, per_channel, {.dtype = input.dtype()});
}

Pad::Pad(std::int64_t padding, double value) : Pad({padding}, value) {}

Pad::Pad(std::initializer_list<std::int64_t> sides, double value) : value_(value) {
  const std::vector<std::int64_t> padding(sides);
  if (padding.size() != 1 && padding.size() != 2 && padding.size() != 4)
    fail<ValueError>(
        "Pad: padding must hold 1, 2 ({{left/right, top/bottom}}) or 4 ({{left, top, right, bottom}}) values, "
        "got {}",
        str(padding));
  // {left, top, right, bottom}, shorter lists repeating.
  const auto side = [&](std::size_t i) { return padding[i % padding.size()]; };
  left_ = side(0);
  top_ = side(1);
  right_ = side(2);
  bottom_ = side(3);
  if (std::any_of(padding.begin(), padding.end(), [](std::int64_t p) { return p < 0; }))
    fail<ValueError>("Pad: padding {} must not be negative", str(padding));
}

Tensor Pad::operator()(const Tensor& input, Generator& /*generator*/) const {
  check_image("Pad", input);
  return pad(input, {left_, right_, top_, bottom_}, value_);
}

RandomCrop::RandomCrop(std::int64_t size, std::int64_t padding) : RandomCrop({size, size}, padding) {}

RandomCrop::RandomCrop(std::initializer_list<std::int64_t> size, std::int64_t padding) : padding_(padding) {
  std::tie(height_, width_) = height_width("RandomCrop", size);
  if (padding < 0) fail<ValueError>("RandomCrop: padding {} must not be negative", padding);
}

Tensor RandomCrop::operator()(const Tensor& input, Generator& generator) const {
  check_image("RandomCrop", input);
  const Tensor padded = padding_ > 0 ? pad(input, {padding_, padding_, padding_, padding_}) : input;
  const std::int64_t height = padded.size(1), width = padded.size(2);
  if (height < height_ || width < width_)
    fail<ShapeError>("RandomCrop: a {}x{} crop does not fit the image {} padded by {} ({}x{})", height_, width_,
                     str(input.shape()), padding_, height, width);
  const std::int64_t top = random_index(generator, height - height_ + 1);
  const std::int64_t left = random_index(generator, width - width_ + 1);
  return padded.narrow(1, top, height_).narrow(2, left, width_);
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("RandomHorizontalFlip: p must be in [0, 1], got {}", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& input, Generator& generator) const {
  check_image("RandomHorizontalFlip", input);
  return generator.uniform() < p_ ? flip_width(input) : input;
}

Resize::Resize(std::vector<std::int64_t> size) { std::tie(height_, width_) = height_width("Resize", size); }

Tensor Resize::operator()(const Tensor& input, Generator& /*generator*/) const {
  check_image("Resize", input);
  if (input.size(1) == 0 || input.size(2) == 0)
    fail<ShapeError>("Resize: cannot resize the empty image {}", str(input.shape()));
  const Tensor x = input.contiguous();
  const std::int64_t channels = x.size(0), in_height = x.size(1), in_width = x.size(2);
  // Bilinear with align_corners = false, as torchvision's (non-antialiased) tensor resize.
  const auto rows = kernels::linear_taps<double>(in_height, height_, /*align_corners=*/false);
  const auto cols = kernels::linear_taps<double>(in_width, width_, /*align_corners=*/false);
  Tensor out = xgrad::detail::make_tensor({channels, height_, width_}, x.dtype());
  xgrad::detail::visit_floating(x.dtype(), "Resize", [&]<class T>() {
    const T* src = x.data<T>();
    T* dst = out.mutable_data<T>();
    for (std::int64_t c = 0; c < channels; ++c) {
      const T* plane = src + c * in_height * in_width;
      for (const auto& r : rows) {
        const T* top = plane + r.low * in_width;
        const T* bottom = plane + r.high * in_width;
        for (const auto& k : cols) {
          const double upper = k.low_weight * top[k.low] + k.high_weight * top[k.high];
          const double lower = k.low_weight * bottom[k.low] + k.high_weight * bottom[k.high];
          *dst++ = static_cast<T>(r.low_weight * upper + r.high_weight * lower);
        }
      }
    }
  });
  return out;
}

Compose::Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {
  for (std::size_t i = 0; i < transforms_.size(); ++i)
    if (!transforms_[i]) fail<ValueError>("Compose: transform {} is empty", i);
}

Tensor Compose::operator()(const Tensor& input, Generator& generator) const {
  Tensor x = input;
  for (const Transform& transform : transforms_) x = transform(x, generator);
  return x;
}

}  // namespace transforms
}  // namespace xgrad::data
