// ONNX export: every zoo model exports, passes ONNX's checker and strict shape
// inference (xgrad::onnx::save runs both), names its initializers after the state_dict,
// keeps the batch dim symbolic; ops the exporter cannot express are named.
// (Numbers: the round trip through onnx::load in test_onnx_import.cpp; ONNX Runtime
// at development time, docs/interop.md.)

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <set>

#include "support.hpp"
#include "xgrad/models.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/onnx.hpp"
#include "xgrad/ops.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) { return process_scratch_dir("xgrad_test_onnx") / name; }

::onnx::ModelProto read_model(const fs::path& path) {
  ::onnx::ModelProto model;
  REQUIRE(model.ParseFromString(read_bytes(path)));
  return model;
}

std::multiset<std::string> op_types(const ::onnx::ModelProto& model) {
  std::multiset<std::string> types;
  for (const auto& node : model.graph().node()) types.insert(node.op_type());
  return types;
}

// Exports `model` on `input` and checks what every export must hold.
::onnx::ModelProto export_and_read(nn::Module& model, const Tensor& input, const std::string& name,
                                   const xgrad::onnx::ExportOptions& options = {}) {
  const fs::path path = scratch(name + ".onnx");
  xgrad::onnx::save(model, input, path.string(), options);
  ::onnx::ModelProto proto = read_model(path);
  REQUIRE(proto.opset_import(0).version() == options.opset);
  const auto& graph = proto.graph();
  REQUIRE(graph.input_size() == 1);
  REQUIRE(graph.output_size() == 1);
  const auto& dims = graph.input(0).type().tensor_type().shape();
  REQUIRE(dims.dim_size() == input.dim());
  if (options.dynamic_batch) {
    REQUIRE(dims.dim(0).dim_param() == "batch");
  } else {
    REQUIRE(dims.dim(0).dim_value() == input.size(0));
  }
  // Every parameter and buffer the forward reads is an initializer of its state_dict name.
  std::set<std::string> names;
  for (const auto& [key, t] : model.state_dict()) names.insert(key);
  std::int64_t named = 0;
  for (const auto& init : graph.initializer()) {
    if (init.name().rfind("constant_", 0) == 0) continue;
    INFO(init.name());
    REQUIRE(names.count(init.name()) == 1);
    ++named;
  }
  REQUIRE(named > 0);
  return proto;
}

std::int64_t used_state(nn::Module& model) {  // parameters and buffers but num_batches_tracked
  std::int64_t n = 0;
  for (const auto& [key, t] : model.state_dict()) n += key.find("num_batches_tracked") == std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("onnx::save exports LeNet-5 as Conv, Relu, MaxPool, Flatten and Gemm", "[onnx]") {
  auto net = models::lenet5();
  const auto proto = export_and_read(*net, randn({2, 1, 28, 28}), "lenet5");
  const auto types = op_types(proto);
  CHECK(types.count("Conv") == 2);
  CHECK(types.count("Relu") == 4);
  CHECK(types.count("MaxPool") == 2);
  CHECK(types.count("Flatten") == 1);
  CHECK(types.count("Gemm") == 3);
  CHECK(proto.graph().initializer_size() == used_state(*net));
  REQUIRE(net->is_training());  // the mode is restored
}

TEST_CASE("onnx::save exports the ResNets and DenseNet", "[onnx]") {
  SECTION("CIFAR ResNet-20: strided slices and channel padding in the shortcuts") {
    auto net = models::resnet20();
    const auto types = op_types(export_and_read(*net, randn({2, 3, 32, 32}), "resnet20"));
    CHECK(types.count("Slice") == 4);
    CHECK(types.count("Pad") == 2);
    CHECK(types.count("BatchNormalization") == 19);
    CHECK(types.count("Add") == 9);
    CHECK(types.count("GlobalAveragePool") == 1);
  }
  SECTION("ResNet-18 and ResNet-50: projection shortcuts") {
    auto r18 = models::resnet18({.num_classes = 10});
    auto proto = export_and_read(*r18, randn({1, 3, 64, 64}), "resnet18");
    CHECK(proto.graph().initializer_size() == used_state(*r18));
    auto r50 = models::resnet50({.num_classes = 10});
    CHECK(op_types(export_and_read(*r50, randn({1, 3, 64, 64}), "resnet50")).count("Conv") == 53);
  }
  SECTION("DenseNet-121: concatenations and average pooling") {
    auto net = models::densenet121({.num_classes = 10});
    const auto types = op_types(export_and_read(*net, randn({1, 3, 32, 32}), "densenet121"));
    CHECK(types.count("Concat") == 58);
    CHECK(types.count("AveragePool") == 3);
  }
  SECTION("a static batch when asked") {
    auto net = models::resnet20();
    export_and_read(*net, randn({3, 3, 32, 32}), "resnet20_static", {.opset = 13, .dynamic_batch = false});
  }
}

#ifndef __SANITIZE_ADDRESS__  // 0.2-0.5 GB of weights each: seconds plain, minutes under ASan
TEST_CASE("onnx::save exports AlexNet, VGG and OverFeat", "[onnx]") {
  SECTION("AlexNet on a small image: its 6x6 adaptive pool of 1x1 maps is a nearest Resize") {
    auto net = models::alexnet({.num_classes = 10});
    const auto types = op_types(export_and_read(*net, randn({1, 3, 63, 63}), "alexnet"));
    CHECK(types.count("Resize") == 1);
    CHECK(types.count("Dropout") == 0);  // identity in evaluation mode
  }
  SECTION("VGG-11 with batch norm") {
    auto net = models::vgg11_bn({.num_classes = 10});
    CHECK(op_types(export_and_read(*net, randn({1, 3, 32, 32}), "vgg11_bn")).count("BatchNormalization") == 8);
  }
  SECTION("OverFeat") {
    auto net = models::overfeat({.num_classes = 10});
    export_and_read(*net, randn({1, 3, 71, 71}), "overfeat");
  }
}
#endif

namespace {

// A module whose forward runs what the test gives it.
struct Lambda : nn::Module {
  explicit Lambda(std::function<Tensor(const Tensor&)> f) : Module("Lambda"), fn(std::move(f)) {}
  Tensor forward(const Tensor& x) override { return fn(x); }
  std::function<Tensor(const Tensor&)> fn;
};

}  // namespace

TEST_CASE("onnx::save exports the other traced ops", "[onnx]") {
  const struct {
    const char* name;
    std::function<Tensor(const Tensor&)> fn;
    const char* type;
  } cases[] = {
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, "LeakyRelu"},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, "Sigmoid"},
      {"tanh", [](const Tensor& x) { return tanh(x); }, "Tanh"},
      {"gelu", [](const Tensor& x) { return gelu(x); }, "Erf"},
      {"softmax", [](const Tensor& x) { return softmax(x, 1); }, "Softmax"},
      {"log_softmax", [](const Tensor& x) { return log_softmax(x, -1); }, "LogSoftmax"},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.5); }, "Clip"},
      {"elu", [](const Tensor& x) { return elu(x, 0.5); }, "Elu"},
      {"selu", [](const Tensor& x) { return selu(x); }, "Selu"},
      {"celu", [](const Tensor& x) { return celu(x, 2.0); }, "Celu"},
      {"silu", [](const Tensor& x) { return silu(x); }, "Sigmoid"},
      {"hardswish", [](const Tensor& x) { return hardswish(x); }, "HardSwish"},
      {"hardsigmoid", [](const Tensor& x) { return hardsigmoid(x); }, "HardSigmoid"},
      {"mish", [](const Tensor& x) { return mish(x); }, "Softplus"},
      {"softplus", [](const Tensor& x) { return softplus(x); }, "Softplus"},
      {"softplus beta 2", [](const Tensor& x) { return softplus(x, 2.0); }, "Softplus"},
      {"relu6", [](const Tensor& x) { return relu6(x); }, "Clip"},
      {"hardtanh", [](const Tensor& x) { return hardtanh(x, -2.0, 0.5); }, "Clip"},
      {"log_sigmoid", [](const Tensor& x) { return log_sigmoid(x); }, "Softplus"},
      {"scalar arithmetic", [](const Tensor& x) { return (x * 2.0 + 1.0) / 3.0 - 0.5; }, "Div"},
      {"pow exp log sqrt abs", [](const Tensor& x) { return sqrt(abs(log(exp(pow(x, 2.0)) + 1.0))); }, "Sqrt"},
      {"transpose permute", [](const Tensor& x) { return x.transpose(2, 3).permute({0, 1, 3, 2}).contiguous(); },
       "Transpose"},
      {"reshape", [](const Tensor& x) { return x.reshape({x.size(0), -1}); }, "Reshape"},
      {"interpolate nearest",
       [](const Tensor& x) { return interpolate(x, {.scale_factor = {2.0}, .mode = "nearest"}); }, "Resize"},
      {"interpolate bilinear",
       [](const Tensor& x) { return interpolate(x, {.size = {9, 7}, .mode = "bilinear", .align_corners = true}); },
       "Resize"},
      {"interpolate bicubic",
       [](const Tensor& x) { return interpolate(x, {.scale_factor = {1.5}, .mode = "bicubic"}); }, "Resize"},
      {"interpolate nearest-exact",
       [](const Tensor& x) { return interpolate(x, {.size = {7, 3}, .mode = "nearest-exact"}); }, "Resize"},
      {"interpolate area", [](const Tensor& x) { return interpolate(x, {.size = {1}, .mode = "area"}); },
       "GlobalAveragePool"},
      {"local_response_norm", [](const Tensor& x) { return local_response_norm(x, {.size = 3}); }, "LRN"},
      {"avg_pool ceil", [](const Tensor& x) { return avg_pool2d(x, {.kernel = {2}, .ceil_mode = true}); }, "AveragePool"},
      {"max_pool dilated",
       [](const Tensor& x) { return max_pool2d(x, {.kernel = {2}, .stride = {1}, .dilation = {2}}); }, "MaxPool"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Lambda module(c.fn);
    const fs::path path = scratch("ops.onnx");
    xgrad::onnx::save(module, randn({2, 3, 5, 5}), path.string());
    REQUIRE(op_types(read_model(path)).count(c.type) >= 1);
  }
}

TEST_CASE("onnx::save writes the activations of #16 with the opset's operators", "[onnx][activation]") {
  const auto types_of = [](nn::Module& module, const Shape& shape, std::int64_t opset) {
    const fs::path path = scratch("activation.onnx");
    xgrad::onnx::save(module, randn(shape), path.string(), {.opset = opset});
    return op_types(read_model(path));
  };
  // HardSwish is opset 14's: at 13 it is x * HardSigmoid(x).
  Lambda hardswish_module([](const Tensor& x) { return hardswish(x); });
  CHECK(types_of(hardswish_module, {2, 3}, 13) == std::multiset<std::string>{"HardSigmoid", "Mul", "Identity"});
  CHECK(types_of(hardswish_module, {2, 3}, 14) == std::multiset<std::string>{"HardSwish", "Identity"});
  // No Mish before opset 18: x * tanh(softplus(x)). silu is x * sigmoid(x), log_sigmoid -softplus(-x).
  Lambda mish_module([](const Tensor& x) { return mish(x); });
  CHECK(types_of(mish_module, {2, 3}, 17) == std::multiset<std::string>{"Softplus", "Tanh", "Mul", "Identity"});
  Lambda silu_module([](const Tensor& x) { return silu(x); });
  CHECK(types_of(silu_module, {2, 3}, 17) == std::multiset<std::string>{"Sigmoid", "Mul", "Identity"});
  Lambda log_sigmoid_module([](const Tensor& x) { return log_sigmoid(x); });
  CHECK(types_of(log_sigmoid_module, {2, 3}, 17) == std::multiset<std::string>{"Neg", "Softplus", "Neg", "Identity"});
  Lambda softplus_beta([](const Tensor& x) { return softplus(x, 0.5, 30.0); });
  CHECK(types_of(softplus_beta, {2, 3}, 17) == std::multiset<std::string>{"Mul", "Softplus", "Div", "Identity"});

  // PRelu: the weight, an initializer of its state_dict name, shaped [C, 1, 1] to broadcast along dim 1.
  nn::PReLU per_channel(3);
  const ::onnx::ModelProto model = export_and_read(per_channel, randn({2, 3, 4, 4}), "prelu");
  CHECK(op_types(model) == std::multiset<std::string>{"Reshape", "PRelu", "Identity"});
  nn::PReLU shared;
  CHECK(op_types(export_and_read(shared, randn({2, 3, 4, 4}), "prelu_shared")) ==
        std::multiset<std::string>{"PRelu", "Identity"});
  CHECK(op_types(export_and_read(per_channel, randn({2, 3}), "prelu_2d")) ==
        std::multiset<std::string>{"PRelu", "Identity"});
}

TEST_CASE("onnx::save exports group, instance and layer norm", "[onnx][norm]") {
  // GroupNormalization is opset 18: Reshape, InstanceNormalization, Reshape, then weight and bias.
  nn::Sequential net;
  net.push_back(std::make_shared<nn::GroupNorm>(2, 4));
  net.push_back(std::make_shared<nn::InstanceNorm2d>(4, 1e-5, 0.1, true));
  net.push_back(std::make_shared<nn::InstanceNorm2d>(4));
  net.push_back(std::make_shared<nn::LayerNorm>(std::vector<std::int64_t>{5, 5}));
  const auto types = op_types(export_and_read(net, randn({2, 4, 5, 5}), "norms"));
  CHECK(types.count("InstanceNormalization") == 3);
  CHECK(types.count("LayerNormalization") == 1);
  // Before opset 17 layer norm is written out with ReduceMean.
  const auto old = op_types(export_and_read(net, randn({2, 4, 5, 5}), "norms_13", {.opset = 13}));
  CHECK(old.count("LayerNormalization") == 0);
  CHECK(old.count("ReduceMean") == 2);
  // Instance norm with running statistics, in evaluation, is batch norm with them.
  nn::InstanceNorm1d tracked(3, 1e-5, 0.1, false, true);
  tracked.eval();
  CHECK(op_types(export_and_read(tracked, randn({2, 3, 6}), "instance_tracked")).count("BatchNormalization") == 1);
  // Without weights: unit scales and zero shifts the exporter makes.
  Lambda plain([](const Tensor& x) { return layer_norm(instance_norm(group_norm(x, 2)), {5}); });
  const fs::path path = scratch("norms_plain.onnx");
  xgrad::onnx::save(plain, randn({2, 4, 5, 5}), path.string());
  const auto plain_types = op_types(read_model(path));
  CHECK(plain_types.count("InstanceNormalization") == 2);
  CHECK(plain_types.count("LayerNormalization") == 1);
  CHECK(plain_types.count("Mul") == 0);
}

TEST_CASE("onnx::save names what it cannot export", "[onnx][errors]") {
  const fs::path path = scratch("refused.onnx");
  Lambda tanh_gelu([](const Tensor& x) { return gelu(x, "tanh"); });
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::save(tanh_gelu, randn({2, 3}), path.string()), ValueError, "onnx::save", "gelu",
                            "tanh");
  Lambda untraced([](const Tensor& x) { return x + ones({3}); });  // a constant made in forward
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::save(untraced, randn({2, 3}), path.string()), ValueError,
                            "input 1 of add is a tensor [3] f32", "register a constant as a buffer");
  Lambda uneven([](const Tensor& x) { return adaptive_avg_pool2d(x, {3, 3}); });
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::save(uneven, randn({1, 2, 5, 5}), path.string()), ValueError, "adaptive_avg_pool",
                            "[5, 5] to [3, 3]");
  Lambda sharp_softplus([](const Tensor& x) { return softplus(x, 1.0, 5.0); });
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::save(sharp_softplus, randn({2, 3}), path.string()), ValueError, "onnx::save",
                            "softplus with threshold 5", "no threshold");
  // Losses are traced but not exported (a model's forward of one input rarely ends in one).
  Lambda loss([](const Tensor& x) { return smooth_l1_loss(x, x * 2.0, {.reduction = Reduction::none}); });
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::save(loss, randn({2, 3}), path.string()), ValueError,
                            "the forward uses smooth_l1_loss, which the ONNX exporter does not support");
  auto net = models::lenet5();
  XGRAD_REQUIRE_THROWS_WITH(xgrad::onnx::save(*net, randn({2, 1, 28, 28}), path.string(), {.opset = 11}), ValueError,
                            "opset 11");
  REQUIRE_FALSE(fs::exists(path));  // nothing half-written
}
