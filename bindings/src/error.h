// How the native core reports a failure inside C++: an Error carrying the C status and a
// message naming the problem and its fix. Errors never cross the C ABI: every smm_*
// function catches them (api.cpp) and returns the status, keeping the message with a handle.
#pragma once

#include <stdexcept>
#include <string>

#include "stylemm/stylemm.h"

namespace stylemm {

class Error : public std::runtime_error {
 public:
  Error(smm_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  smm_status status() const { return status_; }

 private:
  smm_status status_;
};

}  // namespace stylemm
