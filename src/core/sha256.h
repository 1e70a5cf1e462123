// SHA-256 (FIPS 180-4), incremental: content keys of the render cache and the OCR cache.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace glyph {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  void update(const void* data, std::size_t size) {
    update(std::string_view(static_cast<const char*>(data), size));
  }
  // The digest as 64 lowercase hex digits. The object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const unsigned char* p);
  std::uint32_t h_[8];
  unsigned char buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace glyph
