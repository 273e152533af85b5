# Warnings and sanitizers, applied through an interface target so that only
# xgrad's own targets get them (never the consumers of the installed package).
add_library(xgrad_build_flags INTERFACE)
target_compile_options(xgrad_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow)
if(XGRAD_WERROR)
  target_compile_options(xgrad_build_flags INTERFACE -Werror)
endif()

if(XGRAD_SANITIZE)
  # Applied globally so tests, examples and the library agree on the runtime.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # Line tables are all a sanitizer report needs; full -g makes g++'s variable
  # tracking take minutes on the large test translation units.
  add_compile_options(-g1)
endif()

if(XGRAD_TSAN)
  if(XGRAD_SANITIZE)
    message(FATAL_ERROR "XGRAD_TSAN and XGRAD_SANITIZE cannot be combined (ThreadSanitizer excludes ASan)")
  endif()
  add_compile_options(-fsanitize=thread -g1)
  add_link_options(-fsanitize=thread)
endif()

# libFuzzer: coverage instrumentation everywhere; the fuzz executables link the
# fuzzer's main (tests/fuzz/CMakeLists.txt).
if(XGRAD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "XGRAD_FUZZ needs clang (libFuzzer): CXX=clang++ (scripts/fuzz.sh does this)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Test and example programs: under the sanitizers their own code (Catch2
# assertions, set-up) is compiled at -O1, which halves their compile time; the
# library they exercise keeps the build type's optimisation.
add_library(xgrad_program_flags INTERFACE)
if(XGRAD_SANITIZE OR XGRAD_TSAN)
  target_compile_options(xgrad_program_flags INTERFACE -O1)
endif()
