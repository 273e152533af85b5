// Checkpoints: one safetensors file. Tensors are named "model.<name>" and
// "optimizer.<name>"; the scalars live in the metadata under "xgrad." keys and
// the caller's extras under "extra." keys, so no name can clash with another.

#include <charconv>
#include <optional>
#include <utility>

#include "util/check.hpp"
#include "xgrad/io.hpp"
#include "xgrad/random.hpp"

namespace xgrad {

using detail::fail;

namespace {

constexpr std::string_view kModelPrefix = "model.";
constexpr std::string_view kOptimizerPrefix = "optimizer.";
constexpr std::string_view kExtraPrefix = "extra.";
const std::string kFormatKey = "xgrad.checkpoint";
const std::string kFormatVersion = "1";
const std::string kEpochKey = "xgrad.epoch";
const std::string kRngStateKey = "xgrad.rng_state";

void append_prefixed(nn::StateDict& out, const nn::StateDict& tensors, std::string_view prefix) {
  for (const auto& [name, t] : tensors) out.emplace_back(std::string(prefix) + name, t);
}

// The rest of `name` after `prefix`, when it starts with it.
std::optional<std::string> strip(const std::string& name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  return name.substr(prefix.size());
}

const std::string& required(const std::map<std::string, std::string>& metadata, const std::string& key,
                            const std::string& path) {
  const auto it = metadata.find(key);
  if (it == metadata.end()) fail<IOError>("load_checkpoint: '{}': the metadata has no \"{}\"", path, key);
  return it->second;
}

std::int64_t parse_epoch(const std::string& text, const std::string& path) {
  std::int64_t epoch = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), epoch);
  if (error != std::errc() || end != text.data() + text.size() || text.empty())
    fail<IOError>("load_checkpoint: '{}': the epoch \"{}\" is not an integer", path, text);
  return epoch;
}

void check_rng_state(const std::string& state, const std::string& path) {
  if (state.empty()) return;  // saved without one
  try {
    Generator().set_state(state);
  } catch (const ValueError&) {
    fail<IOError>("load_checkpoint: '{}': rng_state is not a saved generator state", path);
  }
}

}  // namespace

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  nn::StateDict tensors;
  append_prefixed(tensors, checkpoint.model, kModelPrefix);
  append_prefixed(tensors, checkpoint.optimizer, kOptimizerPrefix);
  std::map<std::string, std::string> metadata{{kFormatKey, kFormatVersion},
                                              {kEpochKey, std::to_string(checkpoint.epoch)},
                                              {kRngStateKey, checkpoint.rng_state}};
  for (const auto& [key, value] : checkpoint.extra) metadata.emplace(std::string(kExtraPrefix) + key, value);
  save_safetensors(tensors, path, metadata);
}

Checkpoint load_checkpoint(const std::string& path) {
  std::map<std::string, std::string> metadata;
  const nn::StateDict tensors = load_safetensors(path, &metadata);
  const auto format = metadata.find(kFormatKey);
  if (format == metadata.end())
    fail<IOError>("load_checkpoint: '{}' is not an xgrad checkpoint (its metadata has no \"{}\")", path, kFormatKey);
  if (format->second != kFormatVersion)
    fail<IOError>("load_checkpoint: '{}' has checkpoint format version \"{}\"; this xgrad reads version {}", path,
                  format->second, kFormatVersion);

  Checkpoint checkpoint;
  for (const auto& [name, t] : tensors) {
    if (auto model_name = strip(name, kModelPrefix)) {
      checkpoint.model.emplace_back(std::move(*model_name), t);
    } else if (auto optimizer_name = strip(name, kOptimizerPrefix)) {
      checkpoint.optimizer.emplace_back(std::move(*optimizer_name), t);
    } else {
      fail<IOError>("load_checkpoint: '{}': tensor \"{}\" belongs to neither \"{}\" nor \"{}\"", path, name,
                    kModelPrefix, kOptimizerPrefix);
    }
  }
  checkpoint.epoch = parse_epoch(required(metadata, kEpochKey, path), path);
  checkpoint.rng_state = required(metadata, kRngStateKey, path);
  check_rng_state(checkpoint.rng_state, path);
  for (const auto& [key, value] : metadata) {
    if (auto extra_key = strip(key, kExtraPrefix)) {
      checkpoint.extra.emplace(std::move(*extra_key), value);
    } else if (key != kFormatKey && key != kEpochKey && key != kRngStateKey) {
      fail<IOError>("load_checkpoint: '{}': unknown metadata key \"{}\"", path, key);
    }
  }
  return checkpoint;
}

}  // namespace xgrad
