#include "xgrad/nn/pooling.hpp"

#include <fmt/format.h>

#include "ops/spatial.hpp"
#include "util/check.hpp"

namespace xgrad::nn {

using detail::expand_spatial;
using detail::str;

namespace {

// Kernel, stride and padding with one value per spatial dim; an empty stride is the kernel.
struct Window {
  Spatial kernel, stride, padding;
};

Window expanded_window(const char* type, std::size_t dims, const Spatial& kernel, const Spatial& stride,
                       const Spatial& padding) {
  if (kernel.empty()) detail::fail<ValueError>("{}: the kernel size is required, e.g. {{.kernel = {{2}}}}", type);
  Window w;
  w.kernel = expand_spatial(type, "kernel", kernel, dims, 1);
  w.stride = stride.empty() ? w.kernel : expand_spatial(type, "stride", stride, dims, 1);
  w.padding = expand_spatial(type, "padding", padding, dims, 0);
  return w;
}

MaxPoolOptions expanded(const char* type, std::size_t dims, const MaxPoolOptions& options) {
  const Window w = expanded_window(type, dims, options.kernel, options.stride, options.padding);
  return {w.kernel, w.stride, w.padding, expand_spatial(type, "dilation", options.dilation, dims, 1),
          options.ceil_mode};
}

AvgPoolOptions expanded(const char* type, std::size_t dims, const AvgPoolOptions& options) {
  const Window w = expanded_window(type, dims, options.kernel, options.stride, options.padding);
  return {w.kernel, w.stride, w.padding, options.ceil_mode, options.count_include_pad};
}

}  // namespace

// ---- max pooling ----------------------------------------------------------------------

MaxPoolNd::MaxPoolNd(const char* type_name, std::size_t dims, Function function, const MaxPoolOptions& opts)
    : Module(type_name), options(expanded(type_name, dims, opts)), function_(function) {}

Tensor MaxPoolNd::forward(const Tensor& input) { return function_(input, options); }

std::string MaxPoolNd::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}", str(options.kernel),
                     str(options.stride), str(options.padding), str(options.dilation), options.ceil_mode);
}

MaxPool1d::MaxPool1d(const MaxPool1dOptions& opts) : MaxPoolNd("MaxPool1d", 1, max_pool1d, opts) {}
MaxPool2d::MaxPool2d(const MaxPool2dOptions& opts) : MaxPoolNd("MaxPool2d", 2, max_pool2d, opts) {}
MaxPool3d::MaxPool3d(const MaxPool3dOptions& opts) : MaxPoolNd("MaxPool3d", 3, max_pool3d, opts) {}

// ---- average pooling ------------------------------------------------------------------

AvgPoolNd::AvgPoolNd(const char* type_name, std::size_t dims, Function function, const AvgPoolOptions& opts)
    : Module(type_name), options(expanded(type_name, dims, opts)), function_(function) {}

Tensor AvgPoolNd::forward(const Tensor& input) { return function_(input, options); }

std::string AvgPoolNd::extra_repr() const {
  std::string out = fmt::format("kernel_size={}, stride={}, padding={}", str(options.kernel), str(options.stride),
                                str(options.padding));
  if (options.ceil_mode) out += ", ceil_mode=true";
  if (!options.count_include_pad) out += ", count_include_pad=false";
  return out;
}

AvgPool1d::AvgPool1d(const AvgPool1dOptions& opts) : AvgPoolNd("AvgPool1d", 1, avg_pool1d, opts) {}
AvgPool2d::AvgPool2d(const AvgPool2dOptions& opts) : AvgPoolNd("AvgPool2d", 2, avg_pool2d, opts) {}
AvgPool3d::AvgPool3d(const AvgPool3dOptions& opts) : AvgPoolNd("AvgPool3d", 3, avg_pool3d, opts) {}

// ---- adaptive pooling -----------------------------------------------------------------

AdaptivePoolNd::AdaptivePoolNd(const char* type_name, std::size_t dims, Function function, const Spatial& size)
    : Module(type_name), output_size(expand_spatial(type_name, "output_size", size, dims, 1)), function_(function) {}

Tensor AdaptivePoolNd::forward(const Tensor& input) { return function_(input, output_size); }

std::string AdaptivePoolNd::extra_repr() const { return "output_size=" + str(output_size); }

AdaptiveAvgPool1d::AdaptiveAvgPool1d(const Spatial& size)
    : AdaptivePoolNd("AdaptiveAvgPool1d", 1, adaptive_avg_pool1d, size) {}
AdaptiveAvgPool2d::AdaptiveAvgPool2d(const Spatial& size)
    : AdaptivePoolNd("AdaptiveAvgPool2d", 2, adaptive_avg_pool2d, size) {}
AdaptiveAvgPool3d::AdaptiveAvgPool3d(const Spatial& size)
    : AdaptivePoolNd("AdaptiveAvgPool3d", 3, adaptive_avg_pool3d, size) {}
AdaptiveMaxPool2d::AdaptiveMaxPool2d(const Spatial& size)
    : AdaptivePoolNd("AdaptiveMaxPool2d", 2, adaptive_max_pool2d, size) {}

}  // namespace xgrad::nn
