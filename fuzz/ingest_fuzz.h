// What each ingest fuzz target does with one input, shared with the test that replays the seed
// corpus and past crashers (tests/ingest_fuzz_replay_test.cc). Every input must end in a
// Document or a glyph::Error; anything else (a crash, a sanitizer report, another exception,
// a hang past the per-input time limit, blocks that do not fit the text) is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "ingest/ingest.h"

namespace glyph::fuzz {

// Small caps keep each run fast; the caps themselves are part of what is tested.
inline IngestOptions fuzz_options(const char* format) {
  IngestOptions options;
  options.format_override = format;
  options.limits.max_input_bytes = 4 << 20;
  options.limits.max_pdf_pages = 64;
  options.limits.max_zip_entries = 256;
  options.limits.max_entry_bytes = 8 << 20;
  options.limits.max_uncompressed_bytes = 16 << 20;
  return options;
}

// Blocks out of order, overlapping, empty or past the text are a bug as much as a crash.
inline void check_blocks(const Document& doc) {
  std::size_t covered = 0;
  for (const TextBlock& b : doc.blocks) {
    if (b.begin < covered || b.end <= b.begin || b.end > doc.text.size()) std::abort();
    covered = b.end;
  }
}

inline void read_as(const uint8_t* data, size_t size, const char* format, std::string_view name) {
  try {
    check_blocks(ingest_bytes(std::string_view(reinterpret_cast<const char*>(data), size), name,
                              fuzz_options(format)));
  } catch (const Error&) {
  }
}

inline void pdf_one_input(const uint8_t* data, size_t size) {
  read_as(data, size, "pdf", "fuzz.pdf");
}
inline void docx_one_input(const uint8_t* data, size_t size) {
  read_as(data, size, "docx", "fuzz.docx");
}

// The first byte picks how the rest is read: detected text, Markdown or HTML (all decode the
// encoding first).
inline void text_encoding_one_input(const uint8_t* data, size_t size) {
  if (size == 0) return;
  static const char* const kNames[] = {"fuzz.txt", "fuzz.md", "fuzz.html", "fuzz"};
  read_as(data + 1, size - 1, "", kNames[data[0] % 4]);
}

}  // namespace glyph::fuzz
