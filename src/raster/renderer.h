// Renderer: text → page layout → page images, at the config's dpi, as the reference pipeline
// (ReportLab → PDF → pdftoppm → crops) would draw them.
//
// A Renderer loads its fonts once; every const method is safe to call from several threads at
// once (glyph bitmaps are cached and shared, see raster/glyph_cache.h). Pages are independent
// once laid out, so render_to_directory lays them out one at a time (PageLayouter) while other
// threads rasterize, encode and write the pages already laid out: memory holds a bounded number
// of pages (layouts and images), not the document.
//
// Drawing, in order: page background (whole page), paragraph backgrounds, paragraph borders,
// text glyphs (and page markers), all in one pass per page; then the reference's post-processing
// on the finished image: auto-crop-width (every page), auto-crop-last-page (last page),
// auto-crop-height (every page a break left short: PageLayout::cut_short; an extension), and the
// horizontal scale (width × scale, rounded; Pillow's default bicubic filter; the reference script
// applies no scale at all, the Glyph config says to).
//
// Output colour: 8-bit gray when config.gray_output(), else RGB. Same bytes for the same text,
// config and fonts whatever the thread count.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "font/font.h"
#include "image/image.h"
#include "layout/layout.h"

namespace glyph {

namespace detail {
class GlyphCache;
}

// A box in pixels of a page image (x to the right, y down).
struct PixelRect {
  double x0_px = 0, y0_px = 0, x1_px = 0, y1_px = 0;
};

struct RasterPage {
  PageImage image;
  std::vector<PixelRect> line_boxes;  // one per line of the page, in pixels of `image`
};

struct RenderOptions {
  int threads = 0;  // 0 = hardware concurrency
  PngOptions png;
  // Called on the calling thread after each page is written, in page order: (pages written,
  // total pages). The total is exact once the layout has finished (always at the last call);
  // before that it is an estimate from the share of the text laid out (more than pages written).
  // What it throws stops the render (workers joined, layout.json not written) and propagates.
  std::function<void(size_t, size_t)> on_page_written;
};

struct RenderResult {
  size_t pages = 0;
  size_t chars = 0;                // code points of the text as rendered
  size_t missing_glyph_chars = 0;  // characters no font has (drawn as the .notdef box)
  size_t fallback_chars = 0;       // characters drawn from a fallback font
  // The calling thread's time laying out (overlapping the rasterizing threads' work), and the
  // rest of the wall clock (waiting for rasterize + encode + write; layout.json).
  double layout_seconds = 0;
  double raster_seconds = 0;
  std::vector<std::string> page_files;  // OUTDIR/page_001.png ...
  std::string layout_json_path;         // OUTDIR/layout.json
};

class Renderer {
 public:
  // Opens the config's fonts. Throws Error(not_found) for a missing font, Error(invalid_config)
  // for values that cannot be drawn (dpi or page size out of range).
  // count_tokens is needed when config.max_text_tokens_per_page > 0 (see lay_out in
  // layout/layout.h; the tokens module's text_token_counter() makes one from a tokenizer).
  explicit Renderer(RenderConfig config, TextTokenCounter count_tokens = {});
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  const RenderConfig& config() const { return config_; }
  const FontSet& fonts() const { return *fonts_; }
  // Size of an uncropped page in pixels: ceil(points × dpi / 72), as pdftoppm sizes its pages.
  int page_width_px() const { return page_width_px_; }
  int page_height_px() const { return page_height_px_; }

  Layout lay_out(std::u32string_view text) const;

  // The finished page image (crops and scale applied) and its line boxes in its pixels.
  RasterPage rasterize_page(const Layout& layout, size_t page_index) const;
  // The same for a page from PageLayouter (its `last` flag selects auto-crop-last-page; its
  // `cut_short` flag, auto-crop-height).
  RasterPage rasterize_page(const PageLayout& page) const;
  PageImage rasterize(const Layout& layout, size_t page_index) const {
    return rasterize_page(layout, page_index).image;
  }
  // Line boxes of a page in pixels of an image rasterize() returned for it (its size tells the
  // crop and scale applied).
  std::vector<PixelRect> line_boxes_px(const Layout& layout, size_t page_index,
                                       const PageImage& image) const;
  std::vector<PixelRect> line_boxes_px(const PageLayout& page, const PageImage& image) const;

  // Lays out `text` page by page and writes OUTDIR/page_001.png, page_002.png, ... and
  // OUTDIR/layout.json:
  //   {"chars": N, "dpi": D, "pages": [{"page": 1, "width": W, "height": H, "char_start": a,
  //    "char_end": b, "lines": [{"text": "...", "char_start": c, "char_end": d,
  //    "bbox": [x0, y0, x1, y1]}]}]}
  // Offsets are code points of `text`; a line's "text" is exactly text[c, d) (its closing space or
  // newline included); boxes in pixels of that page's image, 2 decimals. Creates OUTDIR; stale
  // page files of an earlier run beyond the new page count are removed. Throws Error(io) naming
  // the file that could not be written.
  RenderResult render_to_directory(std::u32string_view text, const std::string& outdir,
                                   const RenderOptions& options = {}) const;

 private:
  RasterPage rasterize_page(const PageLayout& page, bool last, double page_height_pt) const;

  RenderConfig config_;
  TextTokenCounter count_tokens_;
  std::unique_ptr<FontSet> fonts_;
  std::unique_ptr<detail::GlyphCache> glyphs_;
  int page_width_px_ = 0, page_height_px_ = 0;
  double px_per_pt_ = 1;
};

}  // namespace glyph
