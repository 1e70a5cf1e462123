#include "raster/glyph_cache.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <tuple>

#include "core/error.h"

namespace glyph::detail {

struct GlyphCache::Font {
  int index = 0;
  FT_Face face = nullptr;  // opened at the font's first miss
  uint32_t glyph_count = 0;
  std::atomic<uint8_t> fractional{kUnknown};
  FT_Fixed scale = 0x10000;  // 16.16: exact pixel size / the whole pixel size the face is set to
  std::unique_ptr<std::atomic<SlotBlock*>[]> blocks;         // (kMaxGlyphId >> kBlockBits) + 1
  std::unique_ptr<std::atomic<SlotBlock*>[]> scaled_blocks;  // same, for scaled glyphs
  std::vector<std::unique_ptr<SlotBlock>> owned_blocks;
  std::deque<GlyphBitmap> store;  // owns the bitmaps; never moves them
  // A glyph wanted at a second horizontal scale (never in a layout of the reference metrics,
  // where a glyph's scale depends on the glyph only): (glyph, bucket, scale) → its bitmap.
  std::map<std::tuple<uint32_t, int, uint16_t>, const GlyphBitmap*> other_scales;
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

// One mutex for all misses: they are rare (each glyph and bucket once per Renderer) and FreeType
// faces of one library must not be used concurrently.
std::mutex& render_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

GlyphCache::GlyphCache(const FontSet& fonts, double pixel_size, bool antialias)
    : font_set_(fonts), pixel_size_(pixel_size), antialias_(antialias) {
  if (!(pixel_size > 0) || pixel_size > 10000) {
    throw Error(ErrorCode::invalid_config,
                "font size in pixels " + std::to_string(pixel_size) + " is outside (0, 10000]");
  }
  FT_Library library = nullptr;
  if (FT_Init_FreeType(&library) != 0)
    throw Error(ErrorCode::internal, "FreeType failed to initialize");
  library_ = library;
  constexpr size_t block_count = (size_t{kMaxGlyphId} >> kBlockBits) + 1;
  for (int i = 0; i < fonts.font_count(); ++i) {
    auto font = std::make_unique<Font>();
    font->index = i;
    font->blocks = std::make_unique<std::atomic<SlotBlock*>[]>(block_count);
    font->scaled_blocks = std::make_unique<std::atomic<SlotBlock*>[]>(block_count);
    fast_.push_back({font->blocks.get(), font->scaled_blocks.get(), &font->fractional});
    fonts_.push_back(std::move(font));
  }
  // The main font at once: its errors belong to building the renderer.
  if (!fonts_.empty()) {
    std::lock_guard<std::mutex> lock(render_mutex());
    open_face_locked(*fonts_[0]);
  }
}

GlyphCache::~GlyphCache() {
  for (auto& font : fonts_) {
    if (font->face) FT_Done_Face(font->face);
  }
  if (library_) FT_Done_FreeType(static_cast<FT_Library>(library_));
}

void GlyphCache::open_face_locked(Font& font) const {
  if (font.face) return;
  const int i = font.index;
  const std::string_view data = font_set_.font_data(i);
  FT_Face face = nullptr;
  if (FT_New_Memory_Face(static_cast<FT_Library>(library_),
                         reinterpret_cast<const FT_Byte*>(data.data()),
                         static_cast<FT_Long>(data.size()), font_set_.face_index(i), &face) != 0) {
    throw Error(ErrorCode::unsupported,
                font_set_.font_path(i) + ": FreeType cannot open this font");
  }
  const int size_px = std::max(1, splash_round(pixel_size_));
  if (FT_Set_Pixel_Sizes(face, 0, static_cast<FT_UInt>(size_px)) != 0 && FT_IS_SCALABLE(face)) {
    FT_Done_Face(face);
    throw Error(ErrorCode::unsupported, font_set_.font_path(i) + ": cannot size the font to " +
                                            std::to_string(size_px) + " px");
  }
  font.scale = static_cast<FT_Fixed>(pixel_size_ / size_px * 65536);
  // Splash disables x fractions when the font's bounding box, at this size, plus 3 rows of
  // padding is taller than 50 pixels.
  const int upem = face->units_per_EM > 0 ? face->units_per_EM : 1000;
  const double div = face->bbox.xMax > 20000 ? 65536.0 : 1.0;
  int y_min = static_cast<int>(pixel_size_ * face->bbox.yMin / (div * upem));
  int y_max = static_cast<int>(pixel_size_ * face->bbox.yMax / (div * upem));
  if (y_max == y_min) y_min = 0, y_max = static_cast<int>(1.2 * size_px);
  font.glyph_count =
      static_cast<uint32_t>(std::clamp<FT_Long>(face->num_glyphs, 0, kMaxGlyphId + 1));
  font.face = face;
  font.fractional.store(antialias_ && (y_max - y_min + 3) <= 50 ? kYes : kNo,
                        std::memory_order_release);
}

uint8_t GlyphCache::open_font(int font_index) const {
  Font& font = *fonts_[static_cast<size_t>(font_index)];
  std::lock_guard<std::mutex> lock(render_mutex());
  open_face_locked(font);
  return font.fractional.load(std::memory_order_relaxed);
}

const GlyphBitmap& GlyphCache::get_slow(int font_index, uint32_t glyph_id, int bucket,
                                        uint16_t x_scale_q16) const {
  if (font_index < 0 || static_cast<size_t>(font_index) >= fonts_.size()) return blank_bitmap();
  if (glyph_id > kMaxGlyphId || x_scale_q16 == 0) return blank_bitmap();
  Font& font = *fonts_[static_cast<size_t>(font_index)];
  std::lock_guard<std::mutex> lock(render_mutex());
  open_face_locked(font);
  if (glyph_id >= font.glyph_count) return blank_bitmap();
  bucket &= 3;
  std::atomic<SlotBlock*>& block_ptr =
      (x_scale_q16 == 0xFFFF ? font.blocks : font.scaled_blocks)[glyph_id >> kBlockBits];
  SlotBlock* block = block_ptr.load(std::memory_order_acquire);
  if (!block) {
    font.owned_blocks.push_back(std::make_unique<SlotBlock>());
    block = font.owned_blocks.back().get();
    block_ptr.store(block, std::memory_order_release);
  }
  std::atomic<const GlyphBitmap*>& slot =
      block->slots[((glyph_id & (kBlockGlyphs - 1)) << 2) | static_cast<size_t>(bucket)];
  const GlyphBitmap* hit = slot.load(std::memory_order_acquire);
  if (hit && hit->x_scale_q16 == x_scale_q16) return *hit;
  if (hit) {  // the slot holds this glyph at another scale
    const auto key = std::make_tuple(glyph_id, bucket, x_scale_q16);
    if (auto it = font.other_scales.find(key); it != font.other_scales.end()) return *it->second;
    font.store.push_back(render(font, glyph_id, bucket, x_scale_q16));
    rendered_.fetch_add(1, std::memory_order_relaxed);
    return *(font.other_scales[key] = &font.store.back());
  }
  font.store.push_back(render(font, glyph_id, bucket, x_scale_q16));
  slot.store(&font.store.back(), std::memory_order_release);
  rendered_.fetch_add(1, std::memory_order_relaxed);
  return font.store.back();
}

size_t GlyphCache::rendered_count() const {
  return rendered_.load(std::memory_order_relaxed);
}

GlyphBitmap GlyphCache::render(Font& font, uint32_t glyph_id, int bucket,
                               uint16_t x_scale_q16) const {
  GlyphBitmap out;
  out.mono = !antialias_;
  out.x_scale_q16 = x_scale_q16;
  FT_Face face = font.face;
  FT_Matrix matrix{font.scale, 0, 0, font.scale};
  if (x_scale_q16 != 0xFFFF) {
    matrix.xx = static_cast<FT_Fixed>(std::lround(font.scale * (x_scale_q16 / 65535.0)));
  }
  FT_Vector offset{static_cast<FT_Pos>(static_cast<int>(bucket * 0.25 * 64)), 0};
  FT_Set_Transform(face, &matrix, &offset);
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
  const int row_bytes = mono_source ? (out.width + 7) / 8 : out.width;
  out.pitch = mono_source ? row_bytes : (out.width + 15) & ~7;  // coverage: >= 8 zero bytes after
  out.data.assign(static_cast<size_t>(out.pitch) * out.height, 0);
  for (int y = 0; y < out.height; ++y) {
    const unsigned char* src =
        bm.pitch >= 0 ? bm.buffer + static_cast<ptrdiff_t>(y) * bm.pitch
                      : bm.buffer + static_cast<ptrdiff_t>(out.height - 1 - y) * -bm.pitch;
    std::memcpy(out.data.data() + static_cast<size_t>(y) * out.pitch, src,
                static_cast<size_t>(row_bytes));
  }
  return out;
}

}  // namespace glyph::detail
