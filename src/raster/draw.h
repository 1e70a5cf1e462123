// Drawing primitives and the reference's post-processing, on PageImages. Internal to raster.
#pragma once

#include <cstdint>

#include "config/config.h"
#include "image/image.h"
#include "raster/glyph_cache.h"

namespace glyph::detail {

// The colour as stored in an image of `channels` channels (gray: Pillow's luma; exact for grays).
struct Ink {
  uint8_t v[3];
};
Ink ink_for(Rgb color, int channels);

// Fills pixels [x0, x1) × [y0, y1), clipped to the image.
void fill_rect(PageImage& image, int x0, int y0, int x1, int y1, Ink ink);

// A rectangle given in pixels (fractional) filled as poppler fills a PDF rectangle with stroke
// adjustment on: each edge snaps to the nearest pixel boundary, at least one pixel wide.
void fill_rect_snapped(PageImage& image, double x0, double y0, double x1, double y1, Ink ink);

// Composites a glyph bitmap with its pen at (pen_x, baseline_y) in whole pixels. Coverage a
// blends as Splash does on an opaque page: dst = ((255 - a) * dst + a * ink) / 255, truncated.
void draw_glyph(PageImage& image, const GlyphBitmap& glyph, int pen_x, int baseline_y, Ink ink);

// The reference renderer's crops (reportlab_render.py `crop`), on the finished page: the
// background is the median of the top-left 2×2 pixels (of the gray conversion, as Pillow's "L"),
// a pixel is content when its gray differs from it by more than 5.
//   width:  keep columns [0, last content column + 1 + margin_x_px)
//   bottom: keep rows [0, last content row + margin_y_px)  (sic: the reference adds no +1)
// Margins are the config's margin-x / margin-y numbers used as pixels, rounded half to even as
// Python's round() does in PIL's crop. A page without content is left as it is.
struct CropResult {
  int width_px;
  int height_px;
};
CropResult reference_crop_size(const PageImage& image, bool crop_width, bool crop_bottom,
                               double margin_x, double margin_y);

}  // namespace glyph::detail
