// PyTorch checkpoints: files written by torch.save (tests/data/torch/make_fixtures.py,
// committed) load with PyTorch's values and give PyTorch's logits; malicious and
// malformed files are refused with an IOError naming the problem and run nothing.

#include <filesystem>

#include "support.hpp"
#include "xgrad/io.hpp"
#include "xgrad/models/lenet.hpp"
#include "xgrad/models/resnet.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/ops.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(XGRAD_SOURCE_DIR) / "tests" / "data" / "torch";

std::string fixture(const std::string& name) { return (kFixtures / name).string(); }

// Same names in the same order, same shapes and dtypes, the same values bit for bit.
void require_same(const nn::StateDict& got, const nn::StateDict& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("tensor " << expected[i].first);
    REQUIRE(got[i].first == expected[i].first);
    const Tensor& a = got[i].second;
    const Tensor& b = expected[i].second;
    REQUIRE(a.shape() == b.shape());
    REQUIRE(a.dtype() == b.dtype());
    REQUIRE(a.is_contiguous());
    if (a.dtype() == i64) {
      REQUIRE(a.to_vector<std::int64_t>() == b.to_vector<std::int64_t>());
    } else {
      REQUIRE(a.to_vector<double>() == b.to_vector<double>());
    }
  }
}

Tensor named(const nn::StateDict& state, const std::string& name) {
  for (const auto& [n, t] : state)
    if (n == name) return t;
  FAIL("no tensor " << name);
  return {};
}

// The module's logits on the fixture's input against PyTorch's.
void require_pytorch_logits(nn::Module& model, const std::string& name) {
  const nn::StateDict expected = load_safetensors(fixture(name + ".expected.safetensors"));
  model.eval();
  NoGradGuard no_grad;
  const Tensor logits = model.forward(named(expected, "input"));
  const Tensor reference = named(expected, "logits");
  REQUIRE(logits.shape() == reference.shape());
  const double scale = max(abs(reference)).item();
  const double error = max(abs(logits - reference)).item();
  INFO("max |xgrad - PyTorch| " << error << " over max |logit| " << scale);
  REQUIRE(error <= 1e-5 * scale);
}

std::shared_ptr<models::ResNet> tiny_resnet18() {  // torchvision's ResNet-18 with widths 4, 8, 16, 32
  return std::make_shared<models::ResNet>(
      models::ResNetConfig{.block = models::ResidualBlock::basic, .blocks = {2, 2, 2, 2}, .planes = {4, 8, 16, 32}},
      models::ModelOptions{.num_classes = 10});
}

}  // namespace

TEST_CASE("load_torch reads every storage type and layout torch.save writes", "[io][torch]") {
  const nn::StateDict expected = load_safetensors(fixture("dtypes.expected.safetensors"));
  // zip (top folder = the file's stem), legacy, pickle protocol 4, saved to a stream ("archive/")
  for (const char* file : {"dtypes.pth", "dtypes_legacy.pth", "dtypes_protocol4.pth", "dtypes_stream.pth"}) {
    INFO(file);
    require_same(load_torch(fixture(file)), expected);
  }
}

TEST_CASE("load_torch flattens a checkpoint's nested dicts and skips what is not a tensor", "[io][torch]") {
  const nn::StateDict got = load_torch(fixture("nested.pth"));
  require_same(got, load_safetensors(fixture("nested.expected.safetensors")));
  REQUIRE(got[0].first == "model.w");
  REQUIRE(got[1].first == "model.inner.b");
}

TEST_CASE("xgrad::load of a PyTorch state_dict gives PyTorch's logits", "[io][torch]") {
  SECTION("LeNet-5") {
    auto net = models::lenet5();
    load(*net, fixture("lenet5.pth"));
    require_pytorch_logits(*net, "lenet5");
  }
  SECTION("torchvision ResNet-18 (tiny widths, trained batch statistics)") {
    auto net = tiny_resnet18();
    load(*net, fixture("resnet18_tiny.pth"));
    REQUIRE(named(net->state_dict(), "layer2.0.downsample.1.num_batches_tracked").item() == 17);
    require_pytorch_logits(*net, "resnet18_tiny");
  }
  SECTION("the same from the legacy format loads the same values") {
    const nn::StateDict legacy = load_torch(fixture("resnet18_tiny_legacy.pth"));
    REQUIRE(legacy.size() == tiny_resnet18()->state_dict().size());
    auto net = tiny_resnet18();
    load(*net, fixture("resnet18_tiny_legacy.pth"));
    require_same(net->state_dict(), legacy);
  }
}

TEST_CASE("xgrad::load converts to the module's dtypes and still checks names and shapes", "[io][torch]") {
  nn::Linear linear(3, 2);
  const fs::path path = process_scratch_dir("xgrad_test_io_torch") / "linear_f64.safetensors";
  save_safetensors({{"weight", arange(6, {.dtype = f64}).reshape({2, 3}) / 4.0}, {"bias", ones({2}, {.dtype = f64})}},
                   path.string());
  load(linear, path.string());
  REQUIRE(linear.weight.dtype() == f32);
  REQUIRE(linear.weight.to_vector<float>() == std::vector<float>{0, 0.25, 0.5, 0.75, 1, 1.25});

  XGRAD_REQUIRE_THROWS_WITH(load(*tiny_resnet18(), fixture("lenet5.pth")), ValueError, "load:", "lenet5.pth",
                            "missing: ");
}

TEST_CASE("load_torch refuses pickles that would run code, and runs none", "[io][torch][hostile]") {
  const struct {
    const char* file;
    const char* named;
  } cases[] = {
      {"os_system.pth", "'os.system'"},          // GLOBAL os system + REDUCE
      {"posix_system.pth", "'posix.system'"},    // what pickle writes for os.system on Linux
      {"builtins_eval.pth", "'builtins.eval'"},  // REDUCE of eval
      {"stack_global.pth", "'posix.system'"},    // protocol 4: STACK_GLOBAL
      {"nested_reduce.pth", "'posix.system'"},   // a call two levels inside a value, after a tensor
      {"legacy_system.pth", "'posix.system'"},   // the legacy container
  };
  for (const auto& c : cases) {
    INFO(c.file);
    const std::string stem = fs::path(c.file).stem().string();
    const fs::path marker = "/tmp/xgrad-pwned-" + stem;
    fs::remove(marker);
    XGRAD_REQUIRE_THROWS_WITH(load_torch(fixture(c.file)), IOError, "load_torch", c.file, c.named, "not allowed",
                              "torch.save(model.state_dict(), path)");
    nn::Linear linear(2, 2);
    XGRAD_REQUIRE_THROWS_WITH(load(linear, fixture(c.file)), IOError, c.named);
    REQUIRE_FALSE(fs::exists(marker));
  }
}

TEST_CASE("load_torch says what to do with a pickled model or a TorchScript archive", "[io][torch][hostile]") {
  XGRAD_REQUIRE_THROWS_WITH(load_torch(fixture("whole_model.pth")), IOError, "'__main__.Tiny'",
                            "torch.save(model.state_dict(), path)");
  XGRAD_REQUIRE_THROWS_WITH(load_torch(fixture("torchscript.pt")), IOError, "TorchScript",
                            "torch.save(model.state_dict(), path)");
  XGRAD_REQUIRE_THROWS_WITH(load_torch(fixture("dtypes.expected.safetensors")), IOError, "not a PyTorch checkpoint");
}

TEST_CASE("load_torch refuses sizes, offsets and archives the file cannot back", "[io][torch][hostile]") {
  const struct {
    const char* file;
    std::vector<const char*> parts;
  } cases[] = {
      {"huge_shape.pth", {"\"t\"", "overflows 64 bits"}},  // size (2^40, 2^40)
      {"past_storage.pth", {"reach element 5 of a storage of 4"}},
      {"offset_past_storage.pth", {"offset 4", "reach element 4 of a storage of 4"}},
      {"negative_stride.pth", {"\"t\": an element of its stride is -1"}},
      {"storage_size_lies.pth", {"has 16 bytes, but its storage needs"}},
      {"missing_storage.pth", {"has no entry missing_storage/data/0"}},
      {"truncated.pth", {"not a readable zip archive"}},
      {"truncated_legacy.pth", {"storage"}},
      {"zip_bomb_overlap.pth", {"zip bomb"}},  // 64 x 16 MiB from 25 KB
      {"zip_bomb_claim.pth", {"zip bomb"}},    // one entry claiming 4 GiB
  };
  for (const auto& c : cases) {
    INFO(c.file);
    bool thrown = false;
    try {
      load_torch(fixture(c.file));
    } catch (const IOError& e) {
      thrown = true;
      const std::string message = e.what();
      INFO("message: " << message);
      REQUIRE(message.find(c.file) != std::string::npos);
      for (const char* part : c.parts) REQUIRE(message.find(part) != std::string::npos);
    }
    REQUIRE(thrown);
  }
}
