#pragma once
/// \file io.hpp
/// Weights on disk: safetensors files (Hugging Face's format, readable by
/// PyTorch's `safetensors.torch.load_file`), PyTorch checkpoints (torch.save of a
/// state_dict, read without Python) and training checkpoints.
///
///   xgrad::save(*net, "lenet.safetensors");
///   xgrad::load(*net, "lenet.safetensors");   // strict: every name and shape must match
///   xgrad::load(*resnet, "resnet18-f37072fd.pth");  // torchvision weights
///
/// A safetensors file is an 8-byte little-endian header length N, N bytes of
/// JSON naming each tensor's dtype ("F32", "F64", "I64"), shape and byte range,
/// then the raw little-endian data. Saves are atomic (a temporary file renamed
/// over the target); loads check the whole file before returning anything, and
/// throw IOError naming the file and the problem when it is missing, truncated
/// or malformed.

#include <cstdint>
#include <map>
#include <string>

#include "xgrad/nn/module.hpp"

namespace xgrad {

/// Writes `tensors` (any layout; stored contiguous, in the given order) and
/// string `metadata` to `path`. Names must be unique; "__metadata__" is reserved.
void save_safetensors(const nn::StateDict& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads every tensor of a safetensors file, in file order. When `metadata` is
/// given it receives the file's "__metadata__" (empty when there is none).
nn::StateDict load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

/// Saves module.state_dict() (parameters and persistent buffers).
void save(const nn::Module& module, const std::string& path);

/// Reads a file written by `torch.save(model.state_dict(), path)`: the zip format
/// of PyTorch >= 1.6 and the legacy one (`_use_new_zipfile_serialization=False`).
/// Tensors come back contiguous, in the file's order: f32, f64 and i64 as stored,
/// f16 and bf16 as f32, i32/i16/i8/u8/bool as i64. Dicts inside the dict are
/// flattened with dotted names ("model.conv1.weight"); values that are not tensors
/// (an epoch, a list) are skipped. The pickle is read by a restricted unpickler that
/// runs no code: any Python global other than collections.OrderedDict, the
/// torch._utils tensor and parameter rebuilders and the torch.*Storage types is an
/// IOError naming it, as are a whole pickled model and a TorchScript archive (both
/// say to save the state_dict instead), and sizes the file cannot back.
nn::StateDict load_torch(const std::string& path);

/// Loads a file written by save(), by PyTorch's torch.save(state_dict) (see
/// load_torch) or any safetensors file into `module`; the format is told from the
/// file's first bytes. Tensors are converted to the module's dtypes (an f64 or
/// f16 file loads into an f32 module), as PyTorch's load_state_dict does. The file
/// is read and checked completely first, and load_state_dict changes nothing on a
/// mismatch, so a failed load leaves the module as it was. With strict = false,
/// names missing from the file or unknown to the module are skipped.
void load(nn::Module& module, const std::string& path, bool strict = true);

/// Everything needed to resume training.
struct Checkpoint {
  nn::StateDict model;      ///< module.state_dict()
  nn::StateDict optimizer;  ///< the optimiser's state_dict()
  std::int64_t epoch = 0;
  std::string rng_state;                     ///< default_generator().state()
  std::map<std::string, std::string> extra;  ///< anything else the caller wants kept
};

/// Writes `checkpoint` as one safetensors file: tensors named "model.<name>" and
/// "optimizer.<name>", epoch, rng_state and extra in its metadata.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

/// Reads a file written by save_checkpoint. Restoring the random stream is the
/// caller's choice: `default_generator().set_state(checkpoint.rng_state)`.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace xgrad
