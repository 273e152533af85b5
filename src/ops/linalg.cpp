// matmul and linear on the GEMM kernel. A strided operand is read in place when
// one of its last two strides is 1 (the kernel's transpose flags cover the other
// orientation, size-1 dims fit either) and copied only otherwise.
//
// matmul follows torch.matmul: a 1-D left operand is a row [1, K], a 1-D right
// operand a column [K, 1], and that added dim is dropped from the result. All
// dims but the last two are batch dims and broadcast with NumPy's rules, any
// number of them ([B, M, K] x [K, N], [1, M, K] x [B, K, N], [A, 1, M, K] x
// [B, K, N], ...).

#include "xgrad/ops/linalg.hpp"

#include <algorithm>
#include <vector>

#include "autograd/record.hpp"
#include "kernels/gemm.hpp"
#include "ops/elementwise.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::SavedTensor;
using detail::str;

namespace {

// The last two dims of a tensor as the GEMM kernel reads them.
struct GemmOperand {
  Tensor data;      // the tensor, or a contiguous copy when neither inner stride is 1
  bool transposed;  // stored as its transpose (rows unit-stride)
  std::int64_t ld;  // the kernel's leading dimension
};

GemmOperand gemm_operand(const Tensor& t) {
  const std::size_t n = t.shape().size();
  const std::int64_t rows = t.shape()[n - 2], cols = t.shape()[n - 1];
  const std::int64_t row_stride = t.strides()[n - 2], col_stride = t.strides()[n - 1];
  // The stride of a size-1 dim is never used, so such a dim fits either orientation.
  if (cols == 1 || col_stride == 1) return {t, false, row_stride};
  if (rows == 1 || row_stride == 1) return {t, true, col_stride};
  return {detail::copy_as(t, t.dtype()), false, cols};
}

// t [..., C] as [rows, C]: a view when possible (recorded like any reshape).
Tensor as_rows(const Tensor& t) {
  std::int64_t rows = 1;
  for (std::size_t d = 0; d + 1 < t.shape().size(); ++d) rows *= t.shape()[d];
  return reshape(t, {rows, t.shape().back()});
}

// matmul's operands as matrices: a 1-D left operand is a row, a 1-D right one a column.
Tensor as_left_matrix(const Tensor& a) { return a.dim() == 1 ? unsqueeze(a, 0) : a; }
Tensor as_right_matrix(const Tensor& b) { return b.dim() == 1 ? unsqueeze(b, 1) : b; }

// The broadcast of the batch dims of a2 [..., M, K] and b2 [..., K, N]; a and b
// are the operands as given, for the message.
Shape batch_shape(const Tensor& a, const Tensor& b, const Tensor& a2, const Tensor& b2) {
  const Shape batch_a(a2.shape().begin(), a2.shape().end() - 2);
  const Shape batch_b(b2.shape().begin(), b2.shape().end() - 2);
  const std::size_t n = std::max(batch_a.size(), batch_b.size());
  Shape batch(n);
  for (std::size_t i = 0; i < n; ++i) {  // aligned from the right
    const std::int64_t da = i < n - batch_a.size() ? 1 : batch_a[i - (n - batch_a.size())];
    const std::int64_t db = i < n - batch_b.size() ? 1 : batch_b[i - (n - batch_b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>("matmul: batch dims of shapes {} and {} cannot be broadcast together ({} vs {})", str(a.shape()),
                       str(b.shape()), str(batch_a), str(batch_b));
    batch[i] = da == 1 ? db : da;
  }
  return batch;
}

// Element offset of t's matrix for every index of `batch` (row-major), t's own
// batch dims broadcast to it.
std::vector<std::int64_t> batch_offsets(const Tensor& t, const Shape& batch) {
  const std::size_t lead = batch.size() - (t.shape().size() - 2);
  std::vector<std::int64_t> offsets{0};
  for (std::size_t d = 0; d < batch.size(); ++d) {
    const bool own = d >= lead && t.shape()[d - lead] != 1;
    const std::int64_t stride = own ? t.strides()[d - lead] : 0;
    std::vector<std::int64_t> next;
    next.reserve(offsets.size() * static_cast<std::size_t>(batch[d]));
    for (std::int64_t base : offsets)
      for (std::int64_t i = 0; i < batch[d]; ++i) next.push_back(base + i * stride);
    offsets = std::move(next);
  }
  return offsets;
}

// True when every matrix uses the same B and the A matrices follow each other
// as consecutive row blocks of one [count * M, K] matrix: then one product does all.
bool batch_is_one_product(const std::vector<std::int64_t>& a_offsets, const std::vector<std::int64_t>& b_offsets,
                          const GemmOperand& a, std::int64_t M) {
  if (a.transposed) return false;
  for (std::size_t i = 0; i < a_offsets.size(); ++i)
    if (b_offsets[i] != 0 || a_offsets[i] != static_cast<std::int64_t>(i) * M * a.ld) return false;
  return true;
}

// out (contiguous, laid out as [batch..., M, N]) = a2 [..., M, K] · b2 [..., K, N]
// with the batch dims broadcast. Not recorded.
void multiply_into(const Tensor& a2, const Tensor& b2, const Shape& batch, const Tensor& out) {
  const GemmOperand a = gemm_operand(a2), b = gemm_operand(b2);
  const std::int64_t M = a2.size(-2), K = a2.size(-1), N = b2.size(-1);
  const std::vector<std::int64_t> a_offsets = batch_offsets(a.data, batch), b_offsets = batch_offsets(b.data, batch);
  std::size_t products = a_offsets.size();
  std::int64_t rows = M;
  if (products > 1 && batch_is_one_product(a_offsets, b_offsets, a, M)) {
    rows = M * static_cast<std::int64_t>(products);
    products = 1;
  }
  detail::visit_floating(out.dtype(), "matmul", [&]<class T>() {
    const T* pa = detail::element_ptr<T>(a.data);
    const T* pb = detail::element_ptr<T>(b.data);
    T* po = detail::element_ptr<T>(out);
    for (std::size_t i = 0; i < products; ++i)
      kernels::gemm<T>(a.transposed, b.transposed, rows, N, K, T(1), pa + a_offsets[i], a.ld, pb + b_offsets[i], b.ld,
                       T(0), po + static_cast<std::int64_t>(i) * rows * N, N);
  });
}

// dB = Aᵀ·dC for a2 [..., M, K], g [..., M, N], summed to b2's shape.
Tensor matmul_grad_b(const Tensor& a2, const Tensor& g, const Shape& b2_shape) {
  // A 2-D B shared by a batch of A: fold the batch into the rows, [K, rows]·[rows, N].
  if (b2_shape.size() == 2 && a2.dim() > 2) return matmul(transpose(as_rows(a2), 0, 1), as_rows(g));
  return sum_to(matmul(transpose(a2, -1, -2), g), b2_shape);  // [batch..., K, N]
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  return detail::trace::traced(
      "matmul",
      [&]() -> Tensor {
        detail::check_defined("matmul", a, "first input");
        detail::check_defined("matmul", b, "second input");
        detail::check_same_dtype("matmul", a, b);
        detail::check_floating("matmul", a);
        if (a.dim() == 0 || b.dim() == 0)
          fail<ShapeError>("matmul: both operands need at least 1 dim, got shapes {} and {}", str(a.shape()),
                           str(b.shape()));
        Tensor left, right;  // [..., M, K] and [..., K, N]
        {
          NoGradGuard no_grad;
          left = as_left_matrix(a);
          right = as_right_matrix(b);
        }
        if (left.size(-1) != right.size(-2))
          fail<ShapeError>("matmul: shapes {} and {} cannot be multiplied ({} != {})", str(a.shape()), str(b.shape()),
                           left.size(-1), right.size(-2));
        const Shape batch = batch_shape(a, b, left, right);
        Shape out_shape = batch;
        if (a.dim() > 1) out_shape.push_back(left.size(-2));
        if (b.dim() > 1) out_shape.push_back(right.size(-1));
        Tensor out = detail::make_tensor(out_shape, a.dtype());
        multiply_into(left, right, batch, out);

        if (!detail::any_requires_grad({a, b})) return out;
        return detail::record("MatmulBackward", {a, b}, out,
                              [sa = SavedTensor(a), sb = SavedTensor(b), a_shape = a.shape(),
                               b_shape = b.shape()](const BackwardArgs& args) {
                                // g [..., M, N] in the matrix forms: a 1-D operand's dim comes back.
                                Tensor g = args.grad();
                                if (b_shape.size() == 1) g = unsqueeze(g, -1);
                                if (a_shape.size() == 1) g = unsqueeze(g, -2);
                                Tensor ga, gb;
                                if (args.needs_grad(0)) {
                                  // dA = dC·Bᵀ [batch..., M, K], summed over the batch dims a was broadcast along
                                  // (and over the row dim of a 1-D a).
                                  const Tensor b2 = as_right_matrix(sb.unpack("MatmulBackward"));
                                  ga = sum_to(matmul(g, transpose(b2, -1, -2)), a_shape);
                                }
                                if (args.needs_grad(1)) {
                                  const Tensor a2 = as_left_matrix(sa.unpack("MatmulBackward"));
                                  const Shape b2_shape = b_shape.size() == 1 ? Shape{b_shape[0], 1} : b_shape;
                                  gb = reshape(matmul_grad_b(a2, g, b2_shape), b_shape);
                                }
                                return std::vector<Tensor>{ga, gb};
                              });
      },
      detail::trace::inputs(a, b));
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return detail::trace::traced(
      "linear",
      [&]() -> Tensor {
        detail::check_defined("linear", x);
        detail::check_defined("linear", weight, "weight");
        detail::check_same_dtype("linear", x, weight);
        detail::check_floating("linear", x);
        if (weight.dim() != 2)
          fail<ShapeError>("linear: weight must be 2-D [out, in], got shape {}", str(weight.shape()));
        if (x.dim() == 0) fail<ShapeError>("linear: input must have at least 1 dim (features last), got shape []");
        const std::int64_t out_features = weight.size(0), in_features = weight.size(1);
        if (x.size(-1) != in_features)
          fail<ShapeError>("linear: input has {} features but weight expects {} (input {}, weight {})", x.size(-1),
                           in_features, str(x.shape()), str(weight.shape()));
        if (bias.defined()) {
          detail::check_same_dtype("linear", x, bias);
          if (bias.shape() != Shape{out_features})
            fail<ShapeError>("linear: bias has shape {} but weight {} needs [{}]", str(bias.shape()),
                             str(weight.shape()), out_features);
        }

        Shape out_shape = x.shape();
        out_shape.back() = out_features;
        Tensor out = detail::make_tensor(out_shape, x.dtype());
        if (bias.defined()) out.copy_(bias);  // every row starts as the bias, then C += x·Wᵀ
        {
          NoGradGuard no_grad;
          const Tensor x_rows = as_rows(x);  // [rows, in]
          const GemmOperand rows = gemm_operand(x_rows), w = gemm_operand(weight);
          detail::visit_floating(x.dtype(), "linear", [&]<class T>() {
            // op(B) = Wᵀ: a row-major W is read transposed, a transposed view of W as it is.
            kernels::gemm<T>(rows.transposed, !w.transposed, x_rows.size(0), out_features, in_features, T(1),
                             detail::element_ptr<T>(rows.data), rows.ld, detail::element_ptr<T>(w.data), w.ld,
                             T(bias.defined() ? 1 : 0), detail::element_ptr<T>(out), out_features);
          });
        }

        if (!detail::any_requires_grad({x, weight, bias})) return out;
        return detail::record(
            "LinearBackward", {x, weight, bias}, out,
            [sx = SavedTensor(x), sw = SavedTensor(weight), x_shape = x.shape()](const BackwardArgs& args) {
              const Tensor g = as_rows(args.grad());  // [rows, out]
              Tensor gx, gw, gb;
              // dx = g·W: [rows, out]·[out, in] -> [rows, in], back to x's shape
              if (args.needs_grad(0)) gx = reshape(matmul(g, sw.unpack("LinearBackward")), x_shape);
              // dW = gᵀ·x: [out, rows]·[rows, in] -> [out, in]
              if (args.needs_grad(1)) gw = matmul(transpose(g, 0, 1), as_rows(sx.unpack("LinearBackward")));
              if (args.needs_grad(2)) gb = sum(g, 0);  // [out]
              return std::vector<Tensor>{gx, gw, gb};
            });
      },
      detail::trace::inputs(x, weight, bias));
}

}  // namespace xgrad
