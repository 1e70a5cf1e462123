// Facts fixed when the project was built. Only build_info.cc sees the source path, so that the
// other objects do not depend on where the tree was cloned (and ccache can share them).
#pragma once

namespace glyph {

// The source tree this binary was built from (for assets installed beside it, e.g. the npm
// tokenizer under js/node_modules). May no longer exist when the binary runs.
const char* build_source_dir();

}  // namespace glyph
