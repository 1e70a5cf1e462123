#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "image/image.h"

namespace glyph {
namespace {

void check_target(const PageImage& image, int width_px, int height_px, const char* what) {
  if (width_px < 1 || height_px < 1 || image.empty()) {
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + ": cannot resize a " + std::to_string(image.width_px) + "x" +
                    std::to_string(image.height_px) + " image to " + std::to_string(width_px) +
                    "x" + std::to_string(height_px));
  }
}

// For each output index, the source indices it reads and their weights.
struct Taps {
  std::vector<int> first;       // first source index per output index
  std::vector<int> count;       // number of taps per output index
  std::vector<int> offset;      // where its weights start in `weights`
  std::vector<double> weights;  // real weights (area) or 22-bit fixed-point (bicubic), as double
};

Taps area_taps(int in_size, int out_size) {
  Taps taps;
  const double scale = static_cast<double>(in_size) / out_size;
  for (int o = 0; o < out_size; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    const int first = static_cast<int>(std::floor(lo));
    const int last = std::min(in_size - 1, static_cast<int>(std::ceil(hi)) - 1);
    taps.first.push_back(first);
    taps.offset.push_back(static_cast<int>(taps.weights.size()));
    int count = 0;
    for (int i = first; i <= last; ++i) {
      const double w = std::min(hi, i + 1.0) - std::max(lo, static_cast<double>(i));
      taps.weights.push_back(w / scale);
      ++count;
    }
    taps.count.push_back(count);
  }
  return taps;
}

template <typename Pixel>
void apply_rows(const Taps& taps, const Pixel* in, int in_stride, int channels, int rows, int out_w,
                double* out) {
  for (int y = 0; y < rows; ++y) {
    const Pixel* row = in + static_cast<size_t>(y) * in_stride;
    double* o = out + static_cast<size_t>(y) * out_w * channels;
    for (int x = 0; x < out_w; ++x) {
      const double* w = &taps.weights[taps.offset[x]];
      for (int c = 0; c < channels; ++c) {
        double sum = 0;
        for (int k = 0; k < taps.count[x]; ++k)
          sum += w[k] * row[(taps.first[x] + k) * channels + c];
        o[x * channels + c] = sum;
      }
    }
  }
}

// Pillow's bicubic kernel, a = -0.5, support 2.
double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

constexpr int kPrecisionBits = 32 - 8 - 2;

// Coefficients as Pillow's precompute_coeffs + normalize_coeffs_8bpc compute them.
Taps bicubic_taps(int in_size, int out_size) {
  Taps taps;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const double ss = 1.0 / filter_scale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    std::vector<double> k(static_cast<size_t>(std::max(xmax, 0)));
    double total = 0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = bicubic((x + xmin - center + 0.5) * ss);
      total += k[x];
    }
    taps.first.push_back(xmin);
    taps.count.push_back(std::max(xmax, 0));
    taps.offset.push_back(static_cast<int>(taps.weights.size()));
    for (int x = 0; x < xmax; ++x) {
      const double w = total != 0 ? k[x] / total : k[x];
      const double scaled = w * (1 << kPrecisionBits);
      taps.weights.push_back(
          static_cast<double>(static_cast<int>(w < 0 ? scaled - 0.5 : scaled + 0.5)));
    }
  }
  return taps;
}

uint8_t clip8_fixed(int64_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

// One fixed-point pass along x (horizontal = true) or y, with Pillow's rounding.
PageImage bicubic_pass(const PageImage& in, int out_size, bool horizontal) {
  const int in_size = horizontal ? in.width_px : in.height_px;
  const Taps taps = bicubic_taps(in_size, out_size);
  const int ch = in.channels;
  PageImage out(horizontal ? out_size : in.width_px, horizontal ? in.height_px : out_size, ch);
  std::vector<int32_t> w(taps.weights.begin(), taps.weights.end());
  if (horizontal) {
    for (int y = 0; y < in.height_px; ++y) {
      const uint8_t* row = in.row(y);
      uint8_t* o = out.row(y);
      for (int x = 0; x < out_size; ++x) {
        const int32_t* k = &w[taps.offset[x]];
        for (int c = 0; c < ch; ++c) {
          int64_t sum = 1 << (kPrecisionBits - 1);
          for (int i = 0; i < taps.count[x]; ++i)
            sum += int64_t{row[(taps.first[x] + i) * ch + c]} * k[i];
          o[x * ch + c] = clip8_fixed(sum);
        }
      }
    }
  } else {
    const size_t n = in.row_bytes();
    for (int y = 0; y < out_size; ++y) {
      const int32_t* k = &w[taps.offset[y]];
      uint8_t* o = out.row(y);
      for (size_t x = 0; x < n; ++x) {
        int64_t sum = 1 << (kPrecisionBits - 1);
        for (int i = 0; i < taps.count[y]; ++i) sum += int64_t{in.row(taps.first[y] + i)[x]} * k[i];
        o[x] = clip8_fixed(sum);
      }
    }
  }
  return out;
}

}  // namespace

PageImage resize_area(const PageImage& image, int width_px, int height_px) {
  check_target(image, width_px, height_px, "resize_area");
  if (width_px == image.width_px && height_px == image.height_px) return image;
  const int ch = image.channels;
  const Taps tx = area_taps(image.width_px, width_px);
  const Taps ty = area_taps(image.height_px, height_px);
  // Horizontal pass into doubles, then the vertical pass, rounding once at the end.
  std::vector<double> mid(static_cast<size_t>(width_px) * ch * image.height_px);
  apply_rows(tx, image.pixels.data(), static_cast<int>(image.row_bytes()), ch, image.height_px,
             width_px, mid.data());
  PageImage out(width_px, height_px, ch);
  const size_t n = static_cast<size_t>(width_px) * ch;
  std::vector<double> acc(n);
  for (int y = 0; y < height_px; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const double* w = &ty.weights[ty.offset[y]];
    for (int k = 0; k < ty.count[y]; ++k) {
      const double* src = mid.data() + static_cast<size_t>(ty.first[y] + k) * n;
      for (size_t x = 0; x < n; ++x) acc[x] += w[k] * src[x];
    }
    uint8_t* o = out.row(y);
    for (size_t x = 0; x < n; ++x)
      o[x] = static_cast<uint8_t>(std::clamp(std::lround(acc[x]), 0L, 255L));
  }
  return out;
}

PageImage resize_bicubic(const PageImage& image, int width_px, int height_px) {
  check_target(image, width_px, height_px, "resize_bicubic");
  if (width_px == image.width_px && height_px == image.height_px) return image;
  // Pillow resamples horizontally first, then vertically, each pass rounded to 8 bits.
  PageImage out = width_px != image.width_px ? bicubic_pass(image, width_px, true) : image;
  if (height_px != image.height_px) out = bicubic_pass(out, height_px, false);
  return out;
}

PixelSize fit_within_pixels(int width_px, int height_px, int64_t max_pixels) {
  if (width_px < 1 || height_px < 1 || max_pixels < 1) {
    throw Error(ErrorCode::invalid_argument,
                "fit_within_pixels: invalid size " + std::to_string(width_px) + "x" +
                    std::to_string(height_px) + " or limit " + std::to_string(max_pixels));
  }
  if (static_cast<int64_t>(width_px) * height_px <= max_pixels) return {width_px, height_px};
  const double factor =
      std::sqrt(static_cast<double>(max_pixels) / (static_cast<double>(width_px) * height_px));
  int w = std::max(1, static_cast<int>(std::floor(width_px * factor)));
  int h = std::max(1, static_cast<int>(std::floor(height_px * factor)));
  // Floating error can leave the product one row over; shrink the longer side until it fits.
  while (static_cast<int64_t>(w) * h > max_pixels) {
    if (w >= h && w > 1)
      --w;
    else if (h > 1)
      --h;
    else
      break;
  }
  return {w, h};
}

PageImage downscale_to_fit(const PageImage& image, int64_t max_pixels) {
  const PixelSize size = fit_within_pixels(image.width_px, image.height_px, max_pixels);
  return resize_area(image, size.width_px, size.height_px);
}

}  // namespace glyph
