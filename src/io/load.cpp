// xgrad::load: weights from any supported file into a module.

#include <unordered_map>

#include "io/formats.hpp"
#include "util/check.hpp"
#include "xgrad/io.hpp"

namespace xgrad {

void load(nn::Module& module, const std::string& path, bool strict) {
  nn::StateDict state =
      detail::torch_format(path) == detail::TorchFormat::none ? load_safetensors(path) : load_torch(path);
  // As PyTorch's load_state_dict, which copies into each tensor: f64 or f16 weights
  // load into an f32 module. Shapes must still match.
  std::unordered_map<std::string, Tensor> own;
  for (const auto& [name, t] : module.state_dict()) own.emplace(name, t);
  for (auto& [name, t] : state) {
    const auto it = own.find(name);
    if (it != own.end() && t.shape() == it->second.shape() && t.dtype() != it->second.dtype())
      t = t.to(it->second.dtype());
  }
  try {
    module.load_state_dict(state, strict);
  } catch (const ValueError& e) {
    detail::fail<ValueError>("load: '{}': {}", path, e.what());
  }
}

}  // namespace xgrad
