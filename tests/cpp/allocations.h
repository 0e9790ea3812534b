// Counts the process's heap allocations, the native library's included, so tests can prove
// that a call allocates nothing (allocations.cpp).
#pragma once

namespace test {

long allocations();

}  // namespace test
