// The backbone zoo: parameter counts and state_dict keys as torchvision's,
// torchvision's initialisation, forward shapes on small inputs (and the
// smallest input each model takes), train/eval modes, the summary of LeNet-5
// and one training step through a CIFAR ResNet.
//
// Full-size models are built one at a time (VGG's 138M parameters take
// 550 MB); forwards only ever run on tiny inputs.

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

std::int64_t parameter_count(const nn::Module& model) {
  std::int64_t n = 0;
  for (const Tensor& p : model.parameters()) n += p.numel();
  return n;
}

std::vector<std::string> keys(const nn::StateDict& dict) {
  std::vector<std::string> out;
  for (const auto& [name, tensor] : dict) out.push_back(name);
  return out;
}

Tensor state(const nn::Module& model, const std::string& key) {
  for (const auto& [name, tensor] : model.state_dict())
    if (name == key) return tensor;
  FAIL("no state_dict entry " << key);
  return {};
}

struct Moments {
  double mean, std;
};

Moments moments(const Tensor& t) {
  const std::vector<double> v = values(t);
  double sum = 0;
  for (double x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  double squares = 0;
  for (double x : v) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / static_cast<double>(v.size() - 1))};
}

void require_normal(const Tensor& t, double stddev) {
  const Moments m = moments(t);
  INFO("shape " << shape_to_string(t.shape()) << ", mean " << m.mean << ", std " << m.std);
  REQUIRE(m.mean == Approx(0.0).margin(0.02 * stddev));
  REQUIRE(m.std == Approx(stddev).epsilon(0.02));
}

void require_all(const Tensor& t, double value) {
  const std::vector<double> v = values(t);
  REQUIRE(std::count(v.begin(), v.end(), value) == static_cast<std::ptrdiff_t>(v.size()));
}

// Model name, factory and torchvision's parameter count at 1000 classes.
struct Expected {
  const char* name;
  std::function<std::shared_ptr<nn::Module>()> build;
  std::int64_t parameters;
};

void require_parameter_counts(const std::vector<Expected>& table) {
  for (const Expected& e : table) {
    INFO(e.name);
    REQUIRE(parameter_count(*e.build()) == e.parameters);  // built, counted and freed one at a time
  }
}

// The model runs at its smallest input (min_size x min_size), refuses one
// pixel less with a message giving the minimum, and its feature layers alone
// fail there too, so the stated minimum is the true one.
void require_smallest_input(nn::Module& net, const char* name, std::int64_t min_size) {
  INFO(name << " at " << min_size);
  net.eval();
  CHECK(net.forward(randn({1, 3, min_size, min_size})).shape() == Shape{1, 2});
  const Tensor smaller = randn({1, 3, min_size, min_size - 1});
  const std::string minimum = "at least " + std::to_string(min_size);
  XGRAD_REQUIRE_THROWS_WITH(net.forward(smaller), ShapeError, name, "too small", minimum.c_str());
  CHECK_THROWS_AS(net.find("features")->forward(smaller), Error);
}

}  // namespace

// ---- parameter counts ---------------------------------------------------------------

TEST_CASE("parameter counts equal torchvision's: resnet", "[models][parameters]") {
  require_parameter_counts({{"resnet18", [] { return models::resnet18(); }, 11'689'512},
                            {"resnet34", [] { return models::resnet34(); }, 21'797'672},
                            {"resnet50", [] { return models::resnet50(); }, 25'557'032},
                            {"resnet101", [] { return models::resnet101(); }, 44'549'160},
                            {"resnet152", [] { return models::resnet152(); }, 60'192'808}});
}

TEST_CASE("parameter counts equal torchvision's: densenet", "[models][parameters]") {
  require_parameter_counts({{"densenet121", [] { return models::densenet121(); }, 7'978'856},
                            {"densenet161", [] { return models::densenet161(); }, 28'681'000},
                            {"densenet169", [] { return models::densenet169(); }, 14'149'480},
                            {"densenet201", [] { return models::densenet201(); }, 20'013'928}});
}

TEST_CASE("parameter counts of lenet5 and the CIFAR resnets", "[models][parameters]") {
  // LeNet-5 at 10 classes: conv1 6*1*25+6 = 156, conv2 16*6*25+16 = 2,416,
  // fc 400*120+120 = 48,120, 120*84+84 = 10,164, 84*10+10 = 850.
  CHECK(parameter_count(*models::lenet5()) == 61'706);
  // CIFAR ResNets, option A (parameter-free shortcuts), 10 classes: e.g.
  // resnet20 = conv1 432 + bn1 32 + stage 1 (6 convs 16->16: 6 * (2,304 + 32))
  // + stage 2 (4,608 + 64 + 5 * (9,216 + 64)) + stage 3 (18,432 + 128 + 5 *
  // (36,864 + 128)) + fc 650 = 269,722, the paper's "0.27M".
  CHECK(parameter_count(*models::resnet20()) == 269'722);
  CHECK(parameter_count(*models::resnet32()) == 464'154);
  CHECK(parameter_count(*models::resnet44()) == 658'586);
  CHECK(parameter_count(*models::resnet56()) == 853'018);
  CHECK(parameter_count(*models::resnet110()) == 1'727'962);
  // Option B instead adds two projections: 16*32 + 2*32 and 32*64 + 2*64.
  const models::ResNetConfig option_b{.blocks = {3, 3, 3}, .planes = {16, 32, 64}, .stem = models::Stem::cifar};
  models::ResNet resnet20_b(option_b, {.num_classes = 10});
  CHECK(parameter_count(resnet20_b) == 269'722 + 576 + 2'176);
  CHECK(resnet20_b.find("layer2.0.downsample.0")->type_name() == "Conv2d");
}

// ---- state_dict keys ------------------------------------------------------------------

TEST_CASE("resnet18's state_dict keys are torchvision's, in order", "[models][state_dict]") {
  // torchvision.models.resnet18().state_dict().keys(), one line per module
  // clang-format off
  const std::vector<std::string> expected{
    "conv1.weight",
    "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
    "layer1.0.conv1.weight",
    "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var",
    "layer1.0.bn1.num_batches_tracked",
    "layer1.0.conv2.weight",
    "layer1.0.bn2.weight", "layer1.0.bn2.bias", "layer1.0.bn2.running_mean", "layer1.0.bn2.running_var",
    "layer1.0.bn2.num_batches_tracked",
    "layer1.1.conv1.weight",
    "layer1.1.bn1.weight", "layer1.1.bn1.bias", "layer1.1.bn1.running_mean", "layer1.1.bn1.running_var",
    "layer1.1.bn1.num_batches_tracked",
    "layer1.1.conv2.weight",
    "layer1.1.bn2.weight", "layer1.1.bn2.bias", "layer1.1.bn2.running_mean", "layer1.1.bn2.running_var",
    "layer1.1.bn2.num_batches_tracked",
    "layer2.0.conv1.weight",
    "layer2.0.bn1.weight", "layer2.0.bn1.bias", "layer2.0.bn1.running_mean", "layer2.0.bn1.running_var",
    "layer2.0.bn1.num_batches_tracked",
    "layer2.0.conv2.weight",
    "layer2.0.bn2.weight", "layer2.0.bn2.bias", "layer2.0.bn2.running_mean", "layer2.0.bn2.running_var",
    "layer2.0.bn2.num_batches_tracked",
    "layer2.0.downsample.0.weight",
    "layer2.0.downsample.1.weight", "layer2.0.downsample.1.bias", "layer2.0.downsample.1.running_mean",
    "layer2.0.downsample.1.running_var", "layer2.0.downsample.1.num_batches_tracked",
    "layer2.1.conv1.weight",
    "layer2.1.bn1.weight", "layer2.1.bn1.bias", "layer2.1.bn1.running_mean", "layer2.1.bn1.running_var",
    "layer2.1.bn1.num_batches_tracked",
    "layer2.1.conv2.weight",
    "layer2.1.bn2.weight", "layer2.1.bn2.bias", "layer2.1.bn2.running_mean", "layer2.1.bn2.running_var",
    "layer2.1.bn2.num_batches_tracked",
    "layer3.0.conv1.weight",
    "layer3.0.bn1.weight", "layer3.0.bn1.bias", "layer3.0.bn1.running_mean", "layer3.0.bn1.running_var",
    "layer3.0.bn1.num_batches_tracked",
    "layer3.0.conv2.weight",
    "layer3.0.bn2.weight", "layer3.0.bn2.bias", "layer3.0.bn2.running_mean", "layer3.0.bn2.running_var",
    "layer3.0.bn2.num_batches_tracked",
    "layer3.0.downsample.0.weight",
    "layer3.0.downsample.1.weight", "layer3.0.downsample.1.bias", "layer3.0.downsample.1.running_mean",
    "layer3.0.downsample.1.running_var", "layer3.0.downsample.1.num_batches_tracked",
    "layer3.1.conv1.weight",
    "layer3.1.bn1.weight", "layer3.1.bn1.bias", "layer3.1.bn1.running_mean", "layer3.1.bn1.running_var",
    "layer3.1.bn1.num_batches_tracked",
    "layer3.1.conv2.weight",
    "layer3.1.bn2.weight", "layer3.1.bn2.bias", "layer3.1.bn2.running_mean", "layer3.1.bn2.running_var",
    "layer3.1.bn2.num_batches_tracked",
    "layer4.0.conv1.weight",
    "layer4.0.bn1.weight", "layer4.0.bn1.bias", "layer4.0.bn1.running_mean", "layer4.0.bn1.running_var",
    "layer4.0.bn1.num_batches_tracked",
    "layer4.0.conv2.weight",
    "layer4.0.bn2.weight", "layer4.0.bn2.bias", "layer4.0.bn2.running_mean", "layer4.0.bn2.running_var",
    "layer4.0.bn2.num_batches_tracked",
    "layer4.0.downsample.0.weight",
    "layer4.0.downsample.1.weight", "layer4.0.downsample.1.bias", "layer4.0.downsample.1.running_mean",
    "layer4.0.downsample.1.running_var", "layer4.0.downsample.1.num_batches_tracked",
    "layer4.1.conv1.weight",
    "layer4.1.bn1.weight", "layer4.1.bn1.bias", "layer4.1.bn1.running_mean", "layer4.1.bn1.running_var",
    "layer4.1.bn1.num_batches_tracked",
    "layer4.1.conv2.weight",
    "layer4.1.bn2.weight", "layer4.1.bn2.bias", "layer4.1.bn2.running_mean", "layer4.1.bn2.running_var",
    "layer4.1.bn2.num_batches_tracked",
    "fc.weight", "fc.bias"};
  // clang-format on
  const auto net = models::resnet18();
  const nn::StateDict dict = net->state_dict();
  REQUIRE(keys(dict) == expected);
  CHECK(state(*net, "conv1.weight").shape() == Shape{64, 3, 7, 7});
  CHECK(state(*net, "layer2.0.downsample.0.weight").shape() == Shape{128, 64, 1, 1});
  CHECK(state(*net, "layer4.1.bn2.running_var").shape() == Shape{512});
  CHECK(state(*net, "fc.weight").shape() == Shape{1000, 512});
  const Tensor tracked = state(*net, "bn1.num_batches_tracked");
  CHECK(tracked.dtype() == i64);
  CHECK(tracked.shape() == Shape{});
}

namespace {

// torchvision's DenseNet state_dict keys, derived from its module structure:
// features.{conv0, norm0}; per block i and layer j
// features.denseblock<i>.denselayer<j>.{norm1, conv1, norm2, conv2}; after
// every block but the last features.transition<i>.{norm, conv}; then
// features.norm5 and classifier. Batch norms hold five entries, convolutions
// (no bias) one.
std::vector<std::string> densenet_keys(const std::vector<int>& blocks) {
  std::vector<std::string> out;
  const auto conv = [&](const std::string& module) { out.push_back(module + ".weight"); };
  const auto norm = [&](const std::string& module) {
    for (const char* entry : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"})
      out.push_back(module + "." + entry);
  };
  conv("features.conv0");
  norm("features.norm0");
  for (std::size_t i = 1; i <= blocks.size(); ++i) {
    for (int j = 1; j <= blocks[i - 1]; ++j) {
      const std::string layer = "features.denseblock" + std::to_string(i) + ".denselayer" + std::to_string(j);
      norm(layer + ".norm1");
      conv(layer + ".conv1");
      norm(layer + ".norm2");
      conv(layer + ".conv2");
    }
    if (i == blocks.size()) break;
    norm("features.transition" + std::to_string(i) + ".norm");
    conv("features.transition" + std::to_string(i) + ".conv");
  }
  norm("features.norm5");
  out.push_back("classifier.weight");
  out.push_back("classifier.bias");
  return out;
}

}  // namespace

TEST_CASE("densenet121's state_dict keys are torchvision's, in order", "[models][state_dict]") {
  const std::vector<std::string> expected = densenet_keys({6, 12, 24, 16});
  // torchvision's list has 727 entries; a few of them spelled out.
  REQUIRE(expected.size() == 727);
  CHECK(std::vector<std::string>(expected.begin(), expected.begin() + 8) ==
        std::vector<std::string>{"features.conv0.weight", "features.norm0.weight", "features.norm0.bias",
                                 "features.norm0.running_mean", "features.norm0.running_var",
                                 "features.norm0.num_batches_tracked", "features.denseblock1.denselayer1.norm1.weight",
                                 "features.denseblock1.denselayer1.norm1.bias"});
  CHECK(expected[78] == "features.transition1.norm.weight");
  CHECK(expected[83] == "features.transition1.conv.weight");
  CHECK(expected[720] == "features.norm5.weight");
  CHECK(expected[726] == "classifier.bias");

  const auto net = models::densenet121();
  REQUIRE(keys(net->state_dict()) == expected);
  CHECK(state(*net, "features.conv0.weight").shape() == Shape{64, 3, 7, 7});
  CHECK(state(*net, "features.denseblock1.denselayer1.conv1.weight").shape() == Shape{128, 64, 1, 1});
  CHECK(state(*net, "features.denseblock1.denselayer6.norm1.weight").shape() == Shape{224});
  CHECK(state(*net, "features.denseblock1.denselayer1.conv2.weight").shape() == Shape{32, 128, 3, 3});
  CHECK(state(*net, "features.transition1.conv.weight").shape() == Shape{128, 256, 1, 1});
  CHECK(state(*net, "features.norm5.running_mean").shape() == Shape{1024});
  CHECK(state(*net, "classifier.weight").shape() == Shape{1000, 1024});
}

TEST_CASE("lenet5 names its layers by position", "[models][state_dict]") {
  CHECK(keys(models::lenet5()->state_dict()) ==
        std::vector<std::string>{"features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
                                 "classifier.0.weight", "classifier.0.bias", "classifier.2.weight", "classifier.2.bias",
                                 "classifier.4.weight", "classifier.4.bias"});
}

// ---- initialisation ---------------------------------------------------------------------

TEST_CASE("resnet is initialised as torchvision's", "[models][init]") {
  manual_seed(1);
  const auto net = models::resnet18();
  // kaiming_normal_(fan_out, relu): std = sqrt(2 / (out_channels * 9)).
  require_normal(state(*net, "layer4.1.conv2.weight"), std::sqrt(2.0 / (512 * 9)));
  require_normal(state(*net, "layer3.0.conv1.weight"), std::sqrt(2.0 / (256 * 9)));
  require_all(state(*net, "layer1.0.bn2.weight"), 1.0);
  require_all(state(*net, "layer1.0.bn2.bias"), 0.0);

  // zero_init_residual: the last batch norm of every block starts at 0, the others at 1.
  const auto zero_init = models::resnet50({}, /*zero_init_residual=*/true);
  int last_norms = 0;
  for (const auto& [name, tensor] : zero_init->state_dict()) {
    const bool last_norm = name.find(".bn3.weight") != std::string::npos;
    if (last_norm || name.find("bn1.weight") != std::string::npos) {
      INFO(name);
      require_all(tensor, last_norm ? 0.0 : 1.0);
      last_norms += last_norm;
    }
  }
  CHECK(last_norms == 16);
  const auto basic = models::resnet20({}, /*zero_init_residual=*/true);
  require_all(state(*basic, "layer3.2.bn2.weight"), 0.0);
  require_all(state(*basic, "layer3.2.bn1.weight"), 1.0);
}

TEST_CASE("densenet is initialised as torchvision's", "[models][init]") {
  manual_seed(2);
  const auto net = models::densenet121();
  // kaiming_normal_ with its defaults: fan_in, gain sqrt(2).
  require_normal(state(*net, "features.denseblock3.denselayer24.conv2.weight"), std::sqrt(2.0 / (128 * 9)));
  require_normal(state(*net, "features.transition2.conv.weight"), std::sqrt(2.0 / 512));
  require_all(state(*net, "features.norm5.weight"), 1.0);
  require_all(state(*net, "classifier.bias"), 0.0);
  const double bound = 1.0 / std::sqrt(1024.0);  // classifier.weight keeps Linear's U(-bound, bound)
  const std::vector<double> w = values(state(*net, "classifier.weight"));
  REQUIRE(std::all_of(w.begin(), w.end(), [bound](double x) { return std::abs(x) <= bound; }));
}

TEST_CASE("manual_seed makes a model reproducible", "[models][init]") {
  manual_seed(3);
  const Tensor first = state(*models::resnet20(), "layer2.1.conv1.weight").clone();
  manual_seed(3);
  const Tensor second = state(*models::resnet20(), "layer2.1.conv1.weight");
  CHECK(values(first) == values(second));
}

// ---- forward ---------------------------------------------------------------------------

TEST_CASE("lenet5 maps 28x28 images to class scores", "[models][forward]") {
  manual_seed(4);
  const auto net = models::lenet5({.num_classes = 10, .in_channels = 1});
  CHECK(net->forward(randn({1, 1, 28, 28})).shape() == Shape{1, 10});
  CHECK(models::lenet5({.num_classes = 5})->forward(randn({2, 1, 28, 28})).shape() == Shape{2, 5});
  CHECK(models::lenet5({.in_channels = 3})->forward(randn({1, 3, 28, 28})).shape() == Shape{1, 10});
  XGRAD_REQUIRE_THROWS_WITH(net->forward(randn({1, 1, 32, 32})), ShapeError, "LeNet5", "[N, 1, 28, 28]",
                            "[1, 1, 32, 32]");
  XGRAD_REQUIRE_THROWS_WITH(net->forward(randn({1, 3, 28, 28})), ShapeError, "LeNet5", "[1, 3, 28, 28]");
}

TEST_CASE("resnets and densenet run on 32x32 images", "[models][forward]") {
  manual_seed(5);
  const Tensor images = randn({2, 3, 32, 32});
  CHECK(models::resnet18({.num_classes = 10})->forward(images).shape() == Shape{2, 10});
  CHECK(models::resnet20()->forward(images).shape() == Shape{2, 10});
  CHECK(models::resnet50({.num_classes = 7})->forward(images).shape() == Shape{2, 7});

  const auto densenet = models::densenet121();
  densenet->eval();  // one image leaves one value per channel at 1x1, too few for batch statistics
  CHECK(densenet->forward(randn({1, 3, 32, 32})).shape() == Shape{1, 1000});

  const auto grey = models::resnet18({.num_classes = 10, .in_channels = 1});
  CHECK(state(*grey, "conv1.weight").shape() == Shape{64, 1, 7, 7});
  CHECK(grey->forward(randn({2, 1, 32, 32})).shape() == Shape{2, 10});
  XGRAD_REQUIRE_THROWS_WITH(grey->forward(images), ShapeError, "ResNet", "[N, 1, H, W]", "[2, 3, 32, 32]");
  const auto grey_densenet = models::densenet121({.in_channels = 1});
  CHECK(state(*grey_densenet, "features.conv0.weight").shape() == Shape{64, 1, 7, 7});
}

TEST_CASE("densenet takes 29x29 and up, resnets any size", "[models][forward]") {
  manual_seed(6);
  require_smallest_input(*models::densenet121({.num_classes = 2}), "DenseNet", 29);
  // Three blocks have two transitions: 4 * 2^2 - 3 = 13.
  models::DenseNet small({.growth_rate = 4, .blocks = {1, 1, 1}, .num_init_features = 8}, {.num_classes = 2});
  require_smallest_input(small, "DenseNet", 13);
  const auto resnet = models::resnet18({.num_classes = 2});
  resnet->eval();
  CHECK(resnet->forward(randn({1, 3, 1, 1})).shape() == Shape{1, 2});
}

// ---- blocks ------------------------------------------------------------------------------

TEST_CASE("a zero-padding shortcut subsamples and appends zero channels", "[models][blocks]") {
  manual_seed(13);
  models::BasicBlock block(2, 4, 2, models::Shortcut::zero_padding);
  CHECK(block.downsample == nullptr);
  CHECK(block.parameters().size() == 6);  // conv1, bn1 (2), conv2, bn2 (2): the shortcut has none
  {
    NoGradGuard no_grad;
    block.conv2->weight.zero_();  // the residual branch gives bn2's bias, 0: the output is relu(shortcut)
  }
  const Tensor x = randn({1, 2, 5, 5});
  const std::vector<double> in = values(x), out = values(block(x));
  REQUIRE(out.size() == 4 * 3 * 3);
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        const double expected = c < 2 ? std::max(0.0, in[(c * 5 + 2 * i) * 5 + 2 * j]) : 0.0;
        REQUIRE(out[(c * 3 + i) * 3 + j] == Approx(expected).margin(1e-6));
      }
}

TEST_CASE("gradients through residual and dense blocks pass gradcheck", "[models][blocks][gradcheck]") {
  manual_seed(14);
  models::BasicBlock zero_padding(2, 3, 2, models::Shortcut::zero_padding);
  models::BasicBlock projection(2, 3, 2, models::Shortcut::projection);
  models::Bottleneck bottleneck(3, 1, 1);
  models::DenseBlock dense(2, 2, 2, 1);
  models::Transition transition(3, 2);
  for (nn::Module* block :
       std::initializer_list<nn::Module*>{&zero_padding, &projection, &bottleneck, &dense, &transition}) {
    INFO(block->type_name());
    block->to(f64);
    const std::int64_t channels = block == &bottleneck || block == &transition ? 3 : 2;
    require_gradcheck([&](const std::vector<Tensor>& in) { return (*block)(in[0]); }, {leaf({2, channels, 3, 3})});
  }
}

// ---- the big ones: each built once -------------------------------------------------------

TEST_CASE("alexnet: torchvision's parameters and names, small inputs, dropout by mode", "[models][alexnet]") {
  manual_seed(7);
  const auto net = models::alexnet();
  CHECK(parameter_count(*net) == 61'100'840);
  CHECK(keys(net->state_dict()) ==
        std::vector<std::string>{"features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
                                 "features.6.weight", "features.6.bias", "features.8.weight", "features.8.bias",
                                 "features.10.weight", "features.10.bias", "classifier.1.weight", "classifier.1.bias",
                                 "classifier.4.weight", "classifier.4.bias", "classifier.6.weight",
                                 "classifier.6.bias"});
  CHECK(state(*net, "classifier.1.weight").shape() == Shape{4096, 9216});
  CHECK(net->forward(randn({1, 3, 64, 64})).shape() == Shape{1, 1000});

  // Dropout: random in training, the identity in evaluation.
  const Tensor image = randn({1, 3, 63, 63});
  CHECK(values(net->forward(image)) != values(net->forward(image)));
  net->eval();
  CHECK(values(net->forward(image)) == values(net->forward(image)));
}

TEST_CASE("alexnet takes 63x63 and up", "[models][alexnet]") {
  manual_seed(8);
  require_smallest_input(*models::alexnet({.num_classes = 2}), "AlexNet", 63);
}

TEST_CASE("overfeat: 145,920,872 parameters, the paper's initialisation, 71x71 and up", "[models][overfeat]") {
  manual_seed(9);
  const auto net = models::overfeat({.num_classes = 2});
  // At 1000 classes: convolutions 34,944 + 614,656 + 1,180,160 + 4,719,616 +
  // 9,438,208 and fully connected 113,249,280 + 12,587,008 + 4,097,000 (here
  // the last one is 4096 * 2 + 2).
  CHECK(parameter_count(*net) == 145'920'872 - 4'097'000 + (4096 * 2 + 2));
  CHECK(state(*net, "classifier.0.weight").shape() == Shape{3072, 36864});
  require_normal(state(*net, "features.10.weight"), 0.01);
  require_all(state(*net, "features.10.bias"), 0.0);
  require_normal(state(*net, "classifier.3.weight"), 0.01);
  require_all(state(*net, "classifier.3.bias"), 0.0);
  require_smallest_input(*net, "OverFeat", 71);
}

TEST_CASE("vgg11: torchvision's parameters and initialisation, 32x32 and up", "[models][vgg]") {
  manual_seed(10);
  const auto net = models::vgg11();
  CHECK(parameter_count(*net) == 132'863'336);
  require_normal(state(*net, "features.18.weight"), std::sqrt(2.0 / (512 * 9)));  // kaiming_normal_(fan_out, relu)
  require_all(state(*net, "features.18.bias"), 0.0);
  require_normal(state(*net, "classifier.3.weight"), 0.01);
  require_all(state(*net, "classifier.6.bias"), 0.0);
  CHECK(net->forward(randn({1, 3, 32, 32})).shape() == Shape{1, 1000});
  XGRAD_REQUIRE_THROWS_WITH(net->forward(randn({1, 3, 32, 31})), ShapeError, "VGG", "too small", "at least 32");
  CHECK_THROWS_AS(net->features->forward(randn({1, 3, 32, 31})), Error);
}

TEST_CASE("vgg11_bn: torchvision's parameters and names", "[models][vgg]") {
  std::vector<std::string> expected;
  // Conv2d, BatchNorm2d, ReLU per convolution, MaxPool2d after each stage.
  for (int index : {0, 4, 8, 11, 15, 18, 22, 25}) {
    const std::string conv = "features." + std::to_string(index), bn = "features." + std::to_string(index + 1);
    for (const std::string& key : {conv + ".weight", conv + ".bias", bn + ".weight", bn + ".bias", bn + ".running_mean",
                                   bn + ".running_var", bn + ".num_batches_tracked"})
      expected.push_back(key);
  }
  for (int index : {0, 3, 6})
    for (const char* entry : {".weight", ".bias"}) expected.push_back("classifier." + std::to_string(index) + entry);
  const auto net = models::vgg11_bn();
  CHECK(parameter_count(*net) == 132'868'840);
  CHECK(keys(net->state_dict()) == expected);
  CHECK(state(*net, "features.25.weight").shape() == Shape{512, 512, 3, 3});
  CHECK(state(*net, "classifier.0.weight").shape() == Shape{4096, 25088});
}

// One test case each, so ctest runs them side by side (building one takes seconds).
TEST_CASE("vgg13: torchvision's parameter count", "[models][vgg]") {
  CHECK(parameter_count(*models::vgg13()) == 133'047'848);
}
TEST_CASE("vgg16: torchvision's parameter count", "[models][vgg]") {
  CHECK(parameter_count(*models::vgg16()) == 138'357'544);
}
TEST_CASE("vgg19: torchvision's parameter count", "[models][vgg]") {
  CHECK(parameter_count(*models::vgg19()) == 143'667'240);
}
TEST_CASE("vgg13_bn: torchvision's parameter count", "[models][vgg]") {
  CHECK(parameter_count(*models::vgg13_bn()) == 133'053'736);
}
TEST_CASE("vgg16_bn: torchvision's parameter count", "[models][vgg]") {
  CHECK(parameter_count(*models::vgg16_bn()) == 138'365'992);
}
TEST_CASE("vgg19_bn: torchvision's parameter count", "[models][vgg]") {
  CHECK(parameter_count(*models::vgg19_bn()) == 143'678'248);
}

// ---- modes, summary, training ------------------------------------------------------------

TEST_CASE("train and eval reach every layer of a model", "[models][modes]") {
  manual_seed(11);
  const auto net = models::resnet20();
  const Tensor images = randn({2, 3, 32, 32});
  const auto all_in_mode = [&](bool training) {
    for (const auto& [name, module] : net->named_modules())
      if (module->is_training() != training) return false;
    return true;
  };
  REQUIRE(all_in_mode(true));

  // Training: batch statistics, running ones updated.
  (void)net->forward(images);
  CHECK(state(*net, "layer2.0.bn1.num_batches_tracked").item() == 1.0);
  const std::vector<double> running_mean = values(state(*net, "layer2.0.bn1.running_mean"));

  // Evaluation: running statistics, nothing updated, the same output twice.
  net->eval();
  REQUIRE(all_in_mode(false));
  const std::vector<double> first = values(net->forward(images));
  CHECK(values(net->forward(images)) == first);
  CHECK(state(*net, "layer2.0.bn1.num_batches_tracked").item() == 1.0);
  CHECK(values(state(*net, "layer2.0.bn1.running_mean")) == running_mean);

  net->train();
  REQUIRE(all_in_mode(true));
}

TEST_CASE("summary of lenet5 counts its parameters and MACs", "[models][summary]") {
  const auto net = models::lenet5();
  const std::string table = nn::summary(*net, {1, 1, 28, 28});
  INFO(table);
  // MACs (output elements x multiplications per element):
  //   features.0 Conv2d   6x28x28 = 4,704 x (1*5*5)  = 117,600
  //   features.3 Conv2d  16x10x10 = 1,600 x (6*5*5)  = 240,000
  //   classifier.0 Linear     120 x 400              =  48,000
  //   classifier.2 Linear      84 x 120              =  10,080
  //   classifier.4 Linear      10 x 84               =     840
  //   total                                             416,520 (ReLU and pooling count none)
  CHECK(table.find("Total params: 61,706\n") != std::string::npos);
  CHECK(table.find("Trainable params: 61,706\n") != std::string::npos);
  CHECK(table.find("Total MACs: 416,520") != std::string::npos);
  CHECK(table.find("features.3 (Conv2d)") != std::string::npos);
  CHECK(table.find("Output shape: [1, 10]") != std::string::npos);
}

TEST_CASE("one SGD step on resnet20 lowers the loss on a fixed batch", "[models][training]") {
  manual_seed(12);
  const auto net = models::resnet20();
  const Tensor images = randn({8, 3, 32, 32});
  const Tensor labels = from_vector(std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7}, {8});
  const auto loss = [&] { return cross_entropy(net->forward(images), labels); };

  const Tensor before = loss();
  before.backward();
  for (const auto& [name, p] : net->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
  }
  {
    NoGradGuard no_grad;
    for (Tensor p : net->parameters()) p.add_(p.grad(), -0.05);
  }
  const double after = loss().item();
  INFO("loss " << before.item() << " -> " << after);
  CHECK(after < before.item() - 0.05);
}

// ---- errors ------------------------------------------------------------------------------------

TEST_CASE("bad model configurations are refused", "[models][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(models::VGG(12, false), ValueError, "VGG", "11, 13, 16 or 19", "12");
  XGRAD_REQUIRE_THROWS_WITH(models::ResNet({.blocks = {2, 2}, .planes = {64}}), ValueError, "ResNet", "[2, 2]", "[64]");
  XGRAD_REQUIRE_THROWS_WITH(models::ResNet({.blocks = {2, 0}, .planes = {64, 128}}), ValueError, "ResNet");
  XGRAD_REQUIRE_THROWS_WITH(models::DenseNet({.blocks = {}}), ValueError, "DenseNet", "blocks");
  XGRAD_REQUIRE_THROWS_WITH(models::BasicBlock(64, 32, 1, models::Shortcut::zero_padding), ValueError, "BasicBlock",
                            "zero-padding", "64", "32");
  XGRAD_REQUIRE_THROWS_WITH(models::resnet18({.in_channels = 0}), ValueError, "Conv2d", "positive");
}
