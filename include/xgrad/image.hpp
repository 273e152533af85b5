#pragma once
/// \file image.hpp
/// Images in and out (through Debian's libstb): for filters, feature maps and
/// saliency maps.

#include <string>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// Reads a PNG, JPEG, BMP, GIF, TGA or PNM file as an f32 tensor [C, H, W] with
/// values in [0, 1]. `channels` 0 keeps the file's channel count; 1, 3 or 4
/// converts (e.g. 3 drops alpha). Throws IOError naming the file and the reason.
Tensor read_image(const std::string& path, int channels = 0);

/// Writes [C, H, W] (C = 1, 3 or 4) or [H, W] as an 8-bit PNG, values clamped to
/// [0, 1] (NaN as 0). Atomic: written to a temporary file, then renamed, so a
/// failure never leaves a half-written image. Throws IOError on failure.
void write_png(const Tensor& image, const std::string& path);

}  // namespace xgrad
