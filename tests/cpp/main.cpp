// Catch2's main(), in its own file so the tests recompile without it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
