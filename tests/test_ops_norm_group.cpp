// group_norm, layer_norm and instance_norm: values against PyTorch 1.13's (the
// literals were printed by /usr/bin/python3 with torch.nn.functional on the same
// inputs), running statistics, gradchecks over shapes and options, f32 against
// f64 on the fused kernels' long and short runs; their modules (GroupNorm,
// LayerNorm, InstanceNorm{1,2,3}d) and BatchNorm's momentum None, against a
// PyTorch state_dict (tests/data/torch/make_norm_fixtures.py).

#include <cmath>
#include <filesystem>
#include <vector>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

// sin(0.7 i + phase) * 2 + 0.1 i over the flat index i: the inputs of the PyTorch literals.
Tensor wave(const Shape& shape, double phase = 0.3) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = std::sin(0.7 * static_cast<double>(i) + phase) * 2 + 0.1 * static_cast<double>(i);
  return f64_tensor(v, shape);
}

Tensor named(const nn::StateDict& state, const std::string& name) {
  for (const auto& [n, t] : state)
    if (n == name) return t;
  FAIL("no tensor " << name);
  return {};
}

std::vector<std::string> names(const nn::StateDict& state) {
  std::vector<std::string> out;
  for (const auto& entry : state) out.push_back(entry.first);
  return out;
}

// Optional weight and bias leaves of `shape`, appended to `inputs` when wanted.
struct Affine {
  bool weight, bias;
};
const Affine kAffines[] = {{true, true}, {true, false}, {false, true}, {false, false}};

std::vector<Tensor> with_affine(Tensor x, const Shape& shape, Affine affine) {
  std::vector<Tensor> inputs{std::move(x)};
  if (affine.weight) inputs.push_back(leaf(shape));
  if (affine.bias) inputs.push_back(leaf(shape));
  return inputs;
}

// in[0], then weight and bias where `affine` has them.
std::pair<Tensor, Tensor> affine_of(const std::vector<Tensor>& in, Affine affine) {
  std::size_t next = 1;
  const Tensor w = affine.weight ? in[next++] : Tensor();
  const Tensor b = affine.bias ? in[next++] : Tensor();
  return {w, b};
}

}  // namespace

// ---- values against PyTorch ------------------------------------------------------------

TEST_CASE("group_norm matches PyTorch", "[norm][group_norm][values]") {
  const Tensor x = wave({2, 4, 3});
  require_values(group_norm(x, 2, f64_tensor({0.5, 1, 1.5, 2}), f64_tensor({0.1, -0.2, 0.3, 0})),
                 {-0.10448986821422478, 0.49944410934131911, 0.70231967866200329, 0.46510416390393844,
                  -0.71830394469441283, -1.9413480587877221, -1.5847622741727294, -1.3353174018564977,
                  -0.36649274147228156, 0.80902979950940868, 2.1684738967040396,  2.6045928604552309,
                  0.98157326914908694,  0.40325450500871213, -0.18652090177117098, -1.3745027625166473,
                  -1.0687554185556962,  0.04664443629908864, -0.18851416877390248, 1.5535567693860923,
                  2.0854738996851867,   1.2366596050815002,  -1.1285778354932476, -3.5087704366514263},
                 1e-12);
  require_values(group_norm(x, 4, {}, {}, {.eps = 0.1}),
                 {-1.2431003151650248,   0.35339934229161124,  0.88970097287341443, 1.1579244108014319,
                  0.012784758757669872,  -1.1707091695591016,  -0.82572212296411973, -0.40471620622557314,
                  1.2304383291896925,    -1.2411901153044946,  0.36323912162457994, 0.87795099367991469,
                  1.160608377385195,     0.0076137064477595157, -1.1682220838329544, -0.83991379832063628,
                  -0.39379261379287306,  1.2337064121135093,   -1.2389796644302491, 0.3733401218212471,
                  0.86563954260900144,   1.1632404777000829,   0.0024465281472433862, -1.1656870058473252},
                 1e-12);
}

TEST_CASE("layer_norm matches PyTorch", "[norm][layer_norm][values]") {
  require_values(layer_norm(wave({2, 3, 4}), {4}, {}, {}, {.eps = 1e-3}),
                 {-1.6307556128399181, 0.39178482916994578,  1.0712035386581393,   0.16776724501183474,
                  1.6396958642843007,  -0.082905650518322563, -0.984037096115984,  -0.57275311764999415,
                  -1.5130978287571615, -0.26734362705226622, 0.73020975434587665,  1.0502317014635514,
                  1.4249213219467975,  0.39972960158367221,  -0.64577142898252327, -1.1788794945479466,
                  -1.3119990054338302, -0.51919714552041296, 0.50908871249564447,  1.3221074384585987,
                  1.1631643560543807,  0.65830606895732147,  -0.38552144623951329, -1.4359489787721884},
                 1e-12);
  require_values(layer_norm(wave({2, 2, 3}, 1.0), {2, 3}, wave({2, 3}, 2.0), wave({2, 3}, 0.5) * 0.1),
                 {1.6204921790365545, 1.2848474328277817, -0.020591387768938138, 0.3215166853684594,
                  1.6808569301563205, 1.2889243534827739, -2.9598095064916747, -0.69983864694136699,
                  0.19811079171221679, -0.95783099849116127, -1.68989576323727, -0.73940624238596608},
                 1e-12);
}

TEST_CASE("instance_norm matches PyTorch, running statistics included", "[norm][instance_norm][values]") {
  const Tensor x = wave({2, 3, 4});
  const Tensor rm = f64_tensor({0.0, 0.5, -0.5}), rv = f64_tensor({1.0, 2.0, 0.5});
  const Tensor w = f64_tensor({1.5, -1, 0.5}), b = f64_tensor({0.0, 0.25, -0.5});
  require_values(instance_norm(x, rm, rv, w, b, {.momentum = 0.2}),
                 {-2.4496274662163628, 0.58851667952271769, 1.6091004621075158,   0.25201032458612871,
                  -1.3913518996121439, 0.33298938231830255, 1.2350309390783114,   0.82333157821553005,
                  -1.2568177023281757, -0.63371930466912929, -0.13476540776243423, 0.025302414759739343,
                  2.1381859562191177,  0.59981993898690711, -0.96902150252864072, -1.7689843926773847,
                  1.5623162966540967,  0.76932270712158712, -0.25921182949355559, -1.0724271742821276,
                  0.081805815512774993, -0.1707203953481386, -0.69283484596097622, -1.2182505742036602},
                 1e-12);
  // The mean over the batch of the per-instance mean and unbiased variance, weighed by momentum.
  require_values(rm, {0.24429284795245121, 0.50608463975871265, 0.04921879359024034}, 1e-12);
  require_values(rv, {1.0215995973602048, 1.9381901177687035, 0.75733625777488289}, 1e-12);
  // Without input statistics: the running ones, left as they are.
  require_values(instance_norm(x, rm, rv, w, b, {.use_input_stats = false, .eps = 1e-3}),
                 {0.51434185968228607, 2.2823279228791642,  2.8762358539644186,  2.0865049081813734,
                  0.26646141734140183, 1.1331296033134335,  1.5865031482496024,  1.3795796453538549,
                  -0.49826148962462935, 0.34624572012988336, 1.0224955144735748, 1.2394410734375214,
                  3.3844386075731823,  1.6394648829365259,  -0.14007721751309543, -1.0474778025217604,
                  0.72178909288459736, -0.092865576580180048, -1.1494951307399828, -1.9849239244367569,
                  1.7532224817483222,  1.4242423657150638,  0.74405446775520756, 0.059565809513785574},
                 1e-12);
  require_values(rm, {0.24429284795245121, 0.50608463975871265, 0.04921879359024034}, 1e-12);
}

TEST_CASE("group, layer and instance norm agree where they coincide", "[norm][values]") {
  manual_seed(30);
  const Tensor x = randn({3, 4, 2, 3}, {.dtype = f64});
  const Tensor w = randn({4}, {.dtype = f64}), b = randn({4}, {.dtype = f64});
  // One group is layer norm over [C, H, W] (with per-channel affine); C groups are instance norm.
  const Tensor per_channel = w.reshape({4, 1, 1});
  require_values(group_norm(x, 1, w, b), values(layer_norm(x, {4, 2, 3}) * per_channel + b.reshape({4, 1, 1})), 1e-12);
  require_values(group_norm(x, 4, w, b), values(instance_norm(x, {}, {}, w, b)), 1e-12);
  // Instance norm is batch norm of each sample alone.
  require_values(instance_norm(x, {}, {}, w, b).select(0, 1),
                 values(batch_norm(x.narrow(0, 1, 1), {}, {}, w, b, {.training = true})), 1e-12);
}

TEST_CASE("the norms of an empty batch are empty, and so are their input gradients", "[norm][values]") {
  const Tensor x = zeros({0, 4, 3}, {.dtype = f64, .requires_grad = true});
  const Tensor w = ones({4}, {.dtype = f64, .requires_grad = true});
  const Tensor y = group_norm(x, 2, w, {});
  REQUIRE(y.shape() == Shape{0, 4, 3});
  const auto g = autograd::grad({y}, {x, w}, {zeros({0, 4, 3}, {.dtype = f64})});
  REQUIRE(g[0].shape() == Shape{0, 4, 3});
  require_values(g[1], {0, 0, 0, 0});
  REQUIRE(layer_norm(x, {4, 3}).shape() == Shape{0, 4, 3});
}

TEST_CASE("the norms read non-contiguous inputs and parameters", "[norm][views]") {
  manual_seed(31);
  const Tensor x = randn({5, 4, 3}, {.dtype = f64}).transpose(0, 2);  // [3, 4, 5]
  const Tensor w = randn({4, 2}, {.dtype = f64}).select(1, 1);        // stride 2
  REQUIRE_FALSE(x.is_contiguous());
  require_values(group_norm(x, 2, w, w), values(group_norm(x.contiguous(), 2, w.contiguous(), w.contiguous())),
                 1e-14);
  require_values(instance_norm(x, {}, {}, w, {}), values(instance_norm(x.contiguous(), {}, {}, w.contiguous(), {})),
                 1e-14);
  const Tensor lw = randn({5, 2}, {.dtype = f64}).select(1, 0);
  require_values(layer_norm(x, {5}, lw, lw), values(layer_norm(x.contiguous(), {5}, lw.contiguous(), lw.contiguous())),
                 1e-14);
}

TEST_CASE("the norms in f32 agree with f64 on short and long runs", "[norm][f32]") {
  manual_seed(32);
  // [N, C, S] with S below and above the SIMD run length, and a layer norm over wide rows.
  for (const Shape& shape : {Shape{2, 6, 3}, Shape{3, 8, 5, 7}, Shape{2, 32, 16, 16}}) {
    INFO("shape " << shape_to_string(shape));
    const std::int64_t C = shape[1];
    const Tensor x = randn(shape, {.dtype = f64}) * 3.0 + 2.0;
    const Tensor w = randn({C}, {.dtype = f64}), b = randn({C}, {.dtype = f64});
    const Tensor x32 = x.to(f32).requires_grad_(true), w32 = w.to(f32).requires_grad_(true);
    const Tensor x64 = x.clone().requires_grad_(true), w64 = w.clone().requires_grad_(true);
    const Tensor gy = randn(shape, {.dtype = f64});
    for (const std::int64_t groups : {std::int64_t{1}, std::int64_t{2}, C}) {
      const Tensor y32 = group_norm(x32, groups, w32, b.to(f32));
      const Tensor y64 = group_norm(x64, groups, w64, b);
      REQUIRE(max_relative_difference(values(y32), values(y64)) < 1e-5);
      const auto g32 = autograd::grad({y32}, {x32, w32}, {gy.to(f32)});
      const auto g64 = autograd::grad({y64}, {x64, w64}, {gy});
      REQUIRE(max_relative_difference(values(g32[0]), values(g64[0])) < 1e-4);
      REQUIRE(max_relative_difference(values(g32[1]), values(g64[1])) < 1e-4);
    }
  }
  // Wide rows; and many rows, whose weight gradient four threads sum in chunks.
  ThreadCountGuard threads;
  set_num_threads(4);
  for (const Shape& shape : {Shape{64, 300}, Shape{3000, 48}}) {
    INFO("shape " << shape_to_string(shape));
    const std::int64_t D = shape[1];
    const Tensor x = randn(shape, {.dtype = f64}) * 2.0 - 1.0;
    const Tensor w = randn({D}, {.dtype = f64}), b = randn({D}, {.dtype = f64});
    const Tensor x32 = x.to(f32).requires_grad_(true), w32 = w.to(f32).requires_grad_(true);
    const Tensor b32 = b.to(f32).requires_grad_(true);
    const Tensor x64 = x.clone().requires_grad_(true), w64 = w.clone().requires_grad_(true);
    const Tensor b64 = b.clone().requires_grad_(true);
    const Tensor y32 = layer_norm(x32, {D}, w32, b32), y64 = layer_norm(x64, {D}, w64, b64);
    REQUIRE(max_relative_difference(values(y32), values(y64)) < 1e-5);
    const Tensor gy = randn(shape, {.dtype = f64});
    const auto g32 = autograd::grad({y32}, {x32, w32, b32}, {gy.to(f32)});
    const auto g64 = autograd::grad({y64}, {x64, w64, b64}, {gy});
    for (std::size_t i = 0; i < 3; ++i) REQUIRE(max_relative_difference(values(g32[i]), values(g64[i])) < 1e-4);
  }
}

TEST_CASE("layer norm's weight gradient repeats bit for bit across thread counts with deterministic algorithms",
          "[norm][layer_norm][determinism]") {
  manual_seed(38);
  const bool saved = are_deterministic_algorithms_enabled();
  use_deterministic_algorithms(true);
  ThreadCountGuard threads;
  const Tensor x = randn({4000, 40}).requires_grad_(true), w = randn({40}).requires_grad_(true);
  const Tensor gy = randn({4000, 40});
  std::vector<std::vector<double>> grads;
  for (const int n : {1, 2, 3}) {
    set_num_threads(n);
    grads.push_back(values(autograd::grad({layer_norm(x, {40}, w, w)}, {w}, {gy})[0]));
  }
  use_deterministic_algorithms(saved);
  CHECK(grads[0] == grads[1]);
  CHECK(grads[0] == grads[2]);
}

// ---- gradchecks -----------------------------------------------------------------------

TEST_CASE("group_norm passes gradcheck over shapes, groups and affine options", "[norm][group_norm][gradcheck]") {
  manual_seed(33);
  struct Case {
    Shape shape;
    std::vector<std::int64_t> groups;
  };
  const Case cases[] = {{{1, 4, 3}, {1, 2, 4}},    {{3, 6}, {1, 3}},        {{2, 4, 5}, {2, 4}},
                        {{1, 2, 3, 3}, {1, 2}},    {{2, 6, 2, 3}, {3, 6}},  {{2, 4, 2, 1, 3}, {2}},
                        {{1, 3, 2, 2, 3}, {1, 3}}, {{2, 2, 17}, {1, 2}}};
  for (const Case& c : cases)
    for (const std::int64_t groups : c.groups)
      for (const Affine affine : kAffines) {
        INFO("shape " << shape_to_string(c.shape) << " groups " << groups << " weight " << affine.weight << " bias "
                      << affine.bias);
        require_gradchecks(
            [=](const std::vector<Tensor>& in) {
              const auto [w, b] = affine_of(in, affine);
              return group_norm(in[0], groups, w, b, {.eps = 1e-3});
            },
            with_affine(leaf(c.shape), {c.shape[1]}, affine));
      }
  // A strided input: [3, 4, 2] seen through a transpose.
  require_gradchecks(
      [](const std::vector<Tensor>& in) { return group_norm(in[0].transpose(1, 2), 2, in[1], in[2]); },
      {leaf({3, 2, 4}), leaf({4}), leaf({4})});
}

TEST_CASE("layer_norm passes gradcheck over shapes and affine options", "[norm][layer_norm][gradcheck]") {
  manual_seed(34);
  struct Case {
    Shape shape, normalized;
  };
  const Case cases[] = {{{3, 5}, {5}},          {{1, 7}, {7}},          {{4}, {4}},
                        {{2, 3, 4}, {3, 4}},    {{2, 3, 4}, {2, 3, 4}}, {{2, 2, 3, 2}, {3, 2}},
                        {{1, 2, 2, 1, 3}, {3}}, {{2, 1, 2, 3, 2}, {2, 3, 2}}};
  for (const Case& c : cases)
    for (const Affine affine : kAffines) {
      INFO("shape " << shape_to_string(c.shape) << " normalized " << shape_to_string(c.normalized) << " weight "
                    << affine.weight << " bias " << affine.bias);
      const std::vector<std::int64_t> normalized = c.normalized;
      require_gradchecks(
          [=](const std::vector<Tensor>& in) {
            const auto [w, b] = affine_of(in, affine);
            return layer_norm(in[0], normalized, w, b, {.eps = 1e-3});
          },
          with_affine(leaf(c.shape), c.normalized, affine));
    }
  require_gradchecks(
      [](const std::vector<Tensor>& in) { return layer_norm(in[0].transpose(0, 1), {3}, in[1], in[2]); },
      {leaf({3, 4}), leaf({3}), leaf({3})});
}

TEST_CASE("instance_norm passes gradcheck with and without input statistics", "[norm][instance_norm][gradcheck]") {
  manual_seed(35);
  const Shape shapes[] = {{1, 2, 3}, {2, 3, 4}, {3, 2, 5}, {1, 2, 2, 3}, {2, 3, 2, 2}, {2, 2, 2, 1, 3}, {1, 2, 2, 2, 2}};
  for (const Shape& shape : shapes)
    for (const bool use_input_stats : {true, false})
      for (const Affine affine : kAffines) {
        INFO("shape " << shape_to_string(shape) << " use_input_stats " << use_input_stats << " weight "
                      << affine.weight << " bias " << affine.bias);
        const std::int64_t C = shape[1];
        const Tensor rm = randn({C}, {.dtype = f64}), rv = rand({C}, {.dtype = f64}) + 0.5;
        require_gradchecks(
            [=](const std::vector<Tensor>& in) {
              const auto [w, b] = affine_of(in, affine);
              return instance_norm(in[0], rm, rv, w, b, {.use_input_stats = use_input_stats, .momentum = 0.3});
            },
            with_affine(leaf(shape), {C}, affine));
      }
  require_gradchecks(
      [](const std::vector<Tensor>& in) { return instance_norm(in[0].transpose(1, 2), {}, {}, in[1], {}); },
      {leaf({2, 4, 3}), leaf({3})});
}

// ---- modules --------------------------------------------------------------------------

TEST_CASE("GroupNorm and LayerNorm hold PyTorch's parameters and print as it does", "[norm][nn]") {
  nn::GroupNorm gn(2, 6);
  REQUIRE(names(gn.state_dict()) == std::vector<std::string>{"weight", "bias"});
  require_values(gn.weight, std::vector<double>(6, 1.0));
  require_values(gn.bias, std::vector<double>(6, 0.0));
  CHECK(gn.extra_repr() == "2, 6, eps=1e-05, affine=true");
  CHECK(nn::GroupNorm(3, 3, 1e-3, false).state_dict().empty());

  nn::LayerNorm ln({2, 3});
  REQUIRE(names(ln.state_dict()) == std::vector<std::string>{"weight", "bias"});
  REQUIRE(ln.weight.shape() == Shape{2, 3});
  CHECK(ln.extra_repr() == "(2, 3), eps=1e-05, elementwise_affine=true");
  CHECK(nn::LayerNorm(10).extra_repr() == "(10,), eps=1e-05, elementwise_affine=true");
  CHECK(nn::LayerNorm({10}, 1e-5, false).state_dict().empty());

  manual_seed(36);
  const Tensor x = randn({2, 6, 2, 3});
  require_values(gn(x), values(group_norm(x, 2)), 1e-6);
  require_values(ln(x), values(layer_norm(x, {2, 3})), 1e-6);
}

TEST_CASE("InstanceNorm follows PyTorch's defaults, buffers and unbatched inputs", "[norm][nn]") {
  nn::InstanceNorm2d plain(3);
  CHECK(plain.state_dict().empty());
  CHECK(plain.extra_repr() == "3, eps=1e-05, momentum=0.1, affine=false, track_running_stats=false");
  nn::InstanceNorm1d tracked(3, 1e-5, 0.5, true, true);
  REQUIRE(names(tracked.state_dict()) ==
          std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});

  manual_seed(37);
  const Tensor x = randn({2, 3, 5}) * 2.0 + 1.0;
  // Training: the input statistics; the running ones move with the mean over the batch.
  const Tensor y = tracked(x);
  require_values(y, values(instance_norm(x, {}, {}, tracked.weight, tracked.bias)), 1e-6);
  const Tensor expected_mean = x.mean(2).mean(0) * 0.5;
  require_values(tracked.running_mean, values(expected_mean), 1e-6);
  CHECK(tracked.num_batches_tracked.item() == 0);  // PyTorch's InstanceNorm does not count
  // Evaluation: the running statistics.
  tracked.eval();
  require_values(tracked(x), values(batch_norm(x, tracked.running_mean, tracked.running_var, tracked.weight,
                                               tracked.bias, {.training = false})),
                 1e-6);
  // Without tracked statistics evaluation still normalises with the input's.
  plain.eval();
  const Tensor image = randn({2, 3, 4, 4});
  require_values(plain(image), values(instance_norm(image)), 1e-6);
  // [C, L] is a batch of one; and without affine, a channel count other than num_features passes (PyTorch warns).
  nn::InstanceNorm1d unbatched(3);
  const Tensor single = randn({3, 5});
  const Tensor out = unbatched(single);
  REQUIRE(out.shape() == Shape{3, 5});
  require_values(out, values(instance_norm(single.unsqueeze(0)).squeeze(0)), 1e-6);
  REQUIRE(unbatched(randn({2, 4, 5})).shape() == Shape{2, 4, 5});
  REQUIRE(nn::InstanceNorm3d(2)(randn({2, 2, 2, 3})).shape() == Shape{2, 2, 2, 3});
}

TEST_CASE("BatchNorm with momentum None keeps a cumulative moving average", "[norm][nn][batch_norm]") {
  nn::BatchNorm1d bn(3, 1e-5, std::nullopt);
  bn.to(f64);
  CHECK(bn.extra_repr() == "3, eps=1e-05, momentum=None, affine=true, track_running_stats=true");
  CHECK(nn::BatchNorm2d(3, 1e-5, 0.25).momentum == 0.25);  // a plain double still works
  const std::vector<std::vector<double>> means = {{0.45422374735981796, 0.87686991174402629, 1.1457840491517595},
                                                  {0.57439112467995268, 0.94831717613269539, 1.1349084357726706},
                                                  {0.67459968514490143, 0.98142620097227939, 1.0853462332620496}};
  const std::vector<std::vector<double>> vars = {{1.8198507857266908, 2.3171519637188345, 3.0599774153680204},
                                                 {1.9576400572226063, 2.6071362643404545, 3.1019044570778389},
                                                 {2.1987275479848356, 2.7940428898501786, 3.0170897212155805}};
  for (std::size_t k = 0; k < 3; ++k) {
    INFO("batch " << k);
    bn(wave({4, 3}, 0.5 * static_cast<double>(k)));
    require_values(bn.running_mean, means[k], 1e-12);
    require_values(bn.running_var, vars[k], 1e-12);
  }
  CHECK(bn.num_batches_tracked.item() == 3);
  // Evaluation leaves the statistics alone.
  bn.eval();
  bn(wave({4, 3}, 2.0));
  require_values(bn.running_mean, means[2], 1e-12);
}

TEST_CASE("a PyTorch state_dict of the norms loads and gives PyTorch's outputs", "[norm][nn][torch]") {
  const std::filesystem::path dir = std::filesystem::path(XGRAD_SOURCE_DIR) / "tests" / "data" / "torch";
  nn::Sequential net;
  net.push_back(std::make_shared<nn::GroupNorm>(2, 4));
  net.push_back(std::make_shared<nn::LayerNorm>(std::vector<std::int64_t>{3, 3}));
  net.push_back(std::make_shared<nn::InstanceNorm2d>(4, 1e-5, 0.1, true, true));
  net.push_back(std::make_shared<nn::BatchNorm2d>(4, 1e-5, std::nullopt));
  load(net, (dir / "norms.pth").string());
  const nn::StateDict expected = load_safetensors((dir / "norms.expected.safetensors").string());
  const Tensor x = named(expected, "input");
  net.eval();
  require_values(net.forward(x), values(named(expected, "eval")), 1e-5);
  net.train();  // the third batch the BatchNorm counts: its running statistics weigh it 1/3
  require_values(net.forward(x), values(named(expected, "train")), 1e-5);
  for (const auto& [name, t] : net.state_dict()) {
    INFO(name);
    require_values(t, values(named(expected, "after." + name)), 1e-5);
  }
}
