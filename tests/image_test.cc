#include "image/image.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cstring>
#include <random>

#include "core/error.h"

namespace glyph {
namespace {

PageImage pattern(int w, int h, int channels) {
  PageImage img(w, h, channels);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int v = (x * 37 + y * 91 + (x * y) % 13 * 7) & 255;
      if (channels == 1) {
        img.row(y)[x] = static_cast<uint8_t>(v);
      } else {
        img.row(y)[3 * x] = static_cast<uint8_t>(v);
        img.row(y)[3 * x + 1] = static_cast<uint8_t>(255 - v);
        img.row(y)[3 * x + 2] = static_cast<uint8_t>(v / 2);
      }
    }
  }
  return img;
}

std::vector<uint8_t> bytes_of(std::initializer_list<int> v) {
  return {v.begin(), v.end()};
}

// The deterministic deflaters keep per-thread state between pages (compressors, buffers): a page's
// bytes must not depend on what the thread encoded before, or renders with N threads would differ.
TEST(png, bytes_do_not_depend_on_what_the_thread_encoded_before) {
  PageImage text_like(300, 200, 1, 255);
  for (int y = 0; y < 200; ++y)
    for (int x = 0; x < 300; ++x)
      if ((x / 7 + y / 11) % 3 == 0)
        text_like.pixels[y * 300 + x] = static_cast<uint8_t>((x * y) % 256);
  const PageImage other = pattern(300, 200, 1);
  for (const PngOptions options : {PngOptions{}, png_options_named("small")}) {
    const std::string first = encode_png(text_like, options);
    encode_png(other, options);
    encode_png(pattern(97, 501, 1), options);
    EXPECT_EQ(encode_png(text_like, options), first);
  }
}

TEST(png, round_trips_gray_and_rgb_with_every_filter) {
  for (int channels : {1, 3}) {
    const PageImage img = pattern(37, 11, channels);
    for (PngFilter f :
         {PngFilter::none, PngFilter::sub, PngFilter::up, PngFilter::paeth, PngFilter::adaptive}) {
      for (const auto& [deflate, level] :
           {std::pair{PngDeflate::isal, 0}, std::pair{PngDeflate::isal, 1},
            std::pair{PngDeflate::isal, 3}, std::pair{PngDeflate::libdeflate, 0},
            std::pair{PngDeflate::libdeflate, 1}, std::pair{PngDeflate::libdeflate, 6},
            std::pair{PngDeflate::libdeflate, 12}}) {
        const PageImage back = decode_png(encode_png(img, {deflate, level, f}));
        ASSERT_EQ(back.channels, channels);
        ASSERT_EQ(back.width_px, 37);
        ASSERT_EQ(back.height_px, 11);
        EXPECT_EQ(back.pixels, img.pixels)
            << "filter " << int(f) << " deflate " << int(deflate) << " level " << level;
      }
    }
  }
}

TEST(png, encoding_is_deterministic_and_writes_the_expected_header) {
  const PageImage img = pattern(20, 9, 1);
  const std::string a = encode_png(img);
  EXPECT_EQ(a, encode_png(img));
  ASSERT_GT(a.size(), 33u);
  EXPECT_EQ(a.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(a.substr(12, 4), "IHDR");
  EXPECT_EQ(static_cast<unsigned char>(a[24]), 8);  // bit depth
  EXPECT_EQ(static_cast<unsigned char>(a[25]), 0);  // gray
  EXPECT_EQ(a.substr(a.size() - 8, 4), "IEND");
}

TEST(png, libpng_reads_our_output_with_valid_crcs) {
  // libpng verifies every chunk CRC and the zlib Adler-32 while reading.
  const PageImage img = pattern(64, 40, 3);
  const std::string bytes = encode_png(img);
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) << png.message;
  png.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(png));
  ASSERT_TRUE(png_image_finish_read(&png, nullptr, pixels.data(), 0, nullptr)) << png.message;
  EXPECT_EQ(pixels, img.pixels);
}

TEST(png, rejects_inconsistent_images) {
  PageImage img(4, 4, 1);
  img.pixels.pop_back();
  EXPECT_THROW(encode_png(img), Error);
  EXPECT_THROW(encode_png(PageImage{}), Error);
  EXPECT_THROW(encode_png(PageImage(2, 2, 1), {PngDeflate::libdeflate, 13, PngFilter::sub}), Error);
  EXPECT_THROW(encode_png(PageImage(2, 2, 1), {PngDeflate::isal, 4, PngFilter::sub}), Error);
  EXPECT_THROW(encode_png(PageImage(2, 2, 1), {PngDeflate::isal, -1, PngFilter::sub}), Error);
}

TEST(png, decode_rejects_garbage_and_truncation_with_clear_errors) {
  try {
    decode_png("not a png at all");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_NE(std::string(e.what()).find("signature"), std::string::npos);
  }
  const std::string good =
      encode_png(pattern(30, 30, 1), {PngDeflate::libdeflate, 6, PngFilter::sub});
  try {
    decode_png(good.substr(0, good.size() / 2));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
  }
  std::string corrupt = good;
  corrupt[40] ^= 0x55;  // inside IDAT: a bad CRC
  EXPECT_THROW(decode_png(corrupt), Error);
}

TEST(png, decode_refuses_images_over_the_pixel_cap_before_allocating) {
  // A 3000 x 2000 all-white image compresses to a few kilobytes: a small decompression bomb.
  PageImage big(3000, 2000, 1, 255);
  const std::string bytes = encode_png(big, {PngDeflate::libdeflate, 6, PngFilter::up});
  big = PageImage{};
  EXPECT_LT(bytes.size(), 20000u);
  try {
    decode_png(bytes, 5'000'000);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::limit_exceeded);
    EXPECT_NE(std::string(e.what()).find("3000x2000"), std::string::npos);
  }
  EXPECT_EQ(decode_png(bytes, 6'000'000).width_px, 3000);
}

TEST(png, decode_composites_alpha_over_white) {
  // A 2x1 gray+alpha image written with libpng: transparent black, opaque black.
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = 2;
  png.height = 1;
  png.format = PNG_FORMAT_GA;
  const uint8_t pixels[4] = {0, 0, 0, 255};
  png_alloc_size_t size = 0;
  ASSERT_TRUE(png_image_write_to_memory(&png, nullptr, &size, 0, pixels, 0, nullptr));
  std::string bytes(size, '\0');
  ASSERT_TRUE(png_image_write_to_memory(&png, bytes.data(), &size, 0, pixels, 0, nullptr));
  const PageImage img = decode_png(bytes);
  ASSERT_EQ(img.channels, 3);
  EXPECT_EQ(img.pixels, bytes_of({255, 255, 255, 0, 0, 0}));
}

TEST(resize_area, averages_exact_blocks) {
  PageImage img(4, 2, 1);
  img.pixels = bytes_of({0, 100, 200, 255, 50, 50, 0, 1});
  const PageImage half = resize_area(img, 2, 1);
  EXPECT_EQ(half.pixels, bytes_of({50, 114}));  // (0+100+50+50)/4, (200+255+0+1)/4 = 114
}

TEST(resize_area, weights_fractional_coverage) {
  PageImage img(3, 1, 1);
  img.pixels = bytes_of({0, 90, 180});
  // Two output pixels each cover 1.5 source pixels: (0 + 0.5*90)/1.5 = 30, (0.5*90 + 180)/1.5 =
  // 150.
  EXPECT_EQ(resize_area(img, 2, 1).pixels, bytes_of({30, 150}));
}

TEST(resize_area, keeps_a_uniform_image_uniform_and_handles_rgb) {
  PageImage img(101, 57, 3, 200);
  const PageImage small = resize_area(img, 13, 7);
  EXPECT_EQ(small.width_px, 13);
  EXPECT_EQ(small.height_px, 7);
  for (uint8_t v : small.pixels) EXPECT_EQ(v, 200);
  EXPECT_THROW(resize_area(img, 0, 5), Error);
}

// Expected values produced by Pillow 9.4: Image.fromarray(pattern).resize(size).
TEST(resize_bicubic, matches_pillow_default_resize) {
  const PageImage img = pattern(9, 4, 1);
  EXPECT_EQ(resize_bicubic(img, 6, 4).pixels,
            bytes_of({11,  63, 121, 186, 147, 17,  104, 177, 151, 31,  112, 174,
                      209, 99, 82,  171, 216, 224, 34,  116, 213, 218, 43,  115}));
  EXPECT_EQ(resize_bicubic(img, 13, 4).pixels,
            bytes_of({0,   17,  46,  71,  97,  122, 148, 174, 211, 213, 41,  7,   42,
                      88,  111, 145, 176, 225, 168, 11,  33,  72,  102, 133, 167, 190,
                      179, 221, 198, 36,  48,  95,  130, 165, 205, 232, 197, 214, 246,
                      13,  43,  88,  129, 169, 212, 249, 241, 140, 14,  57,  108, 138}));
  EXPECT_EQ(resize_bicubic(img, 5, 3).pixels,
            bytes_of({34, 115, 129, 149, 57, 165, 134, 91, 149, 204, 87, 120, 215, 126, 131}));
  EXPECT_EQ(resize_bicubic(img, 4, 7).pixels,
            bytes_of({17,  102, 195, 46, 55,  125, 141, 83,  123, 158, 59, 150, 168, 114,
                      115, 205, 174, 80, 189, 218, 95,  155, 173, 126, 46, 202, 158, 70}));
  EXPECT_EQ(
      resize_bicubic(pattern(9, 4, 3), 7, 4).pixels,
      bytes_of({6,   249, 3,   53,  202, 26,  100, 155, 50,  148, 107, 74,  211, 44,  105, 99,  156,
                49,  20,  235, 10,  98,  157, 48,  153, 102, 76,  214, 41,  106, 39,  216, 19,  64,
                191, 32,  125, 130, 62,  180, 75,  90,  204, 51,  102, 142, 113, 71,  49,  206, 24,
                130, 125, 65,  201, 54,  100, 210, 45,  105, 230, 25,  115, 26,  229, 13,  99,  156,
                49,  175, 80,  87,  250, 5,   125, 150, 105, 75,  38,  217, 19,  125, 130, 62}));
}

TEST(fit_within_pixels, keeps_aspect_and_respects_the_cap) {
  const PixelSize same = fit_within_pixels(100, 50, 5000);
  EXPECT_EQ(same.width_px, 100);
  EXPECT_EQ(same.height_px, 50);
  const PixelSize s = fit_within_pixels(595, 842, 100000);
  EXPECT_LE(int64_t{s.width_px} * s.height_px, 100000);
  EXPECT_GT(int64_t{s.width_px} * s.height_px, 99000);
  EXPECT_NEAR(double(s.width_px) / s.height_px, 595.0 / 842.0, 0.01);
  const PixelSize thin = fit_within_pixels(100000, 1, 10);
  EXPECT_EQ(thin.width_px, 10);
  EXPECT_EQ(thin.height_px, 1);
  const PageImage small = downscale_to_fit(PageImage(400, 300, 1, 7), 1200);
  EXPECT_LE(small.width_px * small.height_px, 1200);
  EXPECT_EQ(small.pixels.front(), 7);
}

TEST(crop, clips_to_the_image) {
  const PageImage img = pattern(10, 8, 3);
  const PageImage c = crop(img, 7, 6, 10, 10);
  EXPECT_EQ(c.width_px, 3);
  EXPECT_EQ(c.height_px, 2);
  EXPECT_EQ(c.row(1)[0], img.row(7)[21]);
  EXPECT_TRUE(crop(img, 20, 0, 5, 5).empty());
}

TEST(color, gray_conversion_matches_pillow_luma) {
  // Values checked against Pillow's convert("L"), including ones the decimal formula rounds
  // differently.
  EXPECT_EQ(luma_601(255, 255, 255), 255);
  EXPECT_EQ(luma_601(255, 0, 0), 76);
  EXPECT_EQ(luma_601(0, 255, 0), 150);
  EXPECT_EQ(luma_601(0, 0, 255), 29);
  PageImage rgb(1, 1, 3);
  rgb.pixels = bytes_of({10, 20, 30});
  EXPECT_EQ(to_gray(rgb).pixels, bytes_of({18}));
  EXPECT_EQ(to_rgb(to_gray(rgb)).pixels, bytes_of({18, 18, 18}));
}

TEST(base64, encodes_rfc4648_vectors_and_decodes_them_back) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain);
  }
  EXPECT_EQ(base64_decode("Zm9v\nYmE"), "fooba");
  std::string all(256, '\0');
  for (int i = 0; i < 256; ++i) all[i] = static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(base64, names_the_offset_of_a_bad_character) {
  try {
    base64_decode("Zm9v*mFy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_NE(std::string(e.what()).find("offset 4"), std::string::npos);
  }
  EXPECT_THROW(base64_decode("Zm9vY"), Error);
}

}  // namespace
}  // namespace glyph
