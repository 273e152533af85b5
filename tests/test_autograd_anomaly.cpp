// Anomaly mode (DetectAnomalyGuard): the first backward that makes NaN or
// infinity throws, naming the node, its forward op, sequence number and labels.

#include "support.hpp"
#include "xgrad/anomaly.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/ops.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ag = xgrad::autograd;

TEST_CASE("anomaly mode names the backward that made NaN and where its forward ran", "[autograd][anomaly]") {
  ag::DetectAnomalyGuard detect;
  const Tensor x = zeros({3}, {.dtype = f64, .requires_grad = true});
  Tensor loss;
  {
    ag::AnomalyLabel outer("encoder");
    ag::AnomalyLabel inner("block2");
    loss = (log(x) * 0.0).sum();  // log(0) = -inf; its backward is 0 / 0
  }
  XGRAD_REQUIRE_THROWS_WITH(loss.backward(), AutogradError, "detect_anomaly", "LogBackward returned NaN",
                            "forward op Log recorded as op #", "label 'encoder/block2'", "shape [3]",
                            "received were finite (so this op made it)");
}

TEST_CASE("anomaly mode finds infinity and says when the gradient arrived broken", "[autograd][anomaly]") {
  ag::DetectAnomalyGuard detect;
  const Tensor x = zeros({2, 2}, {.dtype = f64, .requires_grad = true});
  XGRAD_REQUIRE_THROWS_WITH(sqrt(x).sum().backward(), AutogradError, "SqrtBackward returned infinity");
  const Tensor y = ones({2}, {.dtype = f64, .requires_grad = true});
  const Tensor nan_seed = full({2}, std::nan(""), {.dtype = f64});
  XGRAD_REQUIRE_THROWS_WITH((y * 2.0).backward(nan_seed), AutogradError, "MulScalarBackward returned NaN",
                            "not finite already");
}

TEST_CASE("anomaly mode is off by default, and a guard restores the previous setting", "[autograd][anomaly]") {
  CHECK_FALSE(ag::is_anomaly_enabled());
  const Tensor x = zeros({3}, {.dtype = f64, .requires_grad = true});
  (log(x) * 0.0).sum().backward();  // off: no check, the NaN arrives in the gradient
  CHECK(std::isnan(values(x.grad())[0]));
  {
    ag::DetectAnomalyGuard on;
    CHECK(ag::is_anomaly_enabled());
    {
      ag::DetectAnomalyGuard off(false);
      CHECK_FALSE(ag::is_anomaly_enabled());
    }
    CHECK(ag::is_anomaly_enabled());
  }
  CHECK_FALSE(ag::is_anomaly_enabled());
}

TEST_CASE("anomaly mode passes finite gradients through, also under create_graph", "[autograd][anomaly]") {
  ag::DetectAnomalyGuard detect;
  const Tensor x = from_vector(std::vector<double>{0.5, 1.5, 2.0}, {3}, {.dtype = f64, .requires_grad = true});
  const Tensor y = (x * x * x).sum();
  const auto g = ag::grad({y}, {x}, {}, {.create_graph = true});
  require_values(g[0], {0.75, 6.75, 12.0});
  const auto gg = ag::grad({g[0].sum()}, {x});
  require_values(gg[0], {3.0, 9.0, 12.0});
}
