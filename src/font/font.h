// FontSet: the main font of a config plus its fallback chain, with the per-character advance
// widths the layout needs and HarfBuzz shaping for the unicode wrap mode.
//
// Widths follow ReportLab exactly (pdfbase/ttfonts.py): a character's width is the hmtx advance
// of the glyph its cmap names, times 1000 / unitsPerEm, unrounded, in 1/1000 em; a character the
// font lacks takes glyph 0's advance; U+00A0 takes the space's width. No kerning is applied (the
// reference applies none). Line widths are sums of these in text order, times size / 1000.
//
// Character resolution: a character comes from the first font of the chain (main font first)
// whose cmap has it; a character no font has is drawn as the main font's glyph 0 (.notdef, a
// visible box) and counted as missing by the layout.
//
// Fallback fonts are opened lazily: the main font when the FontSet is built, a fallback font (and
// its FreeType face) only when a character misses in every font before it. A fallback file with an
// sfnt signature is only mapped at construction (a missing file is still reported then); should
// FreeType fail on it later, the lookup that needed it throws Error(unsupported).
//
// Thread safety: every const method is safe to call from any thread. Characters are resolved on
// first lookup under a mutex and read without locks afterwards. face() returns the FontSet's own
// FT_Face, which FreeType does not allow to be used from two threads at once; a rasterizer working
// in several threads opens its own faces from font_data()/face_index() (FT_New_Memory_Face on the
// shared, immutable bytes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

struct FT_FaceRec_;
typedef struct FT_FaceRec_* FT_Face;
struct FT_LibraryRec_;
typedef struct FT_LibraryRec_* FT_Library;

namespace glyph {

// Where a character is drawn from: which font of the set, which glyph, and its ReportLab width.
struct CharGlyph {
  uint16_t font_index = 0;  // 0 = main font, 1.. = fallback fonts in order
  bool missing = false;     // no font of the set has the character (drawn as main-font .notdef)
  uint32_t glyph_id = 0;
  double width_milli_em = 0;  // advance in 1/1000 em: what the layout uses (see FallbackMetrics)
  double glyph_width_milli_em = 0;  // the glyph's own advance in its font, 1/1000 em
};

// One glyph of a shaped run (unicode wrap mode).
struct ShapedGlyph {
  uint16_t font_index = 0;
  uint32_t glyph_id = 0;
  uint32_t cluster =
      0;  // index (code points) into the shaped text of the first char of its cluster
  double x_advance_pt = 0, x_offset_pt = 0, y_offset_pt = 0;
};

class FontSet {
 public:
  // Opens config.font_path and maps config.fallback_fonts (each "path" or "path#face").
  // Throws Error(not_found) naming the path of a missing font; Error(unsupported) for a file
  // FreeType cannot read as a font (for a fallback with an sfnt signature: at its first use).
  explicit FontSet(const RenderConfig& config);
  // An explicit list of fonts (first = main) at a size, for tests and tools.
  FontSet(const std::vector<std::string>& font_specs, double size_pt,
          FallbackMetrics metrics = FallbackMetrics::reference);
  ~FontSet();
  FontSet(const FontSet&) = delete;
  FontSet& operator=(const FontSet&) = delete;

  int font_count() const;
  double size_pt() const { return size_pt_; }
  const std::string& font_path(int font_index) const;
  int face_index(int font_index) const;
  // The bytes of the font file, shared and immutable (for FT_New_Memory_Face per thread).
  std::string_view font_data(int font_index) const;  // memory-mapped, lives as long as the FontSet
  int units_per_em(int font_index) const;
  // Ascent/descent of the main font in points at size_pt (ReportLab's face.ascent/descent).
  double ascent_pt() const;
  double descent_pt() const;  // negative below the baseline

  // The glyph and ReportLab width of a character; cheap (table lookup once the character has been
  // seen), thread-safe.
  CharGlyph lookup(char32_t c) const;
  double width_pt(char32_t c) const { return lookup(c).width_milli_em * size_pt_ * 0.001; }
  // ReportLab's stringWidth: sum of widths in 1/1000 em, then * size / 1000.
  double string_width_pt(std::u32string_view text) const;

  // HarfBuzz shaping of a run (one direction, fonts chosen per character as lookup() does).
  std::vector<ShapedGlyph> shape(std::u32string_view text) const;

  // The FontSet's FreeType face; not for concurrent use (see the header comment).
  FT_Face face(int font_index) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  double size_pt_ = 0;
  FallbackMetrics metrics_ = FallbackMetrics::reference;
};

}  // namespace glyph
