#pragma once
/// \file io.hpp
/// Weights on disk: safetensors files (Hugging Face's format, readable by
/// PyTorch's `safetensors.torch.load_file`) and training checkpoints.
///
///   xgrad::save(*net, "lenet.safetensors");
///   xgrad::load(*net, "lenet.safetensors");   // strict: every name, shape and dtype must match
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

/// Loads a file written by save() (or by PyTorch) into `module`. The file is read
/// and checked completely first, and load_state_dict changes nothing on a
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
