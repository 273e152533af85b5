#pragma once
// Internal: which reader a weights file needs, told from its first bytes.

#include <string>

namespace xgrad::detail {

enum class TorchFormat { none, zip, legacy };

/// zip for "PK\3\4" (torch.save since PyTorch 1.6), legacy for a pickle's PROTO
/// opcode 0x80 (_use_new_zipfile_serialization=False), none for anything else (a
/// safetensors file starts with its header length). `first_bytes` receives up to 8.
TorchFormat torch_format(const std::string& path, std::string* first_bytes = nullptr);

}  // namespace xgrad::detail
