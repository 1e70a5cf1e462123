#include "font/font.h"

#include <fcntl.h>
#include <ft2build.h>
#include <hb.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <new>
#include <unordered_map>
#include FT_FREETYPE_H
#include FT_ADVANCES_H
#include FT_TRUETYPE_TABLES_H

#include "core/error.h"

namespace glyph {
namespace {

// A read-only memory map of a font file, shared by FreeType and HarfBuzz.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (!std::filesystem::exists(path))
        throw Error(ErrorCode::not_found, "font file not found: " + path);
      throw Error(ErrorCode::io, "cannot open font file: " + path);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
      ::close(fd);
      throw Error(ErrorCode::unsupported, "not a font file (empty or not a regular file): " + path);
    }
    size_ = static_cast<size_t>(st.st_size);
    void* data = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (data == MAP_FAILED) throw Error(ErrorCode::io, "cannot map font file: " + path);
    data_ = static_cast<const char*>(data);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view bytes() const { return {data_, size_}; }

 private:
  std::string path_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// sfnt signatures: TrueType, OpenType/CFF, Apple 'true', and TrueType collections ('ttcf').
// A file with one of these is opened by FreeType only when first needed; anything else is opened
// at once, so that a file FreeType cannot read is reported when the FontSet is built.
bool has_sfnt_signature(std::string_view bytes) {
  if (bytes.size() < 12) return false;
  const std::string_view tag = bytes.substr(0, 4);
  return tag == std::string_view("\x00\x01\x00\x00", 4) || tag == "OTTO" || tag == "true" ||
         tag == "ttcf";
}

uint32_t read_u32(std::string_view bytes, size_t at) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// A character's resolution packed into 8 bytes, so that the table can be read with one atomic load:
// glyph id (bits 0-31), hmtx advance in font units (32-47), state (48-55: 0 = not yet resolved,
// 1 = found, 2 = missing), font index (56-63).
constexpr uint64_t kFound = 1, kMissing = 2;
constexpr uint64_t pack(uint64_t font_index, uint64_t state, uint64_t advance, uint64_t glyph_id) {
  return glyph_id | (advance << 32) | (state << 48) | (font_index << 56);
}
struct Unpacked {
  uint16_t font_index;
  bool missing;
  uint16_t advance;
  uint32_t glyph_id;
};
inline Unpacked unpack(uint64_t v) {
  return {static_cast<uint16_t>(v >> 56), ((v >> 48) & 0xFF) == kMissing,
          static_cast<uint16_t>(v >> 32), static_cast<uint32_t>(v)};
}

struct FreeDeleter {
  void operator()(uint64_t* p) const { std::free(p); }
};

}  // namespace

// Fonts are opened lazily: the main font when the FontSet is built, a fallback font when a
// character misses in every font before it (a CJK fallback costs ~1.5 ms to open and index, which
// text without such characters never needs). Characters are resolved on first lookup and kept in a
// table read without locks; everything that touches FreeType runs under `mutex`.
struct FontSet::Impl {
  struct Font {
    std::string path;
    int face_index = 0;
    std::unique_ptr<MappedFile> file;
    FT_Face face = nullptr;  // set under the mutex, published by `opened`
    int units_per_em = 1000;
    std::atomic<bool> opened{false};
    std::atomic<hb_font_t*> hb_font{nullptr};
  };
  FT_Library library = nullptr;
  std::vector<std::unique_ptr<Font>> fonts;
  std::mutex mutex;
  // Basic Multilingual Plane: 65,536 packed entries, zero (unresolved) until first looked up.
  // calloc leaves the untouched pages unmapped: a text pays only for the blocks of characters it
  // uses.
  std::unique_ptr<uint64_t, FreeDeleter> bmp;
  std::unordered_map<char32_t, uint64_t> astral;  // guarded by the mutex
  uint64_t missing_entry = 0;
  double ascent_milli_em = 0, descent_milli_em = 0;

  ~Impl() {
    for (auto& font : fonts) {
      if (hb_font_t* hb = font->hb_font.load()) hb_font_destroy(hb);
      if (font->face) FT_Done_Face(font->face);
    }
    if (library) FT_Done_FreeType(library);
  }

  void open(const std::vector<std::string>& specs) {
    if (FT_Init_FreeType(&library) != 0)
      throw Error(ErrorCode::internal, "FreeType failed to initialize");
    for (const std::string& spec : specs) {
      FontFileRef ref = parse_font_ref(spec);
      bool duplicate = false;
      for (const auto& f : fonts)
        duplicate = duplicate || (f->path == ref.path && f->face_index == ref.face_index);
      if (duplicate) continue;
      if (fonts.size() >= 250)
        throw Error(ErrorCode::limit_exceeded, "more than 250 fonts in the fallback chain");
      auto font = std::make_unique<Font>();
      font->path = ref.path;
      font->face_index = ref.face_index;
      font->file = std::make_unique<MappedFile>(ref.path);
      const std::string_view bytes = font->file->bytes();
      const bool collection = bytes.size() >= 12 && bytes.substr(0, 4) == "ttcf";
      const bool lazy = !fonts.empty() && has_sfnt_signature(bytes) &&
                        (collection ? ref.face_index >= 0 &&
                                          static_cast<uint32_t>(ref.face_index) < read_u32(bytes, 8)
                                    : ref.face_index == 0);
      fonts.push_back(std::move(font));
      if (!lazy) open_face(fonts.size() - 1);
    }
    if (fonts.empty()) throw Error(ErrorCode::invalid_config, "no font given");
    bmp.reset(static_cast<uint64_t*>(std::calloc(65536, sizeof(uint64_t))));
    if (!bmp) throw std::bad_alloc();

    const Font& main = *fonts[0];
    missing_entry = pack(0, kMissing, advance(main, 0), 0);
    // ReportLab: U+00A0 is drawn and measured as the space (or the reverse) when the main font has
    // it.
    if (const FT_UInt space = FT_Get_Char_Index(main.face, 0x20)) {
      bmp.get()[0x20] = bmp.get()[0xA0] = pack(0, kFound, advance(main, space), space);
    } else if (const FT_UInt nbsp = FT_Get_Char_Index(main.face, 0xA0)) {
      bmp.get()[0x20] = bmp.get()[0xA0] = pack(0, kFound, advance(main, nbsp), nbsp);
    }
    // ReportLab's ascent/descent: OS/2 sTypoAscender/Descender when present, else hhea.
    auto* os2 = static_cast<TT_OS2*>(FT_Get_Sfnt_Table(main.face, FT_SFNT_OS2));
    auto* hhea = static_cast<TT_HoriHeader*>(FT_Get_Sfnt_Table(main.face, FT_SFNT_HHEA));
    double ascent = main.face->ascender, descent = main.face->descender;
    if (os2 && os2->version != 0xFFFF && (os2->sTypoAscender != 0 || os2->sTypoDescender != 0)) {
      ascent = os2->sTypoAscender;
      descent = os2->sTypoDescender;
    } else if (hhea) {
      ascent = hhea->Ascender;
      descent = hhea->Descender;
    }
    ascent_milli_em = ascent * 1000.0 / main.units_per_em;
    descent_milli_em = descent * 1000.0 / main.units_per_em;
  }

  // Opens font `index` with FreeType; the caller holds the mutex (or is the constructor).
  Font& open_face(size_t index) {
    Font& font = *fonts[index];
    if (font.opened.load(std::memory_order_acquire)) return font;
    if (FT_New_Memory_Face(library, reinterpret_cast<const FT_Byte*>(font.file->data()),
                           static_cast<FT_Long>(font.file->size()), font.face_index,
                           &font.face) != 0) {
      font.face = nullptr;
      throw Error(ErrorCode::unsupported, "not a font FreeType can read (face " +
                                              std::to_string(font.face_index) + "): " + font.path);
    }
    if (FT_Select_Charmap(font.face, FT_ENCODING_UNICODE) != 0) {
      FT_Done_Face(font.face);
      font.face = nullptr;
      throw Error(ErrorCode::unsupported, "font has no Unicode character map: " + font.path);
    }
    font.units_per_em = font.face->units_per_EM > 0 ? font.face->units_per_EM : 1000;
    font.opened.store(true, std::memory_order_release);
    return font;
  }

  Font& opened_font(size_t index) {
    Font& font = *fonts.at(index);
    if (font.opened.load(std::memory_order_acquire)) return font;
    std::lock_guard<std::mutex> lock(mutex);
    return open_face(index);
  }

  // The hmtx advance of a glyph in font units, clamped to 16 bits; the caller holds the mutex.
  static uint16_t advance(const Font& font, FT_UInt glyph_id) {
    FT_Fixed value = 0;
    if (glyph_id >= static_cast<FT_UInt>(std::max<FT_Long>(font.face->num_glyphs, 1))) glyph_id = 0;
    if (FT_Get_Advance(font.face, glyph_id, FT_LOAD_NO_SCALE, &value) != 0) return 0;
    return static_cast<uint16_t>(std::clamp<FT_Fixed>(value, 0, 65535));
  }

  uint64_t find(char32_t c) {
    if (c < 65536) {
      const uint64_t v = std::atomic_ref<uint64_t>(bmp.get()[c]).load(std::memory_order_acquire);
      if (v) return v;
    } else if (c > 0x10FFFF) {
      return missing_entry;
    }
    return resolve(c);
  }

  // The first font of the chain whose cmap has `c` (fallbacks opened as they are reached).
  uint64_t resolve(char32_t c) {
    std::lock_guard<std::mutex> lock(mutex);
    if (c < 65536) {
      if (const uint64_t v =
              std::atomic_ref<uint64_t>(bmp.get()[c]).load(std::memory_order_relaxed))
        return v;
    } else if (auto it = astral.find(c); it != astral.end()) {
      return it->second;
    }
    uint64_t entry = missing_entry;
    for (size_t index = 0; index < fonts.size(); ++index) {
      Font& font = open_face(index);
      if (const FT_UInt glyph_id = FT_Get_Char_Index(font.face, c)) {
        entry = pack(index, kFound, advance(font, glyph_id), glyph_id);
        break;
      }
    }
    if (c < 65536)
      std::atomic_ref<uint64_t>(bmp.get()[c]).store(entry, std::memory_order_release);
    else
      astral.emplace(c, entry);
    return entry;
  }

  hb_font_t* hb_font(size_t index) {
    Font& font = opened_font(index);
    if (hb_font_t* hb = font.hb_font.load(std::memory_order_acquire)) return hb;
    std::lock_guard<std::mutex> lock(mutex);
    if (hb_font_t* hb = font.hb_font.load(std::memory_order_acquire)) return hb;
    // From the mapped bytes, not the FT_Face: HarfBuzz then never calls into FreeType while
    // shaping.
    hb_blob_t* blob = hb_blob_create(font.file->data(), static_cast<unsigned>(font.file->size()),
                                     HB_MEMORY_MODE_READONLY, nullptr, nullptr);
    hb_face_t* face = hb_face_create(blob, static_cast<unsigned>(font.face_index));
    hb_blob_destroy(blob);
    hb_font_t* hb = hb_font_create(face);
    hb_face_destroy(face);
    hb_font_set_scale(hb, font.units_per_em, font.units_per_em);
    font.hb_font.store(hb, std::memory_order_release);
    return hb;
  }
};

FontSet::FontSet(const RenderConfig& config)
    : impl_(std::make_unique<Impl>()),
      size_pt_(config.font_size_pt),
      metrics_(config.fallback_metrics) {
  std::vector<std::string> specs{config.font_path};
  specs.insert(specs.end(), config.fallback_fonts.begin(), config.fallback_fonts.end());
  impl_->open(specs);
}

FontSet::FontSet(const std::vector<std::string>& font_specs, double size_pt,
                 FallbackMetrics metrics)
    : impl_(std::make_unique<Impl>()), size_pt_(size_pt), metrics_(metrics) {
  impl_->open(font_specs);
}

FontSet::~FontSet() = default;

int FontSet::font_count() const {
  return static_cast<int>(impl_->fonts.size());
}
const std::string& FontSet::font_path(int i) const {
  return impl_->fonts.at(static_cast<size_t>(i))->path;
}
int FontSet::face_index(int i) const {
  return impl_->fonts.at(static_cast<size_t>(i))->face_index;
}
std::string_view FontSet::font_data(int i) const {
  return impl_->fonts.at(static_cast<size_t>(i))->file->bytes();
}
int FontSet::units_per_em(int i) const {
  return impl_->opened_font(static_cast<size_t>(i)).units_per_em;
}
FT_Face FontSet::face(int i) const {
  return impl_->opened_font(static_cast<size_t>(i)).face;
}
double FontSet::ascent_pt() const {
  return impl_->ascent_milli_em * size_pt_ * 0.001;
}
double FontSet::descent_pt() const {
  return impl_->descent_milli_em * size_pt_ * 0.001;
}

CharGlyph FontSet::lookup(char32_t c) const {
  const Unpacked entry = unpack(impl_->find(c));
  CharGlyph out;
  out.font_index = entry.font_index;
  out.missing = entry.missing;
  out.glyph_id = entry.glyph_id;
  // The entry was published after its font was opened: units_per_em is set.
  out.glyph_width_milli_em = entry.advance * 1000.0 / impl_->fonts[entry.font_index]->units_per_em;
  out.width_milli_em = out.glyph_width_milli_em;
  if (entry.font_index != 0 && metrics_ == FallbackMetrics::reference)
    out.width_milli_em =
        unpack(impl_->missing_entry).advance * 1000.0 / impl_->fonts[0]->units_per_em;
  return out;
}

double FontSet::string_width_pt(std::u32string_view text) const {
  double sum = 0;
  for (char32_t c : text) sum += lookup(c).width_milli_em;
  return 0.001 * size_pt_ * sum;
}

std::vector<ShapedGlyph> FontSet::shape(std::u32string_view text) const {
  std::vector<ShapedGlyph> out;
  size_t start = 0;
  hb_buffer_t* buffer = hb_buffer_create();
  while (start < text.size()) {
    // A run: characters drawn from one font. Combining marks and joiners stay with their base.
    const uint16_t font_index = unpack(impl_->find(text[start])).font_index;
    size_t end = start + 1;
    while (end < text.size()) {
      const char32_t c = text[end];
      const bool attaches = (c >= 0x300 && c <= 0x36F) || c == 0x200D || c == 0x200C ||
                            (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0020 && c <= 0xE007F) ||
                            (c >= 0x1F3FB && c <= 0x1F3FF);
      if (!attaches && unpack(impl_->find(c)).font_index != font_index) break;
      ++end;
    }
    hb_font_t* hb_font = impl_->hb_font(font_index);
    const int units_per_em = impl_->fonts[font_index]->units_per_em;
    hb_buffer_clear_contents(buffer);
    hb_buffer_add_utf32(buffer, reinterpret_cast<const uint32_t*>(text.data()),
                        static_cast<int>(text.size()), static_cast<unsigned>(start),
                        static_cast<int>(end - start));
    hb_buffer_guess_segment_properties(buffer);
    hb_shape(hb_font, buffer, nullptr, 0);
    unsigned count = 0;
    const hb_glyph_info_t* info = hb_buffer_get_glyph_infos(buffer, &count);
    const hb_glyph_position_t* pos = hb_buffer_get_glyph_positions(buffer, &count);
    const double scale = size_pt_ / units_per_em;
    for (unsigned i = 0; i < count; ++i) {
      ShapedGlyph g;
      g.font_index = font_index;
      g.glyph_id = info[i].codepoint;
      g.cluster = info[i].cluster;
      g.x_advance_pt = pos[i].x_advance * scale;
      g.x_offset_pt = pos[i].x_offset * scale;
      g.y_offset_pt = pos[i].y_offset * scale;
      out.push_back(g);
    }
    start = end;
  }
  hb_buffer_destroy(buffer);
  return out;
}

}  // namespace glyph
