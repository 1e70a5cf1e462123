#include "font/font.h"

#include <fcntl.h>
#include <ft2build.h>
#include <hb-ft.h>
#include <hb.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
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
      if (!std::filesystem::exists(path)) throw Error(ErrorCode::not_found, "font file not found: " + path);
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

// 8 bytes per character: font index, missing flag, hmtx advance (font units), glyph id.
struct PackedGlyph {
  uint8_t font_index = 0;
  uint8_t state = 0;  // 0 = not yet resolved (never stored), 1 = found, 2 = missing
  uint16_t advance = 0;
  uint32_t glyph_id = 0;
};

}  // namespace

struct FontSet::Impl {
  struct Font {
    std::string path;
    int face_index = 0;
    std::unique_ptr<MappedFile> file;
    FT_Face face = nullptr;
    hb_font_t* hb_font = nullptr;
    int units_per_em = 1000;
    std::vector<uint16_t> advances;  // hmtx advance of every glyph, font units
  };
  FT_Library library = nullptr;
  std::vector<Font> fonts;
  std::vector<PackedGlyph> bmp;  // 65536 entries
  std::unordered_map<char32_t, PackedGlyph> astral;
  double ascent_milli_em = 0, descent_milli_em = 0;

  ~Impl() {
    for (Font& font : fonts) {
      if (font.hb_font) hb_font_destroy(font.hb_font);
      if (font.face) FT_Done_Face(font.face);
    }
    if (library) FT_Done_FreeType(library);
  }

  void open(const std::vector<std::string>& specs) {
    if (FT_Init_FreeType(&library) != 0) throw Error(ErrorCode::internal, "FreeType failed to initialize");
    for (const std::string& spec : specs) {
      FontFileRef ref = parse_font_ref(spec);
      bool duplicate = false;
      for (const Font& f : fonts) duplicate = duplicate || (f.path == ref.path && f.face_index == ref.face_index);
      if (duplicate) continue;
      if (fonts.size() >= 250) throw Error(ErrorCode::limit_exceeded, "more than 250 fonts in the fallback chain");
      Font font;
      font.path = ref.path;
      font.face_index = ref.face_index;
      font.file = std::make_unique<MappedFile>(ref.path);
      if (FT_New_Memory_Face(library, reinterpret_cast<const FT_Byte*>(font.file->data()),
                             static_cast<FT_Long>(font.file->size()), ref.face_index, &font.face) != 0)
        throw Error(ErrorCode::unsupported, "not a font FreeType can read (face " + std::to_string(ref.face_index) +
                                                "): " + ref.path);
      if (FT_Select_Charmap(font.face, FT_ENCODING_UNICODE) != 0)
        throw Error(ErrorCode::unsupported, "font has no Unicode character map: " + ref.path);
      font.units_per_em = font.face->units_per_EM > 0 ? font.face->units_per_EM : 1000;
      const FT_Long glyph_count = font.face->num_glyphs;
      font.advances.assign(static_cast<size_t>(std::max<FT_Long>(glyph_count, 1)), 0);
      for (FT_Long gid = 0; gid < glyph_count; ++gid) {
        FT_Fixed advance = 0;
        if (FT_Get_Advance(font.face, static_cast<FT_UInt>(gid), FT_LOAD_NO_SCALE, &advance) == 0)
          font.advances[static_cast<size_t>(gid)] = static_cast<uint16_t>(std::clamp<FT_Fixed>(advance, 0, 65535));
      }
      hb_face_t* hb_face = hb_ft_face_create_referenced(font.face);
      font.hb_font = hb_font_create(hb_face);
      hb_face_destroy(hb_face);
      hb_font_set_scale(font.hb_font, font.units_per_em, font.units_per_em);
      fonts.push_back(std::move(font));
    }
    if (fonts.empty()) throw Error(ErrorCode::invalid_config, "no font given");
    build_tables();
    // ReportLab's ascent/descent: OS/2 sTypoAscender/Descender when present, else hhea.
    const Font& main = fonts[0];
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

  void build_tables() {
    bmp.assign(65536, PackedGlyph{});
    for (size_t index = 0; index < fonts.size(); ++index) {
      Font& font = fonts[index];
      FT_UInt gid = 0;
      FT_ULong c = FT_Get_First_Char(font.face, &gid);
      while (gid != 0) {
        PackedGlyph entry{static_cast<uint8_t>(index), 1, font.advances[std::min<size_t>(gid, font.advances.size() - 1)], gid};
        if (c < 65536) {
          if (bmp[c].state == 0) bmp[c] = entry;
        } else if (c <= 0x10FFFF) {
          astral.emplace(static_cast<char32_t>(c), entry);
        }
        c = FT_Get_Next_Char(font.face, c, &gid);
      }
    }
    // ReportLab: U+00A0 is drawn and measured as the space (or the reverse).
    if (bmp[0x20].state == 1 && bmp[0x20].font_index == 0) bmp[0xA0] = bmp[0x20];
    else if (bmp[0xA0].state == 1 && bmp[0xA0].font_index == 0) bmp[0x20] = bmp[0xA0];
    const PackedGlyph notdef{0, 2, fonts[0].advances[0], 0};
    for (PackedGlyph& entry : bmp)
      if (entry.state == 0) entry = notdef;
  }

  PackedGlyph find(char32_t c) const {
    if (c < 65536) return bmp[c];
    auto it = astral.find(c);
    if (it != astral.end()) return it->second;
    return PackedGlyph{0, 2, fonts[0].advances[0], 0};
  }
};

FontSet::FontSet(const RenderConfig& config)
    : impl_(std::make_unique<Impl>()), size_pt_(config.font_size_pt), metrics_(config.fallback_metrics) {
  std::vector<std::string> specs{config.font_path};
  specs.insert(specs.end(), config.fallback_fonts.begin(), config.fallback_fonts.end());
  impl_->open(specs);
}

FontSet::FontSet(const std::vector<std::string>& font_specs, double size_pt, FallbackMetrics metrics)
    : impl_(std::make_unique<Impl>()), size_pt_(size_pt), metrics_(metrics) {
  impl_->open(font_specs);
}

FontSet::~FontSet() = default;

int FontSet::font_count() const { return static_cast<int>(impl_->fonts.size()); }
const std::string& FontSet::font_path(int i) const { return impl_->fonts.at(static_cast<size_t>(i)).path; }
int FontSet::face_index(int i) const { return impl_->fonts.at(static_cast<size_t>(i)).face_index; }
std::string_view FontSet::font_data(int i) const { return impl_->fonts.at(static_cast<size_t>(i)).file->bytes(); }
int FontSet::units_per_em(int i) const { return impl_->fonts.at(static_cast<size_t>(i)).units_per_em; }
FT_Face FontSet::face(int i) const { return impl_->fonts.at(static_cast<size_t>(i)).face; }
double FontSet::ascent_pt() const { return impl_->ascent_milli_em * size_pt_ * 0.001; }
double FontSet::descent_pt() const { return impl_->descent_milli_em * size_pt_ * 0.001; }

CharGlyph FontSet::lookup(char32_t c) const {
  const PackedGlyph entry = impl_->find(c);
  CharGlyph out;
  out.font_index = entry.font_index;
  out.missing = entry.state == 2;
  out.glyph_id = entry.glyph_id;
  out.glyph_width_milli_em = entry.advance * 1000.0 / impl_->fonts[entry.font_index].units_per_em;
  out.width_milli_em = out.glyph_width_milli_em;
  if (entry.font_index != 0 && metrics_ == FallbackMetrics::reference)
    out.width_milli_em = impl_->fonts[0].advances[0] * 1000.0 / impl_->fonts[0].units_per_em;
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
    const uint16_t font_index = impl_->find(text[start]).font_index;
    size_t end = start + 1;
    while (end < text.size()) {
      const char32_t c = text[end];
      const bool attaches = (c >= 0x300 && c <= 0x36F) || c == 0x200D || c == 0x200C || (c >= 0xFE00 && c <= 0xFE0F) ||
                            (c >= 0xE0020 && c <= 0xE007F) || (c >= 0x1F3FB && c <= 0x1F3FF);
      if (!attaches && impl_->find(c).font_index != font_index) break;
      ++end;
    }
    const Impl::Font& font = impl_->fonts[font_index];
    hb_buffer_clear_contents(buffer);
    hb_buffer_add_utf32(buffer, reinterpret_cast<const uint32_t*>(text.data()), static_cast<int>(text.size()),
                        static_cast<unsigned>(start), static_cast<int>(end - start));
    hb_buffer_guess_segment_properties(buffer);
    hb_shape(font.hb_font, buffer, nullptr, 0);
    unsigned count = 0;
    const hb_glyph_info_t* info = hb_buffer_get_glyph_infos(buffer, &count);
    const hb_glyph_position_t* pos = hb_buffer_get_glyph_positions(buffer, &count);
    const double scale = size_pt_ / font.units_per_em;
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
