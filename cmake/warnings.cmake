# Warnings for meshmove's own targets only (third-party headers are SYSTEM through imported targets).
add_library(meshmove_warnings INTERFACE)
target_compile_options(meshmove_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wformat=2)
if(MESHMOVE_WERROR)
  target_compile_options(meshmove_warnings INTERFACE -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
  # GCC 12 at -O2/-O3 reports -Wrestrict and -Wmaybe-uninitialized from inside libstdc++'s std::string
  # when it inlines operator+ (GCC bugs 105329 and 105651), not in our code. In optimized builds they stay
  # visible but do not fail the build; Debug builds (CI) keep every warning an error.
  target_compile_options(meshmove_warnings INTERFACE
    $<$<NOT:$<CONFIG:Debug>>:-Wno-error=restrict -Wno-error=maybe-uninitialized>)
endif()
