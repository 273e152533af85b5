// DistributedDataParallel: averaged gradients equal to one process's on the
// whole batch, buckets, no_sync, buffers, unused parameters, names, bit-identical
// reruns and resume. Run alone and under mpiexec like test_distributed.cpp.

#include <cstring>
#include <filesystem>

#include "support.hpp"
#include "tensor/tensor_impl.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace dist = xgrad::distributed;

namespace {

int start() {
  dist::init();
  return dist::rank();
}

// conv -> relu -> flatten -> linear, on [B, 2, 6, 6], initialised from `seed`.
std::shared_ptr<nn::Module> small_net(std::uint64_t seed, DType dtype = f64) {
  manual_seed(seed);
  auto net = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(2, 4, Spatial{3}), std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(64, 3)});
  net->to(dtype);
  return net;
}

struct Batch {
  Tensor inputs, targets;
};

// The job's whole batch k (the same on every rank), and rank r's share of it.
Batch whole_batch(int k, std::int64_t per_rank, DType dtype = f64) {
  manual_seed(1000 + static_cast<std::uint64_t>(k));
  const std::int64_t n = per_rank * dist::world_size();
  Tensor targets = from_vector(std::vector<std::int64_t>(static_cast<std::size_t>(n)), {n});
  auto* t = targets.mutable_data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) t[i] = (i * 7 + k) % 3;
  return {randn({n, 2, 6, 6}, {.dtype = dtype}), targets};
}

Batch share(const Batch& whole, int rank, std::int64_t per_rank) {
  return {whole.inputs.narrow(0, rank * per_rank, per_rank), whole.targets.narrow(0, rank * per_rank, per_rank)};
}

void require_grads_near(nn::Module& got, nn::Module& expected, double tolerance) {
  const nn::StateDict a = got.named_parameters(), b = expected.named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    REQUIRE(a[i].first == b[i].first);
    REQUIRE(a[i].second.grad().defined());
    CHECK(max_relative_difference(values(a[i].second.grad()), values(b[i].second.grad())) <= tolerance);
  }
}

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor x = a.contiguous(), y = b.contiguous();
  return x.shape() == y.shape() && x.dtype() == y.dtype() &&
         std::memcmp(x.impl()->element_ptr(), y.impl()->element_ptr(),
                     static_cast<std::size_t>(x.numel()) * element_size(x.dtype())) == 0;
}

}  // namespace

TEST_CASE("DDP's averaged gradients are one process's on the whole batch", "[distributed][ddp]") {
  const int rank = start();
  for (const double cap : {25.0, 0.0005}) {  // one bucket; a bucket per tensor or two
    CAPTURE(cap);
    const Batch whole = whole_batch(0, 2);
    auto reference = small_net(1);
    cross_entropy((*reference)(whole.inputs), whole.targets).backward();

    // Each rank starts from its own initialisation: construction broadcasts rank 0's.
    auto ddp = std::make_shared<dist::DistributedDataParallel>(small_net(1 + static_cast<std::uint64_t>(rank)),
                                                               dist::DDPOptions{.bucket_cap_mb = cap});
    const Batch mine = share(whole, rank, 2);
    cross_entropy((*ddp)(mine.inputs), mine.targets).backward();
    require_grads_near(*ddp, *reference, 1e-12);
    if (cap < 1) CHECK(ddp->buckets().size() > 1);
  }
}

TEST_CASE("DDP's buckets: reverse registration order, the first small, the same on every rank", "[distributed][ddp]") {
  start();
  // Four f32 parameters of 0.6 MiB: reversed, the first bucket closes at 1 MiB
  // (d, c), the next stays under bucket_cap_mb = 1.5 (b, a).
  struct Four : nn::Module {
    Four() : Module("Four") {
      for (const char* name : {"a", "b", "c", "d"}) register_parameter(name, zeros({157286}));
    }
    Tensor forward(const Tensor& x) override {
      Tensor sum = x;
      for (const Tensor& p : parameters()) sum = sum + p.sum();
      return sum;
    }
  };
  dist::DistributedDataParallel ddp(std::make_shared<Four>(), {.bucket_cap_mb = 1.5});
  REQUIRE(ddp.buckets().size() == 2);
  CHECK(ddp.buckets()[0].parameters == std::vector<std::string>{"d", "c"});
  CHECK(ddp.buckets()[1].parameters == std::vector<std::string>{"b", "a"});
  CHECK(ddp.buckets()[0].numel == 2 * 157286);
  CHECK(ddp.buckets()[0].dtype == f32);

  // The layout of a real model, gathered from every rank.
  dist::DistributedDataParallel resnet(models::resnet20({.num_classes = 10}), {.bucket_cap_mb = 0.25});
  std::vector<std::int64_t> sizes;
  for (const dist::BucketInfo& b : resnet.buckets()) sizes.push_back(b.numel);
  const Tensor mine = from_vector(sizes, {static_cast<std::int64_t>(sizes.size())});
  for (const Tensor& other : dist::all_gather(mine)) CHECK(other.to_vector<std::int64_t>() == sizes);
  std::vector<std::string> order;
  for (const dist::BucketInfo& b : resnet.buckets())
    order.insert(order.end(), b.parameters.begin(), b.parameters.end());
  std::vector<std::string> expected;
  for (const auto& [name, p] : resnet.named_parameters()) expected.insert(expected.begin(), name);
  CHECK(order == expected);
  CHECK(resnet.buckets().size() > 2);
}

TEST_CASE("DDP's no_sync accumulates locally; the next synchronised backward averages the sums", "[distributed][ddp]") {
  const int rank = start(), world = dist::world_size();
  auto reference = small_net(2);
  auto ddp = std::make_shared<dist::DistributedDataParallel>(small_net(2));
  for (int k = 0; k < 3; ++k) {
    const Batch whole = whole_batch(k, 2);
    cross_entropy((*reference)(whole.inputs), whole.targets).backward();
    const Batch mine = share(whole, rank, 2);
    if (k < 2) {
      auto guard = ddp->no_sync();
      cross_entropy((*ddp)(mine.inputs), mine.targets).backward();
    } else {
      cross_entropy((*ddp)(mine.inputs), mine.targets).backward();
    }
    if (k == 1 && world > 1) {
      // Not synchronised yet: each rank holds its own sum.
      const Tensor g = ddp->parameters()[0].grad().contiguous();
      const std::vector<Tensor> all = dist::all_gather(g);
      CHECK_FALSE(same_bits(all[0], all[1]));
    }
  }
  require_grads_near(*ddp, *reference, 1e-12);
}

TEST_CASE("DDP broadcasts rank 0's buffers before each forward that records a graph", "[distributed][ddp]") {
  const int rank = start();
  for (const bool broadcast : {true, false}) {
    CAPTURE(broadcast);
    manual_seed(5);
    auto conv = std::make_shared<nn::Conv2d>(2, 3, Spatial{3});
    auto bn = std::make_shared<nn::BatchNorm2d>(3);
    auto net = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{conv, bn});
    net->to(f64);
    dist::DistributedDataParallel ddp(net, {.broadcast_buffers = broadcast});
    const Batch mine = share(whole_batch(3, 2), rank, 2);

    const double before = rank + 1.0;  // each rank's own running mean
    bn->running_mean.fill_(before);
    Tensor local_mean;
    {
      NoGradGuard no_grad;
      local_mean = (*conv)(mine.inputs).mean({0, 2, 3});
    }
    ddp(mine.inputs);
    const double start_value = broadcast ? 1.0 : before;  // rank 0's, or this rank's own
    require_values(bn->running_mean, values(local_mean * 0.1 + 0.9 * start_value), 1e-12);

    // Under NoGradGuard (evaluation) nothing is broadcast.
    bn->running_mean.fill_(before);
    ddp.eval();
    {
      NoGradGuard no_grad;
      ddp(mine.inputs);
    }
    require_values(bn->running_mean, std::vector<double>(3, before));
    CHECK_FALSE(bn->is_training());
  }
}

TEST_CASE("DDP with find_unused_parameters: zeros where a rank did not use one, undefined where none did",
          "[distributed][ddp]") {
  const int rank = start(), world = dist::world_size();
  // a always, b only on rank 0, c never.
  struct Branches : nn::Module {
    explicit Branches(bool with_b) : Module("Branches"), use_b(with_b) {
      manual_seed(8);
      a = register_module("a", std::make_shared<nn::Linear>(4, 2));
      b = register_module("b", std::make_shared<nn::Linear>(4, 2));
      c = register_module("c", std::make_shared<nn::Linear>(4, 2));
      to(f64);
    }
    Tensor forward(const Tensor& x) override { return use_b ? (*a)(x) + (*b)(x) : (*a)(x); }
    bool use_b;
    std::shared_ptr<nn::Linear> a, b, c;
  };
  auto inputs = [](int r) {
    manual_seed(40 + static_cast<std::uint64_t>(r));
    return randn({3, 4}, {.dtype = f64});
  };

  // Expected: every rank's own gradients (zeros where unused), averaged.
  std::map<std::string, Tensor> expected;
  for (int r = 0; r < world; ++r) {
    Branches local(r == 0);
    local(inputs(r)).pow(2.0).sum().backward();
    for (const auto& [name, p] : local.named_parameters()) {
      const Tensor g = p.grad().defined() ? p.grad() : zeros_like(p);
      expected[name] = expected.count(name) ? expected[name] + g / world : g / world;
    }
  }

  dist::DistributedDataParallel ddp(std::make_shared<Branches>(rank == 0), {.find_unused_parameters = true});
  ddp(inputs(rank)).pow(2.0).sum().backward();
  for (const auto& [name, p] : ddp.named_parameters()) {
    INFO(name);
    if (name[0] == 'c') {
      CHECK_FALSE(p.grad().defined());
    } else {
      REQUIRE(p.grad().defined());
      CHECK(max_relative_difference(values(p.grad()), values(expected[name])) <= 1e-12);
    }
  }

  // Without the option, a parameter no rank uses (the same on every rank) is an error naming it.
  dist::DistributedDataParallel strict(std::make_shared<Branches>(true));
  CHECK_THROWS_WITH(strict(inputs(rank)).pow(2.0).sum().backward(),
                    Catch::Contains("c.weight") && Catch::Contains("find_unused_parameters"));
}

TEST_CASE("DDP's state_dict has the module's names and loads into one process's model", "[distributed][ddp]") {
  start();
  auto inner = models::resnet20({.num_classes = 10});
  dist::DistributedDataParallel ddp(inner);
  const nn::StateDict wrapped = ddp.state_dict(), plain = inner->state_dict();
  REQUIRE(wrapped.size() == plain.size());
  for (std::size_t i = 0; i < wrapped.size(); ++i) CHECK(wrapped[i].first == plain[i].first);
  auto single = models::resnet20({.num_classes = 10});
  single->load_state_dict(ddp.state_dict());
  CHECK(ddp.parameters().size() == inner->parameters().size());
  CHECK(ddp.extra_repr().find("processes") != std::string::npos);
}

TEST_CASE("DDP training is bit-identical across ranks and from run to run", "[distributed][ddp][determinism]") {
  const int rank = start();
  auto train = [&] {
    auto ddp =
        std::make_shared<dist::DistributedDataParallel>(small_net(3, f32), dist::DDPOptions{.bucket_cap_mb = 0.001});
    optim::SGD sgd(ddp->parameters(), {.lr = 0.1, .momentum = 0.9});
    for (int k = 0; k < 4; ++k) {
      const Batch mine = share(whole_batch(k, 3, f32), rank, 3);
      sgd.zero_grad();
      cross_entropy((*ddp)(mine.inputs), mine.targets).backward();
      sgd.step();
    }
    return ddp->state_dict();
  };
  const nn::StateDict first = train(), second = train();
  for (std::size_t i = 0; i < first.size(); ++i) {
    INFO(first[i].first);
    CHECK(same_bits(first[i].second, second[i].second));
    for (const Tensor& other : dist::all_gather(first[i].second.contiguous())) CHECK(same_bits(other, first[i].second));
  }
}

TEST_CASE("DDP resumes from rank 0's checkpoint on every rank", "[distributed][ddp]") {
  const int rank = start();
  // One path for the job: rank 0's process id, broadcast.
  Tensor id = from_vector(std::vector<std::int64_t>{static_cast<std::int64_t>(getpid())}, {1});
  dist::broadcast(id, 0);
  const auto path = std::filesystem::temp_directory_path() /
                    ("xgrad_ddp_resume_" + std::to_string(id.item<std::int64_t>()) + ".ckpt");
  auto step = [&](dist::DistributedDataParallel& ddp, optim::SGD& sgd, int k) {
    const Batch mine = share(whole_batch(k, 2), rank, 2);
    sgd.zero_grad();
    cross_entropy(ddp(mine.inputs), mine.targets).backward();
    sgd.step();
  };
  dist::DistributedDataParallel straight(small_net(4));
  optim::SGD straight_sgd(straight.parameters(), {.lr = 0.05, .momentum = 0.9});
  for (int k = 0; k < 2; ++k) step(straight, straight_sgd, k);
  if (rank == 0) save_checkpoint({straight.state_dict(), straight_sgd.state_dict(), 2, "", {}}, path.string());
  dist::barrier();
  for (int k = 2; k < 4; ++k) step(straight, straight_sgd, k);

  // Fresh processes would start from other weights: every rank loads the file.
  dist::DistributedDataParallel resumed(small_net(40 + static_cast<std::uint64_t>(rank)));
  optim::SGD resumed_sgd(resumed.parameters(), {.lr = 0.05, .momentum = 0.9});
  const Checkpoint checkpoint = load_checkpoint(path.string());
  resumed.load_state_dict(checkpoint.model);
  resumed_sgd.load_state_dict(checkpoint.optimizer);
  for (int k = 2; k < 4; ++k) step(resumed, resumed_sgd, k);
  const nn::StateDict a = straight.state_dict(), b = resumed.state_dict();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i].second, b[i].second));
  dist::barrier();
  if (rank == 0) std::filesystem::remove(path);
}

TEST_CASE("DDP refuses what it cannot wrap, the same on every rank", "[distributed][ddp][errors]") {
  const int rank = start(), world = dist::world_size();
  CHECK_THROWS_AS(dist::DistributedDataParallel(nullptr), ValueError);
  CHECK_THROWS_AS(dist::DistributedDataParallel(small_net(1), {.bucket_cap_mb = 0}), ValueError);
  if (world == 1) return;
  // Rank 1's model is wider: every rank throws, naming the difference.
  manual_seed(1);
  auto different = std::make_shared<nn::Linear>(4, rank == 1 ? 3 : 2);
  CHECK_THROWS_WITH(dist::DistributedDataParallel(different),
                    Catch::Contains("rank 1") && Catch::Contains("parameters and buffers"));
  dist::barrier();
}
