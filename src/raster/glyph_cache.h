// Glyph bitmaps rendered with FreeType the way poppler's pdftoppm (Splash) renders PDF text, cached
// for the life of a Renderer and shared by all its threads. Internal to the raster module.
//
// What pdftoppm does, and so what this does (poppler 22.12, splash/SplashFTFont.cc, Splash.cc):
//   - no hinting (FT_LOAD_NO_HINTING; embedded bitmaps off when anti-aliasing);
//   - the face is sized to round(pixel size) and a 16.16 transform scales it to the exact size;
//   - the pen position is split into an integer pixel and a quarter-pixel x bucket (0..3); the
//     bucket becomes a 26.6 offset of the outline (y is floored, never fractional);
//   - no x buckets when anti-aliasing is off, or when the font's bounding box is taller than
//     50 - 3 pixels at this size (Splash caches large glyphs without fractions);
//   - FT_RENDER_MODE_NORMAL (256-level coverage) or FT_RENDER_MODE_MONO.
// A glyph with a horizontal scale below 1 (a fallback glyph narrowed to the advance the reference
// gives it, PlacedGlyph::x_scale) is rendered with that scale in the FreeType transform.
//
// Thread safety: lookups are lock-free (an atomic pointer per glyph and bucket); a miss renders
// under a mutex, because a FreeType face must not be used by two threads at once. A font's face is
// opened at its first miss, so a fallback font no glyph comes from costs nothing.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "font/font.h"

namespace glyph::detail {

struct GlyphBitmap {
  int left = 0;  // pixel offset of the bitmap's first column from the pen's integer x
  int top = 0;   // rows above the baseline (the bitmap starts at baseline - top)
  int width = 0, height = 0;
  bool mono = false;          // 1 bit per pixel, MSB first (antialias off), else 8-bit coverage
  int pitch = 0;              // bytes per row; 8-bit rows end in at least 8 zero bytes (coverage
                              // 0), so that a row can be read 8 pixels at a time past its width
  std::vector<uint8_t> data;  // empty for blank glyphs (space)
  uint16_t x_scale_q16 = 0xFFFF;  // the horizontal scale it was rendered at (1/65535)
};

class GlyphCache {
 public:
  GlyphCache(const FontSet& fonts, double pixel_size, bool antialias);
  ~GlyphCache();
  GlyphCache(const GlyphCache&) = delete;
  GlyphCache& operator=(const GlyphCache&) = delete;

  // The quarter-pixel bucket (0..3) to use for a pen at x_px of a glyph of `font_index`, and the
  // integer pixel: x_px = pixel + bucket / 4 + rest, as Splash splits it.
  struct PenX {
    int pixel;
    int bucket;
  };
  PenX split_pen_x(int font_index, double x_px) const {
    // floor() by truncation and a correction below zero: std::floor is a slow call sequence
    // without SSE4.1, and this runs for every glyph of every page.
    int pixel = static_cast<int>(x_px);
    pixel -= x_px < pixel;
    const double floor_x = pixel;
    PenX pen{pixel, 0};
    if (static_cast<size_t>(font_index) < fast_.size()) {
      uint8_t fractional =
          fast_[static_cast<size_t>(font_index)].fractional->load(std::memory_order_acquire);
      if (fractional == kUnknown) fractional = open_font(font_index);
      if (fractional == kYes) pen.bucket = std::clamp(static_cast<int>((x_px - floor_x) * 4), 0, 3);
    }
    return pen;
  }

  // The bitmap of a glyph; never null (a glyph FreeType cannot render is blank). x_scale_q16 is
  // the horizontal scale in 1/65535 (PlacedGlyph::x_scale_q16); 0xFFFF = unscaled.
  const GlyphBitmap& get(int font_index, uint32_t glyph_id, int bucket,
                         uint16_t x_scale_q16 = 0xFFFF) const {
    if (static_cast<size_t>(font_index) < fast_.size() && glyph_id <= kMaxGlyphId) {
      const FastPath& f = fast_[static_cast<size_t>(font_index)];
      std::atomic<SlotBlock*>* blocks = x_scale_q16 == 0xFFFF ? f.blocks : f.scaled_blocks;
      if (const SlotBlock* block = blocks[glyph_id >> kBlockBits].load(std::memory_order_acquire)) {
        const size_t slot =
            ((glyph_id & (kBlockGlyphs - 1)) << 2) | static_cast<size_t>(bucket & 3);
        const GlyphBitmap* hit = block->slots[slot].load(std::memory_order_acquire);
        if (hit && hit->x_scale_q16 == x_scale_q16) return *hit;
      }
    }
    return get_slow(font_index, glyph_id, bucket, x_scale_q16);
  }

  double pixel_size() const { return pixel_size_; }
  bool antialias() const { return antialias_; }
  size_t rendered_count() const;  // glyph bitmaps rendered so far (for tests and benchmarks)

 private:
  struct Font;
  // Slots are allocated in blocks of 64 glyphs × 4 buckets when first needed, so that a CJK font
  // of 65,000 glyphs costs 8 KB of block pointers, not megabytes of zeroed slots, at start-up.
  static constexpr int kBlockBits = 6;
  static constexpr uint32_t kBlockGlyphs = 1u << kBlockBits;
  static constexpr uint32_t kMaxGlyphId = 0xFFFF;            // sfnt glyph ids are 16-bit
  static constexpr uint8_t kUnknown = 0, kNo = 1, kYes = 2;  // quarter-pixel buckets in use
  struct SlotBlock {
    std::atomic<const GlyphBitmap*> slots[kBlockGlyphs * 4] = {};
  };
  // Per font, what get() reads without locks; the arrays live in Font and never move.
  struct FastPath {
    std::atomic<SlotBlock*>* blocks;
    std::atomic<SlotBlock*>* scaled_blocks;  // glyphs drawn at one horizontal scale below 1
    std::atomic<uint8_t>* fractional;        // kUnknown until the font's face is opened
  };
  const GlyphBitmap& get_slow(int font_index, uint32_t glyph_id, int bucket,
                              uint16_t x_scale_q16) const;
  uint8_t open_font(int font_index) const;  // opens the face; returns kNo or kYes
  void open_face_locked(Font& font) const;
  GlyphBitmap render(Font& font, uint32_t glyph_id, int bucket, uint16_t x_scale_q16) const;

  const FontSet& font_set_;
  double pixel_size_;
  bool antialias_;
  void* library_ = nullptr;  // FT_Library
  std::vector<std::unique_ptr<Font>> fonts_;
  std::vector<FastPath> fast_;  // per font: the lock-free lookup of get()
  mutable std::atomic<size_t> rendered_{0};
};

}  // namespace glyph::detail
