// Optional shared libraries opened at run time (cuBLASLt, cuSOLVER): vgsplat_lib links only cudart, and a
// machine without the library takes a fallback path.
#pragma once
#include <dlfcn.h>

#include <initializer_list>

namespace vg {

// The first of `names` that dlopen finds, or nullptr.
inline void* open_first_library(std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (void* lib = dlopen(n, RTLD_NOW | RTLD_LOCAL)) return lib;
  return nullptr;
}

// f = the symbol `name` of lib; false when absent.
template <typename F>
bool load_symbol(void* lib, const char* name, F& f) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  return f != nullptr;
}

}  // namespace vg
