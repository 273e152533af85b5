// Reference cases of reduction.hpp (tests/reference/make_reduction.py).

#include <catch2/catch.hpp>

#include <cmath>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

template <class F>
OpFn whole(F f) {
  return [f](const Inputs& in, const Options&) { return Outputs{f(in[0])}; };
}

template <class F>
OpFn over_dims(F f) {
  return [f](const Inputs& in, const Options& o) {
    return Outputs{f(in[0], Dims(ints(o.at("dims"))), o.at("keepdim").get<bool>())};
  };
}

template <class F>
OpFn over_dim(F f) {
  return [f](const Inputs& in, const Options& o) {
    return Outputs{f(in[0], o.at("dim").get<std::int64_t>(), o.at("keepdim").get<bool>())};
  };
}

}  // namespace

TEST_CASE("reference: reduction", "[reference][reduction]") {
  run_family("reduction", {
      {"sum", whole([](const Tensor& x) { return sum(x); })},
      {"mean", whole([](const Tensor& x) { return mean(x); })},
      {"max", whole([](const Tensor& x) { return max(x); })},
      {"min", whole([](const Tensor& x) { return min(x); })},
      {"sum_dims", over_dims([](const Tensor& x, const Dims& d, bool k) { return sum(x, d, k); })},
      {"mean_dims", over_dims([](const Tensor& x, const Dims& d, bool k) { return mean(x, d, k); })},
      {"amax", over_dims([](const Tensor& x, const Dims& d, bool k) { return amax(x, d, k); })},
      {"amin", over_dims([](const Tensor& x, const Dims& d, bool k) { return amin(x, d, k); })},
      {"logsumexp", over_dims([](const Tensor& x, const Dims& d, bool k) { return logsumexp(x, d, k); })},
      {"max_dim", [](const Inputs& in, const Options& o) {
         const auto [values, indices] = max(in[0], o.at("dim").get<std::int64_t>(), o.at("keepdim").get<bool>());
         return Outputs{values, indices};
       }},
      {"min_dim", [](const Inputs& in, const Options& o) {
         const auto [values, indices] = min(in[0], o.at("dim").get<std::int64_t>(), o.at("keepdim").get<bool>());
         return Outputs{values, indices};
       }},
      {"norm", [](const Inputs& in, const Options& o) {
         const Options& p = o.at("p");
         const double order = p.is_string() ? (p.get<std::string>() == "inf" ? INFINITY : -INFINITY) : p.get<double>();
         return Outputs{norm(in[0], order, Dims(ints(o.at("dims"))), o.at("keepdim").get<bool>())};
       }},
      {"argmax", over_dim([](const Tensor& x, std::int64_t d, bool k) { return argmax(x, d, k); })},
      {"argmin", over_dim([](const Tensor& x, std::int64_t d, bool k) { return argmin(x, d, k); })},
  });
}
