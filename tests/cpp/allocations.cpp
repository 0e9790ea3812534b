#include "allocations.h"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_allocations{0};
}

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer (tests/cpp/run.sh), through its allocation hook: replacing operator new
// beside ASan's own mixes the two allocators. Declared here because GCC does not install
// <sanitizer/allocator_interface.h>.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                         void (*)(const volatile void*));
namespace {
void count(const volatile void*, std::size_t) { ++g_allocations; }
void ignore(const volatile void*) {}
const int g_hooked = __sanitizer_install_malloc_and_free_hooks(count, ignore);
}  // namespace
#else
// Elsewhere by replacing operator new: the shared library's calls resolve to it as well.
void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace test {

long allocations() { return g_allocations.load(); }

}  // namespace test
