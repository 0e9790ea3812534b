# Cross-compiling libstylemm for 64-bit ARM Linux from Debian
# (apt-get install g++-aarch64-linux-gnu qemu-user), which tests/python/test_arm64_build.py
# does so that every change is built for the CPUs of phones and Apple Silicon and run there
# (under QEMU): the portable SIMD path and Eigen's NEON code, without the x86 kernels.
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's Eigen and nlohmann-json are header-only, so the host's packages serve; their
# CMake targets put /usr/include on the include path, ahead of the cross compiler's own C
# headers. Declared implicit, CMake does not pass it; -idirafter has it searched last.
set(CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES /usr/include CACHE STRING "")
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include")
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
