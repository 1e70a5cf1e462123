// The one timing helper the library's figures use (render, read, eval and search seconds).
#pragma once

#include <chrono>

namespace glyph {

// Seconds of the steady clock since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace glyph
