// cat and stack: copy the inputs side by side into one new tensor. Each input's
// gradient is its own slice of the output's gradient.

#include "autograd/record.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "xgrad/ops/shape.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::str;

namespace {

// A non-empty list of defined tensors of one dtype (any dtype: i64 labels join too).
void check_joinable(const char* op, const std::vector<Tensor>& tensors) {
  if (tensors.empty()) fail<ValueError>("{}: expected a non-empty list of tensors", op);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) fail<Error>("{}: tensor {} is an undefined tensor", op, i);
    if (tensors[i].dtype() != tensors[0].dtype())
      fail<DTypeError>("{}: tensor {} has dtype {} but tensor 0 has dtype {}; convert with .to()", op, i,
                       dtype_name(tensors[i].dtype()), dtype_name(tensors[0].dtype()));
  }
}

// True when a and b have the same shape in every dim but `dim`.
bool agree_except(const Shape& a, const Shape& b, std::size_t dim) {
  if (a.size() != b.size()) return false;
  for (std::size_t d = 0; d < a.size(); ++d)
    if (d != dim && a[d] != b[d]) return false;
  return true;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  return detail::trace::traced(
      "cat",
      [&]() -> Tensor {
        check_joinable("cat", tensors);
        const Shape& first = tensors[0].shape();
        if (first.empty())
          fail<ShapeError>("cat: tensor 0 has shape []; 0-d tensors cannot be concatenated (use stack)");
        const auto d = static_cast<std::size_t>(detail::wrap_dim("cat", dim, tensors[0].dim()));
        Shape out_shape = first;
        out_shape[d] = 0;
        for (std::size_t i = 0; i < tensors.size(); ++i) {
          if (!agree_except(tensors[i].shape(), first, d))
            fail<ShapeError>(
                "cat: tensor {} has shape {} but tensor 0 has shape {}; they must match in every dim except dim {}", i,
                str(tensors[i].shape()), str(first), d);
          out_shape[d] += tensors[i].shape()[d];
        }

        Tensor out = detail::make_tensor(out_shape, tensors[0].dtype());
        std::vector<std::int64_t> starts, sizes;  // each input's place along d
        std::int64_t start = 0;
        for (const Tensor& t : tensors) {
          starts.push_back(start);
          sizes.push_back(t.shape()[d]);
          narrow(out, static_cast<std::int64_t>(d), start, sizes.back()).copy_(t);
          start += sizes.back();
        }

        if (!detail::any_requires_grad(tensors)) return out;
        return detail::record("CatBackward", tensors, out,
                              [starts, sizes, dim = static_cast<std::int64_t>(d)](const BackwardArgs& args) {
                                // Input i's gradient is its slice of g along dim: [..., sizes[i], ...].
                                std::vector<Tensor> grads(starts.size());
                                for (std::size_t i = 0; i < grads.size(); ++i)
                                  if (args.needs_grad(i)) grads[i] = narrow(args.grad(), dim, starts[i], sizes[i]);
                                return grads;
                              });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{tensors, {{"dim", dim}}};
      });
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  check_joinable("stack", tensors);
  const std::int64_t d = detail::wrap_dim("stack", dim, tensors[0].dim() + 1);
  std::vector<Tensor> pieces;
  pieces.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].shape() != tensors[0].shape())
      fail<ShapeError>("stack: tensor {} has shape {} but tensor 0 has shape {}; all shapes must be equal", i,
                       str(tensors[i].shape()), str(tensors[0].shape()));
    pieces.push_back(unsqueeze(tensors[i], d));
  }
  return cat(pieces, d);
}

}  // namespace xgrad
