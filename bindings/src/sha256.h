// SHA-256 (FIPS 180-4), to check bundle files against their manifest digests. Written here
// because the libraries that have it (OpenSSL, libzip's crypto) are more than a game engine
// plugin should carry for one hash; tested against Python's hashlib.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace stylemm {

// Lower-case hex digest of `size` bytes at `data`.
std::string sha256_hex(const std::uint8_t* data, std::size_t size);

}  // namespace stylemm
