# Warnings for meshmove's own targets only (third-party headers are SYSTEM through imported targets).
add_library(meshmove_warnings INTERFACE)
target_compile_options(meshmove_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wformat=2)
if(MESHMOVE_WERROR)
  target_compile_options(meshmove_warnings INTERFACE -Werror)
endif()
