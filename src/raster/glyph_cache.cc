#include "raster/glyph_cache.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace glyph::detail {

struct GlyphCache::Font {
  FT_Face face = nullptr;
  uint32_t glyph_count = 0;
  bool fractional = false;  // quarter-pixel x buckets in use
  FT_Matrix matrix{};
  std::unique_ptr<std::atomic<SlotBlock*>[]> blocks;  // ceil(glyph_count / 64)
  std::vector<std::unique_ptr<SlotBlock>> owned_blocks;
  std::deque<GlyphBitmap> store;  // owns the bitmaps; never moves them
};

namespace {
// Splash's rounding: floor(x + 0.5).
int splash_round(double x) {
  return static_cast<int>(std::floor(x + 0.5));
}

const GlyphBitmap& blank_bitmap() {
  static const GlyphBitmap blank;
  return blank;
}
}  // namespace

GlyphCache::GlyphCache(const FontSet& fonts, double pixel_size, bool antialias)
    : pixel_size_(pixel_size), antialias_(antialias) {
  if (!(pixel_size > 0) || pixel_size > 10000) {
    throw Error(ErrorCode::invalid_config,
                "font size in pixels " + std::to_string(pixel_size) + " is outside (0, 10000]");
  }
  FT_Library library = nullptr;
  if (FT_Init_FreeType(&library) != 0)
    throw Error(ErrorCode::internal, "FreeType failed to initialize");
  library_ = library;
  const int size_px = std::max(1, splash_round(pixel_size));
  for (int i = 0; i < fonts.font_count(); ++i) {
    auto font = std::make_unique<Font>();
    const std::string_view data = fonts.font_data(i);
    if (FT_New_Memory_Face(library, reinterpret_cast<const FT_Byte*>(data.data()),
                           static_cast<FT_Long>(data.size()), fonts.face_index(i),
                           &font->face) != 0) {
      throw Error(ErrorCode::unsupported, fonts.font_path(i) + ": FreeType cannot open this font");
    }
    FT_Face face = font->face;
    if (FT_Set_Pixel_Sizes(face, 0, static_cast<FT_UInt>(size_px)) != 0 && FT_IS_SCALABLE(face)) {
      throw Error(ErrorCode::unsupported, fonts.font_path(i) + ": cannot size the font to " +
                                              std::to_string(size_px) + " px");
    }
    const FT_Fixed scale = static_cast<FT_Fixed>(pixel_size / size_px * 65536);
    font->matrix = {scale, 0, 0, scale};
    // Splash disables x fractions when the font's bounding box, at this size, plus 3 rows of
    // padding is taller than 50 pixels.
    const int upem = face->units_per_EM > 0 ? face->units_per_EM : 1000;
    const double div = face->bbox.xMax > 20000 ? 65536.0 : 1.0;
    int y_min = static_cast<int>(pixel_size * face->bbox.yMin / (div * upem));
    int y_max = static_cast<int>(pixel_size * face->bbox.yMax / (div * upem));
    if (y_max == y_min) y_min = 0, y_max = static_cast<int>(1.2 * size_px);
    font->fractional = antialias && (y_max - y_min + 3) <= 50;
    font->glyph_count = static_cast<uint32_t>(std::max<FT_Long>(face->num_glyphs, 0));
    font->blocks =
        std::make_unique<std::atomic<SlotBlock*>[]>((size_t{font->glyph_count} >> kBlockBits) + 1);
    fast_.push_back({font->blocks.get(), font->glyph_count, font->fractional});
    fonts_.push_back(std::move(font));
  }
}

GlyphCache::~GlyphCache() {
  for (auto& font : fonts_) {
    if (font->face) FT_Done_Face(font->face);
  }
  if (library_) FT_Done_FreeType(static_cast<FT_Library>(library_));
}

namespace {
std::mutex& render_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

const GlyphBitmap& GlyphCache::get_slow(int font_index, uint32_t glyph_id, int bucket) const {
  if (font_index < 0 || static_cast<size_t>(font_index) >= fonts_.size()) return blank_bitmap();
  Font& font = *fonts_[static_cast<size_t>(font_index)];
  if (glyph_id >= font.glyph_count) return blank_bitmap();
  // One mutex for all misses: they are rare (each glyph and bucket once per Renderer) and FreeType
  // faces of one library must not be used concurrently.
  std::lock_guard<std::mutex> lock(render_mutex());
  std::atomic<SlotBlock*>& block_ptr = font.blocks[glyph_id >> kBlockBits];
  SlotBlock* block = block_ptr.load(std::memory_order_acquire);
  if (!block) {
    font.owned_blocks.push_back(std::make_unique<SlotBlock>());
    block = font.owned_blocks.back().get();
    block_ptr.store(block, std::memory_order_release);
  }
  std::atomic<const GlyphBitmap*>& slot =
      block->slots[((glyph_id & (kBlockGlyphs - 1)) << 2) | static_cast<size_t>(bucket & 3)];
  if (const GlyphBitmap* hit = slot.load(std::memory_order_acquire)) return *hit;
  font.store.push_back(render(font, glyph_id, bucket & 3));
  slot.store(&font.store.back(), std::memory_order_release);
  rendered_.fetch_add(1, std::memory_order_relaxed);
  return font.store.back();
}

size_t GlyphCache::rendered_count() const {
  return rendered_.load(std::memory_order_relaxed);
}

GlyphBitmap GlyphCache::render(Font& font, uint32_t glyph_id, int bucket) const {
  GlyphBitmap out;
  out.mono = !antialias_;
  FT_Face face = font.face;
  FT_Vector offset{static_cast<FT_Pos>(static_cast<int>(bucket * 0.25 * 64)), 0};
  FT_Set_Transform(face, &font.matrix, &offset);
  FT_Int32 flags = FT_LOAD_NO_HINTING;
  if (antialias_) flags |= FT_LOAD_NO_BITMAP;
  if (FT_Load_Glyph(face, glyph_id, flags) != 0) return out;
  if (FT_Render_Glyph(face->glyph, antialias_ ? FT_RENDER_MODE_NORMAL : FT_RENDER_MODE_MONO) != 0)
    return out;
  const FT_Bitmap& bm = face->glyph->bitmap;
  if (bm.width == 0 || bm.rows == 0) return out;
  const bool mono_source = bm.pixel_mode == FT_PIXEL_MODE_MONO;
  if (!mono_source && bm.pixel_mode != FT_PIXEL_MODE_GRAY) return out;  // colour bitmaps: not drawn
  out.mono = mono_source;
  out.left = face->glyph->bitmap_left;
  out.top = face->glyph->bitmap_top;
  out.width = static_cast<int>(bm.width);
  out.height = static_cast<int>(bm.rows);
  out.pitch = mono_source ? (out.width + 7) / 8 : out.width;
  out.data.resize(static_cast<size_t>(out.pitch) * out.height);
  for (int y = 0; y < out.height; ++y) {
    const unsigned char* src =
        bm.pitch >= 0 ? bm.buffer + static_cast<ptrdiff_t>(y) * bm.pitch
                      : bm.buffer + static_cast<ptrdiff_t>(out.height - 1 - y) * -bm.pitch;
    std::memcpy(out.data.data() + static_cast<size_t>(y) * out.pitch, src,
                static_cast<size_t>(out.pitch));
  }
  return out;
}

}  // namespace glyph::detail
