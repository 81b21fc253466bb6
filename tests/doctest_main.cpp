// The one translation unit that compiles doctest's main (it is slow to compile: keep it alone).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
