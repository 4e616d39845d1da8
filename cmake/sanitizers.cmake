# Sanitizer and fuzzing builds (issue 12).
#   -DVGSPLAT_SANITIZE=address,undefined  every target built with -fsanitize=<list> (gcc or clang); UB aborts.
#   -DVGSPLAT_FUZZ=ON                     libFuzzer targets in fuzz/ (needs clang and its libFuzzer runtime:
#                                         Debian `clang` + `libclang-rt-14-dev`); the library gets coverage
#                                         instrumentation (-fsanitize=fuzzer-no-link). Combine with SANITIZE.
set(VGSPLAT_SANITIZE "" CACHE STRING "Sanitizers for every target, e.g. address,undefined (empty: none)")
option(VGSPLAT_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)

if(VGSPLAT_SANITIZE)
  set(_san -fsanitize=${VGSPLAT_SANITIZE} -fno-omit-frame-pointer)
  if(VGSPLAT_SANITIZE MATCHES "undefined")
    list(APPEND _san -fno-sanitize-recover=undefined)
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${_san}>")
  add_link_options(${_san})
  message(STATUS "vgsplat: sanitizers ${VGSPLAT_SANITIZE} (see tools/sanitizers/ for run-time options)")
endif()

set(VGSPLAT_HAS_FUZZ OFF)
if(VGSPLAT_FUZZ)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS -fsanitize=fuzzer)
  check_cxx_source_compiles([[
    #include <cstddef>
    #include <cstdint>
    extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }]] VGSPLAT_LIBFUZZER_WORKS)
  unset(CMAKE_REQUIRED_FLAGS)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND VGSPLAT_LIBFUZZER_WORKS)
    set(VGSPLAT_HAS_FUZZ ON)
    add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link>")
    message(STATUS "vgsplat: libFuzzer targets enabled (fuzz/, run them with tools/fuzz.sh)")
  else()
    message(STATUS "vgsplat: VGSPLAT_FUZZ needs clang with libFuzzer (apt-get install clang libclang-rt-14-dev; "
                   "configure with -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang); fuzz targets disabled")
  endif()
endif()
