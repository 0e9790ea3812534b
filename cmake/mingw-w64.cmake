# Cross-compiling stylemm.dll for 64-bit Windows from Debian with MinGW-w64
# (apt-get install g++-mingw-w64-x86-64-posix), which tests/python/test_windows_build.py does
# so that every change is built for Windows and run there (under Wine). Shipped Windows
# builds use MSVC (docs/native.md); this one checks that the code stays portable.
#   cmake -S . -B build/windows -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)  # -posix: std::thread
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
# Debian's Eigen and nlohmann-json are header-only, so the Linux packages serve, but their CMake
# targets put /usr/include on the include path, ahead of MinGW's own C headers. Declared
# implicit, CMake does not pass it; -idirafter has it searched after MinGW's headers.
set(CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES /usr/include CACHE STRING "")
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include")
# The C++ runtime and winpthreads linked in: the DLL needs nothing beyond Windows itself.
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
