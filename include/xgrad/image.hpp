#pragma once
/// \file image.hpp
/// Images in (PNG through libpng, JPEG through libjpeg-turbo) and out (PNG through
/// stb_image_write), and pictures of what a network
/// computes: maps as coloured heatmaps over an image, image grids, feature maps.
///
///   Tensor map = xgrad::saliency::grad_cam(*net, "layer3", input, label);     // [H, W] in [0, 1]
///   xgrad::write_png(xgrad::overlay_heatmap(image, map), "gradcam.png");       // image [C, H, W]
///   xgrad::write_png(xgrad::feature_map_grid(activation, 16, 4), "maps.png");  // activation [1, C, h, w]
///
/// The picture functions are for display: plain loops over the values that
/// record nothing on the tape (inputs that require grad are read as they are;
/// results never require grad). Results have the dtype of the (first) input.

#include <cstdint>
#include <string>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// Reads a PNG or JPEG file as an f32 tensor [C, H, W] with values in [0, 1].
/// `channels` 0 keeps the file's channel count (1 gray, 2 gray + alpha, 3 RGB,
/// 4 RGBA); 1, 3 or 4 converts (e.g. 3 drops alpha, 1 takes the luma). Files from
/// elsewhere are safe to read: images over 2^27 pixels, or larger than the file
/// could encode, are refused before anything is decoded. Throws IOError naming the
/// file and the reason (also for CMYK JPEGs and other formats).
Tensor read_image(const std::string& path, int channels = 0);

/// Writes [C, H, W] (C = 1, 3 or 4) or [H, W] as an 8-bit PNG, values clamped to
/// [0, 1] (NaN as 0). Atomic: written to a temporary file, then renamed, so a
/// failure never leaves a half-written image. Throws IOError on failure.
void write_png(const Tensor& image, const std::string& path);

/// Colour scales for maps in [0, 1]: matplotlib's viridis (perceptually uniform,
/// readable in grey and by colour-blind readers) and jet (blue - cyan - yellow -
/// red: the classic heatmap of the CAM papers), and grey (the value itself).
enum class Colormap { viridis, jet, gray };

/// [H, W] values in [0, 1] (clamped; NaN as 0) -> [3, H, W] RGB in [0, 1].
/// Throws ShapeError unless the map is 2-D.
Tensor apply_colormap(const Tensor& map, Colormap colormap = Colormap::jet);

/// The map [H, W] (values in [0, 1]) coloured and blended over `image` [C, H, W]
/// (C = 1 or 3; grey is replicated to RGB): (1 - alpha) * image + alpha * colour,
/// [3, H, W]. Throws ShapeError when the sizes differ, ValueError for an alpha
/// outside [0, 1].
Tensor overlay_heatmap(const Tensor& image, const Tensor& map, double alpha = 0.5, Colormap colormap = Colormap::jet);

/// Declared in this order for designated initialisers.
struct GridOptions {
  std::int64_t nrow = 8;     ///< images per row
  std::int64_t padding = 2;  ///< pixels between the images and around them
  bool normalize = false;    ///< min-max scale to [0, 1] (flat: 0) ...
  bool scale_each = false;   ///< ... each image on its own instead of the whole batch
  double pad_value = 0.0;
};

/// As torchvision.utils.make_grid: images [B, C, H, W] (C = 1 or 3; 1 is
/// replicated to 3) tiled `nrow` per row, `padding` pixels of pad_value between
/// and around them -> [3, rows * (H + padding) + padding, min(nrow, B) * (W +
/// padding) + padding]. As torchvision's, a batch of one image comes back as
/// that image [3, H, W], without padding. Throws ShapeError for another shape
/// or no pixels, ValueError for nrow < 1 or padding < 0.
Tensor make_grid(const Tensor& images, const GridOptions& options = {});

/// The feature maps of one activation [1, C, h, w] or [C, h, w] (the first
/// max_maps of the C) as one grey picture: each map min-max scaled on its own
/// (a flat map becomes 0), upscaled `scale` times (nearest neighbour), tiled
/// `nrow` per row with 2 white pixels between and around them (make_grid) ->
/// [3, H, W]. Throws ShapeError for another shape or no values, ValueError for
/// max_maps, scale or nrow < 1.
Tensor feature_map_grid(const Tensor& activation, std::int64_t max_maps = 64, std::int64_t scale = 1,
                        std::int64_t nrow = 8);

}  // namespace xgrad
