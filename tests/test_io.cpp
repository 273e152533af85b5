// Weights on disk: safetensors save/load (round trips, exact bytes, PyTorch's
// files, every kind of corrupt file), module save/load, atomic saves, checkpoints.

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support.hpp"
#include "xgrad/io.hpp"
#include "xgrad/nn/module.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {

// This process's own (parallel cases check for leftover temporaries).
fs::path scratch_dir() { return process_scratch_dir("xgrad_test_io"); }

fs::path scratch(const std::string& name) { return scratch_dir() / name; }

// n as 8 little-endian bytes.
std::string le64(std::uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// A safetensors file with this header text (unpadded) and data bytes.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

std::vector<std::string> leftover_temporaries() {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(scratch_dir()))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(entry.path().string());
  return found;
}

void require_same(const Tensor& got, const Tensor& expected) {
  REQUIRE(got.shape() == expected.shape());
  REQUIRE(got.dtype() == expected.dtype());
  CHECK(got.is_contiguous());
  CHECK(got.to_vector<double>() == expected.to_vector<double>());
}

// y = x W^T + b, with a step counter (an i64 0-d buffer, like BatchNorm's num_batches_tracked).
struct Tiny : nn::Module {
  explicit Tiny(std::int64_t in = 3) : Module("Tiny") {
    weight = register_parameter("weight", randn({2, in}));
    bias = register_parameter("bias", randn({2}));
    steps = register_buffer("steps", scalar_tensor(0, {.dtype = i64}));
  }
  Tensor forward(const Tensor& x) override { return x.matmul(weight.t()) + bias; }
  Tensor weight, bias, steps;
};

std::vector<std::vector<double>> snapshot(const nn::Module& m) {
  std::vector<std::vector<double>> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(t.to_vector<double>());
  return out;
}

}  // namespace

TEST_CASE("safetensors round trip keeps names, order, dtypes, shapes and values", "[io]") {
  manual_seed(1);
  const Tensor base = randn({2, 3});
  const nn::StateDict tensors{
      {"conv.weight", randn({2, 1, 3})},
      {"double", randn({3}, {.dtype = f64})},
      {"labels", from_vector(std::vector<std::int64_t>{-5, 0, 1LL << 40})},
      {"scalar", scalar_tensor(0.25, {.dtype = f64})},
      {"count", scalar_tensor(42, {.dtype = i64})},
      {"empty", zeros({0, 3})},
      {"transposed", base.t()},
      {"every_other", arange(10.0).slice(0, 1, 10, 2)},
      {"needs_grad", randn({2}, {.requires_grad = true})},
  };
  CHECK_FALSE(tensors[6].second.is_contiguous());
  CHECK_FALSE(tensors[7].second.is_contiguous());
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "grüße, \"quoted\"\n"}};
  const fs::path file = scratch("round_trip.safetensors");
  save_safetensors(tensors, file.string(), metadata);

  std::map<std::string, std::string> loaded_metadata{{"stale", "entry"}};
  const nn::StateDict loaded = load_safetensors(file.string(), &loaded_metadata);
  CHECK(loaded_metadata == metadata);
  REQUIRE(loaded.size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    INFO(tensors[i].first);
    CHECK(loaded[i].first == tensors[i].first);
    require_same(loaded[i].second, tensors[i].second);
    CHECK_FALSE(loaded[i].second.requires_grad());
  }
  CHECK(loaded[2].second.to_vector<std::int64_t>() == std::vector<std::int64_t>{-5, 0, 1LL << 40});
  CHECK(loaded[3].second.shape().empty());

  save_safetensors({}, file.string());  // nothing at all is a valid file too
  CHECK(load_safetensors(file.string(), &loaded_metadata).empty());
  CHECK(loaded_metadata.empty());
  CHECK(leftover_temporaries().empty());
}

TEST_CASE("safetensors bytes are exactly those the format specifies", "[io]") {
  // The reference writer puts __metadata__ first, then tensors in offset order,
  // compact JSON padded with spaces to a multiple of 8: 138 bytes + 6 spaces = 144.
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
                             R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"
                             "      ";
  const std::string expected = std::string("\x90\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x07\0\0\0\0\0\0\0", 8) +               // 7 as i64
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);  // 1.0f, 2.0f
  REQUIRE(header.size() == 144);

  const fs::path file = scratch("exact.safetensors");
  save_safetensors({{"n", scalar_tensor(7, {.dtype = i64})}, {"a", from_vector(std::vector<float>{1, 2})}},
                   file.string(), {{"format", "pt"}});
  CHECK(read_bytes(file) == expected);
}

TEST_CASE("a file written by Python's safetensors loads", "[io]") {
  // safetensors.torch.save_file({"w": torch.tensor([1.0, 2.0])}, path): 54 bytes of
  // JSON padded to 56, then the two floats.
  const std::string pytorch_file = from_hex(
      "3800000000000000"
      "7b2277223a7b226474797065223a22463332222c227368617065223a5b325d2c"
      "22646174615f6f666673657473223a5b302c385d7d7d2020"
      "0000803f00000040");
  const fs::path file = scratch("pytorch.safetensors");
  write_bytes(file, pytorch_file);
  std::map<std::string, std::string> metadata{{"stale", "entry"}};
  const nn::StateDict loaded = load_safetensors(file.string(), &metadata);
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].first == "w");
  CHECK(loaded[0].second.dtype() == f32);
  CHECK(loaded[0].second.shape() == Shape{2});
  CHECK(loaded[0].second.to_vector<float>() == std::vector<float>{1, 2});
  CHECK(metadata.empty());

  // Writing the same tensor gives the same bytes.
  save_safetensors(loaded, file.string());
  CHECK(read_bytes(file) == pytorch_file);
}

TEST_CASE("tensors load in offset order whatever the header's key order", "[io]") {
  const fs::path file = scratch("order.safetensors");
  write_bytes(file, safetensors_bytes(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                                      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                      std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8)));
  const nn::StateDict loaded = load_safetensors(file.string());
  REQUIRE(loaded.size() == 2);
  CHECK(loaded[0].first == "a");
  require_values(loaded[0].second, {1});
  CHECK(loaded[1].first == "b");
  require_values(loaded[1].second, {2});
}

TEST_CASE("corrupt safetensors files are refused with the file and the problem named", "[io][errors]") {
  const fs::path file = scratch("corrupt.safetensors");
  const std::string p = file.string();
  const std::string eight(8, '\x01');
  const auto refuse = [&](const std::string& bytes, std::initializer_list<const char*> parts) {
    write_bytes(file, bytes);
    bool thrown = false;
    try {
      load_safetensors(p);
    } catch (const IOError& e) {
      thrown = true;
      const std::string message = e.what();
      INFO("message: " << message);
      CHECK(message.find("load_safetensors") != std::string::npos);
      CHECK(message.find(p) != std::string::npos);
      for (const char* part : parts) {
        INFO("expected to contain: " << part);
        CHECK(message.find(part) != std::string::npos);
      }
    }
    CHECK(thrown);
  };
  const auto one_tensor = [](const std::string& info) { return R"({"w":)" + info + "}"; };

  XGRAD_REQUIRE_THROWS_WITH(load_safetensors(scratch("missing.safetensors").string()), IOError, "load_safetensors",
                            "missing.safetensors", "No such file");
  XGRAD_REQUIRE_THROWS_WITH(load_safetensors(scratch_dir().string()), IOError, "load_safetensors", "xgrad_test_io",
                            "directory");

  refuse("", {"0 bytes", "fewer than the 8"});
  refuse(std::string("\x10\0\0", 3), {"3 bytes", "fewer than the 8"});
  refuse(le64(100) + "{}", {"header length 100", "past the end of the file (10 bytes)"});
  refuse(le64(~0ULL) + "{}", {"header length 18446744073709551615", "past the end"});
  refuse(safetensors_bytes(R"({"w": {"dtype": )", ""), {"not valid JSON"});
  refuse(safetensors_bytes("{\"\xff\":{}}", ""), {"not valid JSON"});  // not UTF-8
  refuse(safetensors_bytes("[1, 2]", ""), {"not a JSON object"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":"F16","shape":[2],"data_offsets":[0,4]})"), "1234"),
         {"tensor \"w\"", "dtype \"F16\"", "F32, F64, I64"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":7,"shape":[2],"data_offsets":[0,4]})"), "1234"), {"dtype 7"});
  refuse(safetensors_bytes(one_tensor(R"({"shape":[2],"data_offsets":[0,8]})"), eight), {"\"w\" has no \"dtype\""});
  refuse(safetensors_bytes(one_tensor(R"([1])"), ""), {"entry of tensor \"w\" is not an object"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]})"), eight),
         {"shape of tensor \"w\"", "[2,-1]"});
  refuse(
      safetensors_bytes(one_tensor(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"), eight),
      {"too large"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,8]})"), eight),
         {"tensor \"w\" (F32 [2,3]) needs 24 bytes", "[0, 8] span 8"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"), eight),
         {"data_offsets of tensor \"w\" are not [begin, end]"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})"), eight),
         {"end before they begin: [8, 0]"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":"F64","shape":[2],"data_offsets":[0,16]})"), eight),
         {"[0, 16] past the end of the data (8 bytes)", "truncated"});
  refuse(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           eight + "1234"),
         {"\"a\" [0, 8] and \"b\" [4, 12] overlap"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), eight),
         {"bytes [0, 4) of the data belong to no tensor"});
  refuse(safetensors_bytes(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})"), eight),
         {"the data has 8 bytes but the tensors cover only the first 4"});
  refuse(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           eight),
         {"names \"w\" twice"});
  refuse(safetensors_bytes(R"({"__metadata__":{"k":"a","k":"b"}})", ""), {"names \"k\" twice"});
  refuse(safetensors_bytes(R"({"__metadata__":{"k":1}})", ""), {"\"__metadata__\" must hold strings", "\"k\" is 1"});
  refuse(safetensors_bytes(R"({"__metadata__":"k"})", ""), {"\"__metadata__\" must be an object"});

  // A good file cut short anywhere is refused.
  save_safetensors({{"w", ones({4})}, {"v", ones({2}, {.dtype = f64})}}, p);
  const std::string good = read_bytes(file);
  refuse(good.substr(0, good.size() - 1), {"\"v\"", "truncated"});
  refuse(good.substr(0, 20), {"header length", "past the end of the file"});
  refuse(good.substr(0, 5), {"fewer than the 8"});
}

TEST_CASE("save_safetensors refuses what it cannot write", "[io][errors]") {
  const std::string p = scratch("refused.safetensors").string();
  XGRAD_REQUIRE_THROWS_WITH(save_safetensors({{"w", ones({1})}, {"w", ones({2})}}, p), ValueError, "save_safetensors",
                            "two tensors are named \"w\"");
  XGRAD_REQUIRE_THROWS_WITH(save_safetensors({{"__metadata__", ones({1})}}, p), ValueError, "reserved");
  XGRAD_REQUIRE_THROWS_WITH(save_safetensors({{"w", Tensor()}}, p), ValueError, "tensor \"w\" is undefined");
  XGRAD_REQUIRE_THROWS_WITH(save_safetensors({{"w", ones({1})}}, p, {{"k", "\xff"}}), ValueError, "not valid UTF-8");
  XGRAD_REQUIRE_THROWS_WITH(save_safetensors({{"w", ones({1})}}, "/nonexistent/dir/w.safetensors"), IOError,
                            "save_safetensors", "/nonexistent/dir");
}

TEST_CASE("saves are atomic: a failed save leaves the old file and no temporaries", "[io][atomic]") {
  const fs::path file = scratch("atomic.safetensors");
  save_safetensors({{"w", from_vector(std::vector<float>{1, 2, 3})}}, file.string());
  const std::string before = read_bytes(file);

  SECTION("refused input") {
    CHECK_THROWS_AS(save_safetensors({{"w", ones({1})}, {"w", ones({1})}}, file.string()), ValueError);
  }
  SECTION("the disk refuses the write half-way") {
    // A file size limit makes the write fail after 64 bytes, as a full disk would (root included).
    rlimit old_limit{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old_limit;
    small.rlim_cur = 64;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    bool thrown = false;
    std::string message;
    try {
      save_safetensors({{"w", zeros({1000})}}, file.string());
    } catch (const IOError& e) {
      thrown = true;
      message = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    INFO("message: " << message);
    CHECK(thrown);
    CHECK(message.find("save_safetensors: writing") != std::string::npos);
  }
  SECTION("the target cannot be replaced") {
    const fs::path directory = scratch("occupied.safetensors");
    fs::create_directories(directory / "inside");
    XGRAD_REQUIRE_THROWS_WITH(save_safetensors({{"w", ones({1})}}, directory.string()), IOError, "save_safetensors",
                              "occupied.safetensors");
    CHECK(fs::is_directory(directory / "inside"));
    fs::remove_all(directory);
  }
  CHECK(read_bytes(file) == before);
  require_values(load_safetensors(file.string())[0].second, {1, 2, 3});
  CHECK(leftover_temporaries().empty());
}

TEST_CASE("save and load a module", "[io][module]") {
  manual_seed(2);
  Tiny a, b;
  {
    NoGradGuard no_grad;
    a.steps.fill_(12);
  }
  const fs::path file = scratch("tiny.safetensors");
  save(a, file.string());
  const Tensor handle = b.weight;
  load(b, file.string());
  CHECK(snapshot(b) == snapshot(a));
  CHECK(handle.is_same(b.weight));  // loaded in place
  CHECK(b.weight.requires_grad());
  const Tensor x = randn({4, 3});
  CHECK(b(x).to_vector<double>() == a(x).to_vector<double>());

  std::vector<std::string> names;
  for (const auto& [name, t] : load_safetensors(file.string())) names.push_back(name);
  CHECK(names == std::vector<std::string>{"weight", "bias", "steps"});
}

TEST_CASE("a failed load leaves the module unchanged", "[io][module][errors]") {
  manual_seed(3);
  Tiny source, target;
  const fs::path file = scratch("tiny_source.safetensors");
  save(source, file.string());
  const std::string good = read_bytes(file);
  const auto before = snapshot(target);

  SECTION("truncated file") {
    write_bytes(file, good.substr(0, good.size() - 4));
    XGRAD_REQUIRE_THROWS_WITH(load(target, file.string()), IOError, "tiny_source.safetensors", "truncated");
  }
  SECTION("corrupt header") {
    std::string corrupt = good;
    corrupt[8] = '[';
    write_bytes(file, corrupt);
    XGRAD_REQUIRE_THROWS_WITH(load(target, file.string()), IOError, "tiny_source.safetensors", "JSON");
  }
  SECTION("weights of another shape") {
    Tiny wider(5);
    save(wider, file.string());
    XGRAD_REQUIRE_THROWS_WITH(load(target, file.string()), ValueError, "load", "tiny_source.safetensors",
                              "weight (expected [2, 3] f32, got [2, 5] f32)");
  }
  SECTION("weights of another dtype and shape") {  // the dtype alone would be converted (below)
    Tiny doubled(5);
    doubled.to(f64);
    save(doubled, file.string());
    XGRAD_REQUIRE_THROWS_WITH(load(target, file.string()), ValueError, "expected [2, 3] f32, got [2, 5] f64");
  }
  SECTION("missing and unexpected names") {
    nn::StateDict state = source.state_dict();
    state.pop_back();
    state.emplace_back("extra", ones({1}));
    save_safetensors(state, file.string());
    XGRAD_REQUIRE_THROWS_WITH(load(target, file.string()), ValueError, "missing: steps", "unexpected: extra");
  }
  CHECK(snapshot(target) == before);
}

TEST_CASE("load converts weights to the module's dtypes, as PyTorch's load_state_dict", "[io][module]") {
  manual_seed(4);
  Tiny doubled, target;
  doubled.to(f64);
  const fs::path file = scratch("tiny_f64.safetensors");
  save(doubled, file.string());
  load(target, file.string());
  CHECK(target.weight.dtype() == f32);
  CHECK(target.steps.dtype() == i64);
  CHECK(snapshot(target) == snapshot(doubled));  // f32 values widened to f64 and back: exact
}

TEST_CASE("a non-strict load takes what matches", "[io][module]") {
  manual_seed(5);
  Tiny source, target;
  nn::StateDict state = source.state_dict();
  state.pop_back();
  state.emplace_back("extra", ones({1}));
  const fs::path file = scratch("partial.safetensors");
  save_safetensors(state, file.string());
  {
    NoGradGuard no_grad;
    target.steps.fill_(9);
  }
  load(target, file.string(), /*strict=*/false);
  CHECK(target.weight.to_vector<double>() == source.weight.to_vector<double>());
  CHECK(target.bias.to_vector<double>() == source.bias.to_vector<double>());
  CHECK(target.steps.item() == 9);  // not in the file: kept
}

TEST_CASE("checkpoints round trip model, optimiser, epoch, extras and the random stream", "[io][checkpoint]") {
  manual_seed(4);
  Tiny model;
  Checkpoint saved;
  saved.model = model.state_dict();
  saved.optimizer = {{"state.0.momentum_buffer", randn({2, 3})},
                     {"param_groups.0.lr", scalar_tensor(0.1, {.dtype = f64})},
                     {"state.0.step", scalar_tensor(3, {.dtype = i64})}};
  saved.epoch = 7;
  saved.extra = {{"epoch", "not the real one"}, {"best_accuracy", "0.91"}};
  saved.rng_state = default_generator().state();
  const std::vector<double> next_draws = randn({5}, {.dtype = f64}).to_vector<double>();

  const fs::path file = scratch("checkpoint.safetensors");
  save_checkpoint(saved, file.string());
  const Checkpoint loaded = load_checkpoint(file.string());
  CHECK(loaded.epoch == 7);
  CHECK(loaded.extra == saved.extra);
  CHECK(loaded.rng_state == saved.rng_state);
  for (const auto& [got, expected] :
       {std::pair(&loaded.model, &saved.model), std::pair(&loaded.optimizer, &saved.optimizer)}) {
    REQUIRE(got->size() == expected->size());
    for (std::size_t i = 0; i < got->size(); ++i) {
      CHECK((*got)[i].first == (*expected)[i].first);
      require_same((*got)[i].second, (*expected)[i].second);
    }
  }
  Tiny restored;
  restored.load_state_dict(loaded.model);
  CHECK(snapshot(restored) == snapshot(model));

  default_generator().set_state(loaded.rng_state);
  CHECK(randn({5}, {.dtype = f64}).to_vector<double>() == next_draws);  // the random stream resumes exactly

  // One safetensors file: other tools can read it.
  std::map<std::string, std::string> metadata;
  const nn::StateDict raw = load_safetensors(file.string(), &metadata);
  CHECK(raw.front().first == "model.weight");
  CHECK(raw.back().first == "optimizer.state.0.step");
  CHECK(metadata.at("xgrad.epoch") == "7");
  CHECK(metadata.at("extra.epoch") == "not the real one");

  // Negative epochs and an empty rng_state are kept as given.
  save_checkpoint({.model = {}, .optimizer = {}, .epoch = -1, .rng_state = "", .extra = {}}, file.string());
  const Checkpoint bare = load_checkpoint(file.string());
  CHECK(bare.epoch == -1);
  CHECK(bare.rng_state.empty());
  CHECK(bare.model.empty());
}

TEST_CASE("load_checkpoint refuses files that are not checkpoints", "[io][checkpoint][errors]") {
  const fs::path file = scratch("not_checkpoint.safetensors");
  const std::string p = file.string();
  const std::map<std::string, std::string> good{
      {"xgrad.checkpoint", "1"}, {"xgrad.epoch", "3"}, {"xgrad.rng_state", ""}};
  const auto with = [&](const std::string& key, const std::string& value) {
    auto m = good;
    m[key] = value;
    return m;
  };
  const auto without = [&](const std::string& key) {
    auto m = good;
    m.erase(key);
    return m;
  };

  save_safetensors({{"w", ones({1})}}, p);
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(p), IOError, "load_checkpoint", p.c_str(), "not an xgrad checkpoint");
  save_safetensors({}, p, with("xgrad.checkpoint", "2"));
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(p), IOError, "version \"2\"");
  save_safetensors({{"w", ones({1})}}, p, good);
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(p), IOError, "tensor \"w\" belongs to neither");
  save_safetensors({}, p, without("xgrad.epoch"));
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(p), IOError, "no \"xgrad.epoch\"");
  save_safetensors({}, p, with("xgrad.epoch", "3.5"));
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(p), IOError, "epoch \"3.5\" is not an integer");
  save_safetensors({}, p, with("xgrad.rng_state", "not a state"));
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(p), IOError, "rng_state");
  save_safetensors({}, p, with("format", "pt"));
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(p), IOError, "unknown metadata key \"format\"");
  write_bytes(file, "junk");
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(p), IOError, "load_safetensors", "fewer than the 8");
}
