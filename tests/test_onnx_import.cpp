// ONNX import: exported zoo models come back as modules that give the same logits,
// export again to the same model, keep the state_dict names and train; bad files
// and operators xgrad does not run are named. (ONNX's own node tests: the
// onnx_conformance program, run by ctest.)

#include <onnx/onnx_pb.h>

#include <filesystem>

#include "support.hpp"
#include "xgrad/io.hpp"
#include "xgrad/models.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/onnx.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) { return process_scratch_dir("xgrad_test_onnx_import") / name; }

// Batch statistics that make evaluation-mode batch norm more than the identity.
void set_statistics(nn::Module& model) {
  NoGradGuard no_grad;
  for (auto& [name, t] : model.named_buffers()) {
    if (name.find("running_mean") != std::string::npos) Tensor(t).copy_(randn(t.shape()) * 0.1);
    if (name.find("running_var") != std::string::npos) Tensor(t).copy_(rand(t.shape()) + 0.5);
  }
}

double max_difference(const Tensor& a, const Tensor& b) { return max(abs(a - b)).item(); }

// export -> import -> export -> import: every step gives the original's logits.
void require_round_trip(nn::Module& model, const Shape& input_shape, const std::string& name) {
  set_statistics(model);
  Shape example = input_shape;
  example[0] = 2;
  const fs::path first = scratch(name + ".onnx"), second = scratch(name + "_again.onnx");
  xgrad::onnx::save(model, randn(example), first.string());
  const auto imported = xgrad::onnx::load(first.string());
  REQUIRE_FALSE(imported->is_training());

  const Tensor x = randn(input_shape);  // another batch size than the export's
  model.eval();
  NoGradGuard no_grad;
  const Tensor expected = model.forward(x);
  const Tensor got = imported->forward(x);
  REQUIRE(got.shape() == expected.shape());
  CHECK(max_difference(got, expected) <= 1e-5 * max(abs(expected)).item());

  xgrad::onnx::save(*imported, x, second.string());
  const auto again = xgrad::onnx::load(second.string());
  CHECK(max_difference(again->forward(x), got) == 0.0);

  // The same names as the original's state_dict (but batch norm's step counter, which
  // evaluation does not read), the weights trainable, the statistics buffers.
  std::set<std::string> original, loaded;
  for (const auto& [key, t] : model.state_dict())
    if (key.find("num_batches_tracked") == std::string::npos) original.insert(key);
  for (const auto& [key, t] : imported->state_dict()) loaded.insert(key);
  CHECK(loaded == original);
  CHECK(imported->parameters().size() == model.parameters().size());
}

}  // namespace

TEST_CASE("onnx::load of exported zoo models gives their logits, and exports back to the same model", "[onnx]") {
  manual_seed(11);
  SECTION("LeNet-5") { require_round_trip(*models::lenet5(), {3, 1, 28, 28}, "lenet5"); }
  SECTION("CIFAR ResNet-20") { require_round_trip(*models::resnet20(), {3, 3, 32, 32}, "resnet20"); }
  SECTION("torchvision ResNet-18, tiny widths") {
    models::ResNet net(models::ResNetConfig{.planes = {4, 8, 16, 32}}, {.num_classes = 10});
    require_round_trip(net, {3, 3, 64, 64}, "resnet18_tiny");
  }
  SECTION("DenseNet-121") { require_round_trip(*models::densenet121({.num_classes = 10}), {2, 3, 32, 32}, "densenet"); }
}

#ifndef __SANITIZE_ADDRESS__  // 0.1-0.6 GB of weights each: seconds plain, minutes under ASan
TEST_CASE("onnx::load round trips of the large zoo models", "[onnx]") {
  manual_seed(13);
  SECTION("ResNet-50") { require_round_trip(*models::resnet50({.num_classes = 10}), {2, 3, 64, 64}, "resnet50"); }
  SECTION("AlexNet") { require_round_trip(*models::alexnet({.num_classes = 10}), {2, 3, 63, 63}, "alexnet"); }
  SECTION("VGG-11-BN") { require_round_trip(*models::vgg11_bn({.num_classes = 10}), {2, 3, 32, 32}, "vgg11_bn"); }
  SECTION("OverFeat") { require_round_trip(*models::overfeat({.num_classes = 10}), {2, 3, 71, 71}, "overfeat"); }
}
#endif

TEST_CASE("onnx::load of exported group, instance and layer norms gives their outputs", "[onnx][norm]") {
  manual_seed(14);
  nn::Sequential net;
  net.push_back(std::make_shared<nn::Conv2d>(3, 4, Spatial{3}));
  net.push_back(std::make_shared<nn::GroupNorm>(2, 4));
  net.push_back(std::make_shared<nn::InstanceNorm2d>(4, 1e-5, 0.1, true));
  net.push_back(std::make_shared<nn::InstanceNorm2d>(4, 1e-3, 0.1, true, true));  // evaluation: running statistics
  net.push_back(std::make_shared<nn::LayerNorm>(std::vector<std::int64_t>{5, 5}));
  {
    NoGradGuard no_grad;
    for (const Tensor& p : net.parameters()) Tensor(p).copy_(randn(p.shape()) * 0.5 + 1.0);
  }
  set_statistics(net);
  net.eval();
  const Tensor x = randn({3, 3, 7, 7});
  NoGradGuard no_grad;
  const Tensor expected = net.forward(x);
  for (const std::int64_t opset : {13, 17}) {
    INFO("opset " << opset);
    const fs::path path = scratch("norms_" + std::to_string(opset) + ".onnx");
    xgrad::onnx::save(net, randn({2, 3, 7, 7}), path.string(), {.opset = opset});
    const auto imported = xgrad::onnx::load(path.string());
    const Tensor got = imported->forward(x);  // another batch size than the export's
    REQUIRE(got.shape() == expected.shape());
    CHECK(max_difference(got, expected) <= 1e-5 * max(abs(expected)).item());
    // Every weight and statistic of the original comes back under its name (with the
    // unit scales of the InstanceNormalization the exporter adds as weights besides).
    std::set<std::string> loaded;
    for (const auto& [key, t] : imported->state_dict()) loaded.insert(key);
    for (const auto& [key, t] : net.state_dict())
      if (key.find("num_batches_tracked") == std::string::npos) CHECK(loaded.count(key) == 1);
    // ReduceMean runs as Tensor::mean, which the tracer does not see: only opset 17's
    // LayerNormalization exports again.
    if (opset < 17) continue;
    const fs::path again = scratch("norms_again.onnx");
    xgrad::onnx::save(*imported, x, again.string(), {.opset = opset});
    CHECK(max_difference(xgrad::onnx::load(again.string())->forward(x), got) == 0.0);
  }
}

TEST_CASE("onnx::load runs exact GELU written out with Erf as one gelu", "[onnx]") {
  struct Gelu : nn::Module {
    Tensor forward(const Tensor& x) override { return gelu(x) + gelu(x * 3.0); }
  } module;
  const fs::path path = scratch("gelu.onnx");
  const Tensor x = randn({4, 5});
  xgrad::onnx::save(module, x, path.string());
  const auto imported = xgrad::onnx::load(path.string());
  NoGradGuard no_grad;
  CHECK(max_difference(imported->forward(x), module.forward(x)) == 0.0);
}

TEST_CASE("onnx::load runs the activations of #16 as exported", "[onnx][activation]") {
  // export -> import: the original's outputs (float32, to 1e-6 relative: ONNX's Softplus
  // has no threshold, HardSigmoid's alpha is float(1/6)); import -> export -> import:
  // bit for bit the first import's.
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> fn;
  };
  const Case cases[] = {
      {"elu", [](const Tensor& x) { return elu(x, 0.5); }},
      {"selu", [](const Tensor& x) { return selu(x); }},
      {"celu", [](const Tensor& x) { return celu(x, 2.0); }},
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"hardswish", [](const Tensor& x) { return hardswish(x); }},
      {"hardsigmoid", [](const Tensor& x) { return hardsigmoid(x); }},
      {"mish", [](const Tensor& x) { return mish(x); }},
      {"softplus", [](const Tensor& x) { return softplus(x); }},
      {"softplus beta 2", [](const Tensor& x) { return softplus(x, 2.0, 40.0); }},
      {"relu6", [](const Tensor& x) { return relu6(x); }},
      {"hardtanh", [](const Tensor& x) { return hardtanh(x, -2.0, 0.5); }},
      {"log_sigmoid", [](const Tensor& x) { return log_sigmoid(x); }},
  };
  struct Lambda : nn::Module {
    explicit Lambda(std::function<Tensor(const Tensor&)> f) : Module("Lambda"), fn(std::move(f)) {}
    Tensor forward(const Tensor& x) override { return fn(x); }
    std::function<Tensor(const Tensor&)> fn;
  };
  manual_seed(14);
  const Tensor x = randn({3, 4, 5}) * 8.0;  // past every kink and the softplus thresholds
  for (const Case& c : cases)
    for (const std::int64_t opset : {13, 17}) {
      INFO(c.name << ", opset " << opset);
      Lambda module(c.fn);
      const fs::path first = scratch("activation.onnx"), second = scratch("activation_again.onnx");
      xgrad::onnx::save(module, x, first.string(), {.opset = opset});
      const auto imported = xgrad::onnx::load(first.string());
      NoGradGuard no_grad;
      const Tensor expected = module.forward(x), got = imported->forward(x);
      CHECK(max_difference(got, expected) <= 1e-6 * max(abs(expected)).item());
      xgrad::onnx::save(*imported, x, second.string(), {.opset = opset});
      CHECK(max_difference(xgrad::onnx::load(second.string())->forward(x), got) == 0.0);
    }
}

TEST_CASE("onnx::load of a network with PReLU and the other activation layers", "[onnx][activation]") {
  manual_seed(15);
  nn::Sequential net({std::make_shared<nn::Conv2d>(3, 4, std::vector<std::int64_t>{3}), std::make_shared<nn::PReLU>(4),
                      std::make_shared<nn::Conv2d>(4, 4, std::vector<std::int64_t>{1}), std::make_shared<nn::ELU>(),
                      std::make_shared<nn::Hardswish>(), std::make_shared<nn::PReLU>(), std::make_shared<nn::SiLU>(),
                      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(64, 5),
                      std::make_shared<nn::PReLU>(5, 0.1), std::make_shared<nn::Mish>()});
  {
    NoGradGuard no_grad;  // slopes that differ per channel
    for (auto& [name, p] : net.named_parameters())
      if (p.dim() == 1 && name.find("weight") != std::string::npos) Tensor(p).copy_(randn(p.shape()) * 0.3);
  }
  require_round_trip(net, {3, 3, 6, 6}, "activations");
}

TEST_CASE("onnx::load runs exported interpolation of every mode and rank as the original", "[onnx]") {
  manual_seed(21);
  const struct {
    const char* name;
    Shape input;
    InterpolateOptions options;
    const char* type;  // the op it is exported as
  } cases[] = {
      {"nearest 3-D", {2, 3, 5}, {.scale_factor = {1.6}}, "Resize"},
      {"nearest-exact 3-D", {2, 3, 5}, {.size = {8}, .mode = "nearest-exact"}, "Resize"},
      {"linear", {2, 3, 5}, {.size = {9}, .mode = "linear"}, "Resize"},
      {"linear align_corners", {2, 3, 5}, {.size = {3}, .mode = "linear", .align_corners = true}, "Resize"},
      {"nearest 4-D", {2, 3, 5, 4}, {.size = {7, 9}}, "Resize"},
      {"nearest-exact 4-D", {2, 3, 5, 4}, {.scale_factor = {1.5, 0.5}, .mode = "nearest-exact"}, "Resize"},
      {"bilinear recompute_scale_factor", {2, 3, 5, 4},
       {.scale_factor = {1.7, 1.3}, .mode = "bilinear", .recompute_scale_factor = true}, "Resize"},
      {"bicubic", {2, 3, 5, 4}, {.size = {7, 9}, .mode = "bicubic"}, "Resize"},
      {"bicubic down", {2, 3, 5, 4}, {.size = {3, 2}, .mode = "bicubic"}, "Resize"},
      {"bicubic scale_factor", {2, 3, 4, 4}, {.scale_factor = {1.5}, .mode = "bicubic"}, "Resize"},
      {"bicubic align_corners", {2, 3, 5, 4}, {.size = {7, 9}, .mode = "bicubic", .align_corners = true}, "Resize"},
      {"nearest 5-D", {2, 2, 3, 4, 2}, {.scale_factor = {2, 1.5, 1}}, "Resize"},
      {"nearest-exact 5-D", {2, 2, 3, 4, 2}, {.size = {4, 3, 5}, .mode = "nearest-exact"}, "Resize"},
      {"trilinear", {2, 2, 3, 4, 2}, {.size = {4, 3, 5}, .mode = "trilinear"}, "Resize"},
      {"trilinear align_corners", {2, 2, 3, 4, 2}, {.size = {4, 3, 5}, .mode = "trilinear", .align_corners = true},
       "Resize"},
      {"area to one", {2, 3, 5, 4}, {.size = {1}, .mode = "area"}, "GlobalAveragePool"},
      {"area by windows", {2, 3, 6, 4}, {.scale_factor = {0.5}, .mode = "area"}, "AveragePool"},
      {"area up by a multiple", {2, 3, 4}, {.size = {8}, .mode = "area"}, "Resize"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    nn::Upsample module(c.options);
    const fs::path path = scratch("interpolate.onnx");
    xgrad::onnx::save(module, randn(c.input), path.string());
    ::onnx::ModelProto model;
    REQUIRE(model.ParseFromString(read_bytes(path)));
    bool found = false;
    for (const auto& node : model.graph().node()) found = found || node.op_type() == c.type;
    CHECK(found);
    const auto imported = xgrad::onnx::load(path.string());
    const Tensor x = randn(c.input);
    NoGradGuard no_grad;
    const Tensor expected = module.forward(x), got = imported->forward(x);
    REQUIRE(got.shape() == expected.shape());
    CHECK(max_difference(got, expected) <= 1e-5 * (1.0 + max(abs(expected)).item()));  // f32 coordinates
  }
  // Area with windows of unequal sizes has no ONNX form.
  nn::Upsample uneven({.size = {3}, .mode = "area"});
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::save(uneven, randn({1, 2, 5, 5}), scratch("area.onnx").string()), ValueError,
                            "interpolate (mode area)", "[5, 5] to [3, 3]", "unequal sizes");
}

TEST_CASE("an imported model trains, and loads the original's weights", "[onnx]") {
  manual_seed(12);
  auto original = models::lenet5();
  const fs::path path = scratch("lenet_train.onnx");
  xgrad::onnx::save(*original, randn({2, 1, 28, 28}), path.string());
  auto imported = xgrad::onnx::load(path.string());

  imported->train();
  optim::SGD sgd(imported->parameters(), {.lr = 0.05});
  const Tensor x = randn({8, 1, 28, 28});
  const Tensor labels = from_vector(std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7}, {8});
  double first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    sgd.zero_grad();
    const Tensor loss = cross_entropy(imported->forward(x), labels);
    loss.backward();
    for (const Tensor& p : imported->parameters()) REQUIRE(p.grad().defined());
    sgd.step();
    (step == 0 ? first : last) = loss.item();
  }
  CHECK(last < first);

  // Its state_dict names are the original's: the original's weights load into it.
  const fs::path weights = scratch("lenet.safetensors");
  save(*original, weights.string());
  load(*imported, weights.string());
  imported->eval();
  original->eval();
  NoGradGuard no_grad;
  CHECK(max_difference(imported->forward(x), original->forward(x)) == 0.0);
}

TEST_CASE("onnx::load names the files and operators it cannot read", "[onnx][errors]") {
  // Erf alone is not run (xgrad has no erf op)...
  struct ErfOfHalf : nn::Module {
    Tensor forward(const Tensor& x) override { return gelu(x) * 2.0; }  // the pattern, then a different use
  } erf_module;
  const fs::path erf_path = scratch("erf.onnx");
  xgrad::onnx::save(erf_module, randn({2, 3}), erf_path.string());
  ::onnx::ModelProto erf_model;
  REQUIRE(erf_model.ParseFromString(read_bytes(erf_path)));
  erf_model.mutable_graph()->mutable_node(0)->set_op_type("Identity");  // break the GELU pattern before its Erf
  write_bytes(erf_path, erf_model.SerializeAsString());
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::load(erf_path.string()), ValueError, "erf.onnx", "is a Erf",
                            "which xgrad does not run");

  auto net = models::lenet5();
  const fs::path good = scratch("lenet.onnx");
  xgrad::onnx::save(*net, randn({1, 1, 28, 28}), good.string());
  const std::string bytes = read_bytes(good);
  const fs::path truncated = scratch("truncated.onnx");
  write_bytes(truncated, bytes.substr(0, bytes.size() / 2));
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::load(truncated.string()), IOError, "truncated.onnx", "not a valid ONNX model");
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::load(scratch("missing.onnx").string()), IOError, "missing.onnx");

  // An initializer whose data does not fill its dims, and one claiming 2^40 elements.
  ::onnx::ModelProto model;
  REQUIRE(model.ParseFromString(bytes));
  model.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(12);
  const fs::path short_data = scratch("short.onnx");
  write_bytes(short_data, model.SerializeAsString());
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::load(short_data.string()), IOError, "has 12 bytes of data, not 600");
  auto* dims = model.mutable_graph()->mutable_initializer(0)->mutable_dims();
  dims->Clear();
  dims->Add(1 << 20);
  dims->Add(1 << 21);
  write_bytes(short_data, model.SerializeAsString());
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::load(short_data.string()), IOError, "dims that overflow");

  auto imported = xgrad::onnx::load(good.string());
  XGRAD_REQUIRE_THROWS_WITH(imported->run({}), ShapeError, "takes 1 inputs (input), got 0");
}
