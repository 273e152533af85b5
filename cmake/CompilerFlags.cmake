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
endif()
