// Anomaly mode: a global switch, per-thread labels, and a table of the labels of
// the nodes created while the switch was on (kept beside the nodes, so Node itself
// carries nothing for a mode that is off in every training run).

#include "autograd/anomaly.hpp"

#include <atomic>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "util/check.hpp"

namespace xgrad::autograd {

namespace {

std::atomic<bool> enabled{false};
thread_local std::vector<std::string> labels;

std::mutex table_mutex;
std::unordered_map<const Node*, std::string> table;  // the labels each node was created under
std::atomic<std::size_t> table_size{0};

std::string joined_labels() {
  std::string out;
  for (const std::string& label : labels) out += (out.empty() ? "" : "/") + label;
  return out;
}

// "NaN" or "infinity" when `t` holds one (the first kind found), else nullptr.
const char* non_finite(const Tensor& t) {
  if (!t.defined() || t.dtype() == i64) return nullptr;
  const Tensor values = t.detach().contiguous().to(f64);
  const double* v = values.data<double>();
  for (std::int64_t i = 0; i < values.numel(); ++i)
    if (!std::isfinite(v[i])) return std::isnan(v[i]) ? "NaN" : "infinity";
  return nullptr;
}

}  // namespace

DetectAnomalyGuard::DetectAnomalyGuard(bool on) : previous_(enabled.exchange(on)) {}
DetectAnomalyGuard::~DetectAnomalyGuard() { enabled.store(previous_); }

bool is_anomaly_enabled() { return enabled.load(std::memory_order_relaxed); }

AnomalyLabel::AnomalyLabel(std::string label) { labels.push_back(std::move(label)); }
AnomalyLabel::~AnomalyLabel() { labels.pop_back(); }

namespace detail {

void note_created(const Node& node) {
  if (!is_anomaly_enabled()) return;
  std::lock_guard lock(table_mutex);
  table[&node] = joined_labels();
  table_size.store(table.size(), std::memory_order_relaxed);
}

void note_destroyed(const Node& node) {
  if (table_size.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(table_mutex);
  table.erase(&node);
  table_size.store(table.size(), std::memory_order_relaxed);
}

void check_anomaly(const Node& node, const std::vector<Tensor>& received, const std::vector<Tensor>& returned) {
  for (std::size_t i = 0; i < returned.size(); ++i) {
    const char* kind = non_finite(returned[i]);
    if (!kind) continue;
    std::string label;
    {
      std::lock_guard lock(table_mutex);
      const auto it = table.find(&node);
      if (it != table.end() && !it->second.empty()) label = ", label '" + it->second + "'";
    }
    std::string name = node.name();
    const std::string forward = name.ends_with("Backward") ? name.substr(0, name.size() - 8) : name;
    bool received_finite = true;
    for (const Tensor& g : received) received_finite = received_finite && !non_finite(g);
    xgrad::detail::fail<AutogradError>(
        "detect_anomaly: {} returned {} in its gradient {} of {} (shape {}), for the forward op {} recorded as op "
        "#{}{}; "
        "the gradients it received were {}",
        name, kind, i, returned.size(), xgrad::detail::str(returned[i].shape()), forward, node.sequence_nr(), label,
        received_finite ? "finite (so this op made it)" : "not finite already");
  }
}

}  // namespace detail

}  // namespace xgrad::autograd
