#include "core/build_info.h"

namespace glyph {

const char* build_source_dir() {
  return GLYPH_SOURCE_DIR;
}

}  // namespace glyph
