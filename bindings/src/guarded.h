// How every smm_* function keeps C++ exceptions on its side of the ABI (stylemm.h's habits):
// the body runs inside `guarded`, which turns whatever it throws into a status and keeps the
// message with a handle; handle-making functions use `make`, which copies the message into
// the caller's error buffer instead. Shared by api.cpp and solver_api.cpp.
#pragma once

#include <cstdio>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "error.h"
#include "kernels.h"
#include "stylemm/stylemm.h"

namespace stylemm::abi {

[[noreturn]] inline void fail(smm_status status, const std::string& message) { throw Error(status, message); }

// Sets the message (inside the catch: the exception's text dies with it) and returns status.
inline smm_status keep(std::string& message, smm_status status, const char* text) noexcept {
  try {
    message = text;
  } catch (...) {
    message.clear();  // no memory even for the message: the status still tells
  }
  return status;
}

// Runs body; turns whatever it throws into a status and a message. Never throws.
template <typename Body>
smm_status guarded(std::string& message, Body&& body) noexcept {
  try {
    body();
    message.clear();
    return SMM_OK;
  } catch (const Error& e) {
    return keep(message, e.status(), e.what());
  } catch (const nlohmann::json::exception& e) {
    return keep(message, SMM_ERR_BAD_BUNDLE, e.what());  // a manifest value of the wrong type
  } catch (const std::bad_alloc&) {
    return keep(message, SMM_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (...) {
    return keep(message, SMM_ERR_INVALID_ARGUMENT, "unexpected error");
  }
}

inline void copy_message(const std::string& message, char* error, int error_size) {
  if (error && error_size > 0) std::snprintf(error, static_cast<std::size_t>(error_size), "%s", message.c_str());
}

// Handle-making functions: *out set only on success, the message into the caller's buffer.
template <typename Make>
smm_status make(char* error, int error_size, Make&& make_handle) noexcept {
  std::string message;
  const smm_status status = guarded(message, make_handle);
  copy_message(message, error, error_size);
  return status;
}

inline void need(bool condition, smm_status status, const char* message) {
  if (!condition) fail(status, message);
}

inline void need_finite(const float* values, Index count, const char* what) {
  if (!all_finite(values, count)) fail(SMM_ERR_NON_FINITE, std::string(what) + " contains NaN or Inf");
}

}  // namespace stylemm::abi
