#include "raster/draw.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace glyph::detail {

Ink ink_for(Rgb color, int channels) {
  if (channels == 1) {
    const uint8_t g = luma_601(color.r, color.g, color.b);
    return {{g, g, g}};
  }
  return {{color.r, color.g, color.b}};
}

void fill_rect(PageImage& image, int x0, int y0, int x1, int y1, Ink ink) {
  x0 = std::clamp(x0, 0, image.width_px);
  x1 = std::clamp(x1, 0, image.width_px);
  y0 = std::clamp(y0, 0, image.height_px);
  y1 = std::clamp(y1, 0, image.height_px);
  if (x0 >= x1 || y0 >= y1) return;
  for (int y = y0; y < y1; ++y) {
    uint8_t* row = image.row(y);
    if (image.channels == 1) {
      std::memset(row + x0, ink.v[0], static_cast<size_t>(x1 - x0));
    } else {
      for (int x = x0; x < x1; ++x) std::memcpy(row + 3 * x, ink.v, 3);
    }
  }
}

void fill_rect_snapped(PageImage& image, double x0, double y0, double x1, double y1, Ink ink) {
  if (x1 < x0) std::swap(x0, x1);
  if (y1 < y0) std::swap(y0, y1);
  int ix0 = static_cast<int>(std::floor(x0 + 0.5)), ix1 = static_cast<int>(std::floor(x1 + 0.5));
  int iy0 = static_cast<int>(std::floor(y0 + 0.5)), iy1 = static_cast<int>(std::floor(y1 + 0.5));
  if (ix1 == ix0) ++ix1;
  if (iy1 == iy0) ++iy1;
  fill_rect(image, ix0, iy0, ix1, iy1, ink);
}

namespace {

// (255 - a) * d + a * s, divided by 255 with truncation, exactly (for values up to 255 * 255).
inline uint8_t blend(uint8_t d, uint8_t s, unsigned a) {
  return static_cast<uint8_t>(((255u - a) * d + a * s) / 255u);
}

#if defined(__SSE2__)
// blend() of 8 pixels in 16-bit lanes: x = (255 - a) * d + a * s <= 65025, and x / 255 truncated
// is (x * 0x8081) >> 23 exactly for every x below 65536.
inline void blend8(uint8_t* dst, const uint8_t* coverage, uint8_t ink) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i a =
      _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(coverage)), zero);
  const __m128i d = _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(dst)), zero);
  const __m128i x = _mm_add_epi16(_mm_mullo_epi16(_mm_sub_epi16(_mm_set1_epi16(255), a), d),
                                  _mm_mullo_epi16(a, _mm_set1_epi16(ink)));
  const __m128i q =
      _mm_srli_epi16(_mm_mulhi_epu16(x, _mm_set1_epi16(static_cast<short>(0x8081))), 7);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packus_epi16(q, q));
}
#endif

}  // namespace

void draw_glyph(PageImage& image, const GlyphBitmap& glyph, int pen_x, int baseline_y, Ink ink) {
  if (glyph.data.empty()) return;
  const int left = pen_x + glyph.left;
  const int top = baseline_y - glyph.top;
  const int gx0 = std::max(0, -left), gy0 = std::max(0, -top);
  const int gx1 = std::min(glyph.width, image.width_px - left);
  const int gy1 = std::min(glyph.height, image.height_px - top);
  if (gx0 >= gx1 || gy0 >= gy1) return;
  const int ch = image.channels;
  for (int gy = gy0; gy < gy1; ++gy) {
    const uint8_t* src = glyph.data.data() + static_cast<size_t>(gy) * glyph.pitch;
    uint8_t* dst = image.row(top + gy) + static_cast<size_t>(left) * ch;
    if (glyph.mono) {
      for (int gx = gx0; gx < gx1; ++gx) {
        if (src[gx >> 3] & (0x80 >> (gx & 7)))
          std::memcpy(dst + gx * ch, ink.v, static_cast<size_t>(ch));
      }
    } else if (ch == 1) {
      const uint8_t s = ink.v[0];
      int gx = gx0;
#if defined(__SSE2__)
      // 8 pixels at a time while they lie inside the image row. Coverage past the glyph's width is
      // 0 (the bitmap's zero padding), and a coverage of 0 leaves the pixel as it is.
      const int vector_end = std::min(gx1, image.width_px - left - 7);
      for (; gx < vector_end; gx += 8) blend8(dst + gx, src + gx, s);
#endif
      for (; gx < gx1; ++gx) {
        const unsigned a = src[gx];
        if (a) dst[gx] = blend(dst[gx], s, a);
      }
    } else {
      for (int gx = gx0; gx < gx1; ++gx) {
        const unsigned a = src[gx];
        if (!a) continue;
        uint8_t* p = dst + 3 * gx;
        p[0] = blend(p[0], ink.v[0], a);
        p[1] = blend(p[1], ink.v[1], a);
        p[2] = blend(p[2], ink.v[2], a);
      }
    }
  }
}

namespace {

// Python's round(): half to even.
int round_half_even(double v) {
  const double r = std::nearbyint(v);  // default rounding mode: to nearest, ties to even
  return static_cast<int>(r);
}

}  // namespace

CropResult reference_crop_size(const PageImage& image, bool crop_width, bool crop_bottom,
                               double margin_x, double margin_y) {
  CropResult out{image.width_px, image.height_px};
  if ((!crop_width && !crop_bottom) || image.empty()) return out;
  const int ch = image.channels;
  auto gray_at = [&](int x, int y) -> int {
    const uint8_t* p = image.row(y) + static_cast<size_t>(x) * ch;
    return ch == 1 ? p[0] : luma_601(p[0], p[1], p[2]);
  };
  // numpy's median of the 2x2 corner (of what exists): the mean of the middle values.
  int corner[4] = {0, 0, 0, 0};
  int n = 0;
  for (int y = 0; y < std::min(2, image.height_px); ++y)
    for (int x = 0; x < std::min(2, image.width_px); ++x) corner[n++] = gray_at(x, y);
  for (int i = 1; i < n; ++i)  // insertion sort of at most 4 values
    for (int j = i; j > 0 && corner[j - 1] > corner[j]; --j) std::swap(corner[j - 1], corner[j]);
  const double background = (n % 2) ? corner[n / 2] : (corner[n / 2 - 1] + corner[n / 2]) / 2.0;
  // Content: |gray - background| > 5, i.e. gray outside [background - 5, background + 5].
  auto is_content = [&](int g) { return std::abs(g - background) > 5.0; };
  bool content_lut[256];
  for (int g = 0; g < 256; ++g) content_lut[g] = is_content(g);

  int last_col = -1, last_row = -1;
  auto content_at = [&](const uint8_t* row, int x) {
    return content_lut[ch == 1 ? row[x] : luma_601(row[3 * x], row[3 * x + 1], row[3 * x + 2])];
  };
  for (int y = 0; y < image.height_px; ++y) {
    const uint8_t* row = image.row(y);
    // From the right: only a column past last_col can move it.
    int x = image.width_px - 1;
    while (x > last_col && !content_at(row, x)) --x;
    if (x > last_col) {
      last_col = x;
      last_row = y;
      continue;
    }
    if (crop_bottom) {
      while (x >= 0 && !content_at(row, x)) --x;
      if (x >= 0) last_row = y;
    }
  }
  if (crop_width && last_col >= 0) {
    out.width_px = std::min(image.width_px, round_half_even(last_col + 1 + margin_x));
  }
  if (crop_bottom && last_row >= 0) {
    out.height_px = std::min(image.height_px, round_half_even(last_row + margin_y));
  }
  out.width_px = std::max(out.width_px, 1);
  out.height_px = std::max(out.height_px, 1);
  return out;
}

}  // namespace glyph::detail
