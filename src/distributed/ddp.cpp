// DistributedDataParallel: the wrapper adopts the module's names; its Reducer
// puts each gradient into a bucket as soon as backward has accumulated it, starts
// a bucket's all-reduce once the bucket is full (buckets strictly in order, so
// that every rank issues the same collectives in the same order), and, from a
// callback at the end of backward, waits for them and writes the averages back.

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "distributed/process_group.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "xgrad/autograd.hpp"

namespace xgrad::distributed {

using xgrad::detail::element_ptr;
using xgrad::detail::fail;
using xgrad::detail::str;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::byte* bytes_of(const Tensor& t) { return t.impl()->element_ptr(); }
std::size_t nbytes(const Tensor& t) { return static_cast<std::size_t>(t.numel()) * element_size(t.dtype()); }

}  // namespace

double ReductionTimeline::hidden_fraction() const {
  double total = 0, hidden = 0;
  for (const Bucket& b : buckets) {
    total += b.finished - b.started;
    hidden += std::max(0.0, std::min(b.finished, backward_end) - b.started);
  }
  return total > 0 ? hidden / total : 0;
}

class DistributedDataParallel::Reducer {
 public:
  // `params`: the parameters that require grad, in the order their gradients
  // are expected (reverse registration).
  Reducer(nn::StateDict params, const DDPOptions& options) : params_(std::move(params)), options_(options) {
    assign_buckets();
    for (std::size_t i = 0; i < params_.size(); ++i)
      hooks_.push_back(
          params_[i].second.register_post_accumulate_grad_hook([this, i](const Tensor&) { mark_ready(i); }));
  }

  ~Reducer() {
    for (std::size_t i = 0; i < params_.size(); ++i) params_[i].second.remove_post_accumulate_grad_hook(hooks_[i]);
  }
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  const std::vector<BucketInfo>& info() const { return info_; }
  const ReductionTimeline& timeline() const { return timeline_; }

  // Called by each forward: whether its backward synchronises. A reduction left
  // unfinished (a backward that threw) is drained first.
  void prepare(bool sync) {
    if (active_) {
      for (std::size_t b = 0; b < next_bucket_; ++b) buckets_[b].work.wait();
      active_ = false;
    }
    sync_ = sync;
  }

 private:
  struct Bucket {
    Tensor flat;                        // the gradients, one after another
    std::vector<std::int64_t> offsets;  // where each starts in flat (elements)
    std::size_t pending = 0;            // gradients not yet copied in
    Clock::time_point ready;
    Work work;
  };

  // PyTorch's assignment: parameters in expected order, one open bucket per
  // dtype, closed once it holds at least its limit (the first 1 MiB, then
  // bucket_cap_mb), so that the bucket of the last layers starts early.
  void assign_buckets() {
    const double cap = options_.bucket_cap_mb * 1024 * 1024;
    const double first = std::min(cap, 1024.0 * 1024.0);
    std::map<DType, std::vector<std::size_t>> open;
    std::map<DType, double> limit, bytes;
    std::vector<std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const DType dtype = params_[i].second.dtype();
      if (!limit.count(dtype)) limit[dtype] = first;
      open[dtype].push_back(i);
      bytes[dtype] += static_cast<double>(nbytes(params_[i].second));
      if (bytes[dtype] >= limit[dtype]) {
        groups.push_back(std::move(open[dtype]));
        open[dtype].clear();
        bytes[dtype] = 0;
        limit[dtype] = cap;
      }
    }
    for (auto& [dtype, members] : open)
      if (!members.empty()) groups.push_back(std::move(members));

    where_.resize(params_.size());
    for (std::size_t b = 0; b < groups.size(); ++b) {
      Bucket bucket;
      BucketInfo info{params_[groups[b][0]].second.dtype(), 0, {}};
      for (std::size_t i : groups[b]) {
        where_[i] = {b, bucket.offsets.size()};
        bucket.offsets.push_back(info.numel);
        info.numel += params_[i].second.numel();
        info.parameters.push_back(params_[i].first);
      }
      bucket.flat = zeros({info.numel}, {.dtype = info.dtype});
      buckets_.push_back(std::move(bucket));
      info_.push_back(std::move(info));
    }
  }

  // The post-accumulate hook of parameter i.
  void mark_ready(std::size_t i) {
    if (!sync_) return;
    if (!active_) begin_reduction();
    if (marked_[i]) return;
    marked_[i] = true;
    copy_in(i, params_[i].second.grad());
  }

  void begin_reduction() {
    active_ = true;
    start_ = Clock::now();
    marked_.assign(params_.size(), false);
    next_bucket_ = 0;
    for (std::size_t b = 0; b < buckets_.size(); ++b) buckets_[b].pending = info_[b].parameters.size();
    autograd::queue_callback([this] { finish(); });
  }

  // Copies parameter i's gradient (undefined: zeros) into its bucket, and starts
  // the buckets that are now full, in order.
  void copy_in(std::size_t i, const Tensor& grad) {
    const auto [b, k] = where_[i];
    Bucket& bucket = buckets_[b];
    const Tensor& param = params_[i].second;
    std::byte* slot =
        bytes_of(bucket.flat) + bucket.offsets[k] * static_cast<std::int64_t>(element_size(param.dtype()));
    if (grad.defined()) {
      const Tensor g = grad.detach().contiguous();
      std::memcpy(slot, bytes_of(g), nbytes(g));
    } else {
      std::memset(slot, 0, nbytes(param));
    }
    if (--bucket.pending == 0) {
      bucket.ready = Clock::now();
      while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) launch(next_bucket_++);
    }
  }

  void launch(std::size_t b) {
    buckets_[b].work = detail::all_reduce_agreed(
        buckets_[b].flat, ReduceOp::avg,
        fmt::format("DistributedDataParallel's all-reduce of bucket {} ({} {} values, {} parameters)", b,
                    info_[b].numel, dtype_name(info_[b].dtype), info_[b].parameters.size()));
  }

  // End of backward: every gradient this rank will get has been accumulated.
  void finish() {
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (!marked_[i]) missing.push_back(i);
    std::vector<bool> had_grad(params_.size(), true);
    if (!missing.empty() && !options_.find_unused_parameters) {
      active_ = false;
      std::string names;
      for (std::size_t j = 0; j < std::min<std::size_t>(missing.size(), 5); ++j)
        names += (j ? ", " : "") + params_[missing[j]].first;
      fail<AutogradError>(
          "DistributedDataParallel: {} parameter(s) got no gradient in this backward ({}{}); every rank must "
          "reduce every bucket, so pass DDPOptions{{.find_unused_parameters = true}} if some parameters may go "
          "unused",
          missing.size(), names, missing.size() > 5 ? ", ..." : "");
    }
    for (std::size_t i : missing) {
      const Tensor grad = params_[i].second.grad();  // from no_sync steps, if any
      had_grad[i] = grad.defined();
      marked_[i] = true;
      copy_in(i, grad);
    }
    // With unused parameters allowed, which ones no rank used (they keep an undefined grad).
    Tensor used;
    Work used_work;
    if (options_.find_unused_parameters) {
      used = zeros({static_cast<std::int64_t>(params_.size())}, {.dtype = DType::i64});
      auto* flags = element_ptr<std::int64_t>(used);
      for (std::size_t i = 0; i < params_.size(); ++i) flags[i] = had_grad[i] ? 1 : 0;
      used_work = detail::all_reduce_agreed(used, ReduceOp::max, "DistributedDataParallel's unused-parameter flags");
    }
    const Clock::time_point backward_end = Clock::now();
    for (Bucket& bucket : buckets_) bucket.work.wait();
    if (used.defined()) used_work.wait();
    copy_out(used);
    record_timeline(backward_end);
    active_ = false;
  }

  // The averages into each parameter's grad(): in place when it has one of its own.
  void copy_out(const Tensor& used) {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (used.defined() && element_ptr<std::int64_t>(used)[i] == 0) continue;
      const auto [b, k] = where_[i];
      const Tensor& param = params_[i].second;
      const Tensor average = buckets_[b].flat.narrow(0, buckets_[b].offsets[k], param.numel()).view(param.shape());
      Tensor grad = param.grad();
      if (grad.defined() && grad.is_contiguous() && !grad.requires_grad() && grad.impl()->storage.use_count() == 1) {
        grad.impl()->storage->bump_version();
        std::memcpy(bytes_of(grad), bytes_of(average), nbytes(average));
      } else {
        param.set_grad(average.clone());
      }
    }
  }

  void record_timeline(Clock::time_point backward_end) {
    timeline_.buckets.clear();
    for (const Bucket& b : buckets_)
      timeline_.buckets.push_back({seconds_between(start_, b.ready), seconds_between(start_, b.work.started()),
                                   seconds_between(start_, b.work.finished())});
    timeline_.backward_end = seconds_between(start_, backward_end);
    timeline_.wait_end = seconds_between(start_, Clock::now());
  }

  nn::StateDict params_;
  DDPOptions options_;
  std::vector<int> hooks_;
  std::vector<Bucket> buckets_;
  std::vector<BucketInfo> info_;
  std::vector<std::pair<std::size_t, std::size_t>> where_;  // parameter -> (bucket, position)

  // The reduction of the current backward.
  bool sync_ = true;
  bool active_ = false;
  Clock::time_point start_;
  std::vector<bool> marked_;
  std::size_t next_bucket_ = 0;
  ReductionTimeline timeline_;
};

namespace {

// dtype, dims and shape of each tensor, for the cross-rank layout check.
void append_layout(std::vector<std::int64_t>& out, const Tensor& t) {
  out.push_back(static_cast<std::int64_t>(t.dtype()));
  out.push_back(static_cast<std::int64_t>(t.dim()));
  for (std::int64_t d : t.shape()) out.push_back(d);
  out.push_back(t.requires_grad() ? 1 : 0);
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions options)
    : Module("DistributedDataParallel"), module_(std::move(module)), options_(options) {
  detail::require_initialized("DistributedDataParallel");
  if (!module_) fail<ValueError>("DistributedDataParallel: the module is null");
  if (!(options_.bucket_cap_mb > 0))
    fail<ValueError>("DistributedDataParallel: bucket_cap_mb must be positive, got {}", options_.bucket_cap_mb);

  // The wrapped module's own tensors and children, under their names.
  const nn::StateDict persistent = module_->state_dict();
  auto is_persistent = [&](const std::string& name) {
    return std::any_of(persistent.begin(), persistent.end(), [&](const auto& entry) { return entry.first == name; });
  };
  for (const auto& [name, p] : module_->named_parameters(false)) register_parameter(name, p, p.requires_grad());
  for (const auto& [name, b] : module_->named_buffers(false)) register_buffer(name, b, is_persistent(name));
  for (const auto& [name, child] : module_->named_children()) register_module(name, child);
  train(module_->is_training());

  std::vector<std::int64_t> layout;
  std::vector<Tensor> tensors;
  for (const auto& [name, p] : named_parameters()) append_layout(layout, p), tensors.push_back(p);
  for (const auto& [name, b] : named_buffers()) append_layout(layout, b), tensors.push_back(b);
  detail::check_same_on_all_ranks("DistributedDataParallel", "the parameters and buffers (count, dtypes, shapes)",
                                  layout);
  detail::broadcast_agreed(tensors, 0, "DistributedDataParallel's broadcast of rank 0's parameters and buffers");

  nn::StateDict expected_order;
  for (const auto& [name, p] : named_parameters())
    if (p.requires_grad()) expected_order.emplace_back(name, p);
  std::reverse(expected_order.begin(), expected_order.end());
  reducer_ = std::make_unique<Reducer>(std::move(expected_order), options_);
}

DistributedDataParallel::~DistributedDataParallel() = default;

Tensor DistributedDataParallel::forward(const Tensor& input) {
  const bool sync = no_sync_depth_ == 0 && is_grad_enabled();
  reducer_->prepare(sync);
  if (sync && options_.broadcast_buffers && world_size() > 1) {
    const std::vector<Tensor> all = buffers();
    if (!all.empty()) detail::broadcast_agreed(all, 0, "DistributedDataParallel's broadcast of rank 0's buffers");
  }
  return (*module_)(input);
}

std::string DistributedDataParallel::extra_repr() const {
  return fmt::format("{} processes, {} buckets, bucket_cap_mb={}", world_size(), reducer_->info().size(),
                     options_.bucket_cap_mb);
}

const std::vector<BucketInfo>& DistributedDataParallel::buckets() const { return reducer_->info(); }

ReductionTimeline DistributedDataParallel::last_timeline() const { return reducer_->timeline(); }

void DistributedDataParallel::on_train(bool on) { module_->train(on); }

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp) { ++ddp_.no_sync_depth_; }
DistributedDataParallel::NoSync::~NoSync() { --ddp_.no_sync_depth_; }

}  // namespace xgrad::distributed
