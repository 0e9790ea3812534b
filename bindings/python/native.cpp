// stylemm_runtime._native: the C ABI (stylemm.h) over numpy arrays.
//
// Inputs of any real dtype and layout are converted to float32 C order (a copy only when
// needed); anything else is rejected with a ValueError naming the argument. `out=`, when
// given, must already be float32, C-contiguous and of the result's shape: like the C ABI
// it is then written in place and nothing is allocated.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "stylemm/stylemm.h"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

// A shape as the user should read it: known sizes as numbers, free ones as letters.
struct Dim {
  py::ssize_t size;  // -1 when free
  const char* label;
  Dim(py::ssize_t s) : size(s), label(nullptr) {}  // NOLINT: numbers read naturally in shape lists
  Dim(const char* l) : size(-1), label(l) {}       // NOLINT
};

std::string shape_text(const py::array& a) {
  std::string text = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) text += (d ? ", " : "") + std::to_string(a.shape(d));
  return text + (a.ndim() == 1 ? ",)" : ")");
}

void expect_shape(const py::array& a, const char* name, std::vector<Dim> shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  std::string wanted = "(";
  for (size_t d = 0; d < shape.size(); ++d) {
    if (ok && shape[d].size >= 0 && a.shape(d) != shape[d].size) ok = false;
    wanted += (d ? ", " : "") + (shape[d].label ? std::string(shape[d].label) : std::to_string(shape[d].size));
  }
  wanted += shape.size() == 1 ? ",)" : ")";
  if (!ok) throw py::value_error(std::string(name) + " must have shape " + wanted + ", got " + shape_text(a));
}

py::array as_array(const py::handle& value, const char* name) {
  py::array a = py::array::ensure(value);
  if (!a) throw py::value_error(std::string(name) + " must be an array of numbers");
  return a;
}

FloatArray as_float32(const py::handle& value, const char* name) {
  py::array a = as_array(value, name);
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u')
    throw py::value_error(std::string(name) + " must hold real numbers (float32 preferred), got dtype " +
                          py::str(a.dtype()).cast<std::string>());
  FloatArray converted = FloatArray::ensure(a);
  if (!converted) throw py::value_error(std::string(name) + " cannot be converted to float32");
  return converted;
}

IntArray as_parents(const py::handle& value) {
  py::array a = as_array(value, "parents");
  // Signed only: the root's parent is -1, and a wrapped-around unsigned value must not pass for it.
  if (a.dtype().kind() != 'i')
    throw py::value_error("parents must be a signed integer array (joint indices, -1 for the root), got dtype " +
                          py::str(a.dtype()).cast<std::string>());
  // Narrowing to the ABI's int must not wrap a huge index into a valid-looking one.
  auto wide = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!wide) throw py::value_error("parents cannot be converted to int64");
  for (py::ssize_t j = 0; j < wide.size(); ++j) {
    if (wide.data()[j] < INT_MIN || wide.data()[j] > INT_MAX)
      throw py::value_error("parents[" + std::to_string(j) + "] = " + std::to_string(wide.data()[j]) +
                            " is not a joint index");
  }
  return IntArray::ensure(wide);
}

int as_count(py::ssize_t n, const char* what) {
  if (n > INT_MAX) throw py::value_error(std::string("too many ") + what + " for the C ABI (at most 2^31 - 1)");
  return static_cast<int>(n);
}

FloatArray output(const py::object& out, std::vector<py::ssize_t> shape) {
  if (out.is_none()) return FloatArray(shape);
  // No conversion here: a converted copy would silently not be the caller's buffer.
  if (!py::isinstance<py::array>(out)) throw py::value_error("out must be a numpy array");
  auto a = py::reinterpret_borrow<py::array>(out);
  if (!a.dtype().is(py::dtype::of<float>()) || !(a.flags() & py::array::c_style) || !a.writeable())
    throw py::value_error("out must be a writeable, C-contiguous float32 array, got dtype " +
                          py::str(a.dtype()).cast<std::string>());
  std::vector<Dim> dims(shape.begin(), shape.end());
  expect_shape(a, "out", dims);
  return py::reinterpret_borrow<FloatArray>(a);
}

using Named = std::initializer_list<std::pair<const char*, const FloatArray*>>;

// Raises the C status as a ValueError. The status says what is wrong, not where: on the
// error path only, find the input holding NaN / Inf, or add what the call was given.
template <typename Detail>
void check(smm_status status, const char* function, Named inputs, Detail detail) {
  if (status == SMM_OK) return;
  if (status == SMM_ERR_NON_FINITE) {
    for (const auto& [name, array] : inputs) {
      for (py::ssize_t i = 0; i < array->size(); ++i) {
        if (!std::isfinite(array->data()[i]))
          throw py::value_error(std::string(function) + ": " + name +
                                " contains NaN or Inf (after conversion to float32); pass finite numbers");
      }
    }
  }
  throw py::value_error(std::string(function) + ": " + smm_status_string(status) + detail());
}

FloatArray blend_shapes(const py::handle& template_in, const py::handle& deltas_in, const py::handle& coeffs_in,
                        const py::object& out_in) {
  const FloatArray template_vertices = as_float32(template_in, "template");
  const FloatArray deltas = as_float32(deltas_in, "deltas");
  const FloatArray coeffs = as_float32(coeffs_in, "coeffs");
  expect_shape(template_vertices, "template", {"N", 3});
  const py::ssize_t n = template_vertices.shape(0);
  expect_shape(deltas, "deltas", {"K", n, 3});
  expect_shape(coeffs, "coeffs", {deltas.shape(0)});
  const int n_vertices = as_count(n, "vertices"), n_shapes = as_count(deltas.shape(0), "blend shapes");
  FloatArray out = output(out_in, {n, 3});
  smm_status status;
  {
    py::gil_scoped_release release;  // the C call touches no Python object
    status = smm_blend_shapes(out.mutable_data(), template_vertices.data(), deltas.data(), coeffs.data(),
                              n_vertices, n_shapes);
  }
  check(status, "blend_shapes", {{"template", &template_vertices}, {"coeffs", &coeffs}},
        [&] { return "; got N = " + std::to_string(n) + " vertices, K = " + std::to_string(n_shapes) + " shapes"; });
  return out;
}

FloatArray joint_transforms(const py::handle& rest_in, const py::handle& parents_in, const py::handle& pose_in,
                            const py::object& out_in) {
  const FloatArray rest_joints = as_float32(rest_in, "rest_joints");
  const IntArray parents = as_parents(parents_in);
  const FloatArray axis_angle = as_float32(pose_in, "axis_angle");
  expect_shape(rest_joints, "rest_joints", {"J", 3});
  const py::ssize_t j = rest_joints.shape(0);
  expect_shape(parents, "parents", {j});
  expect_shape(axis_angle, "axis_angle", {j, 3});
  const int n_joints = as_count(j, "joints");
  FloatArray out = output(out_in, {j, 4, 4});
  smm_status status;
  {
    py::gil_scoped_release release;
    status = smm_joint_transforms(out.mutable_data(), rest_joints.data(), parents.data(), axis_angle.data(),
                                  n_joints);
  }
  check(status, "joint_transforms", {{"rest_joints", &rest_joints}, {"axis_angle", &axis_angle}},
        [&] {
          return status == SMM_ERR_INVALID_PARENTS ? "; got " + py::str(parents.attr("tolist")()).cast<std::string>()
                                                   : "; got J = " + std::to_string(j) + " joints";
        });
  return out;
}

FloatArray skin(const py::handle& vertices_in, const py::handle& weights_in, const py::handle& transforms_in,
                const py::object& out_in) {
  const FloatArray vertices = as_float32(vertices_in, "vertices");
  const FloatArray weights = as_float32(weights_in, "weights");
  const FloatArray transforms = as_float32(transforms_in, "transforms");
  expect_shape(vertices, "vertices", {"N", 3});
  const py::ssize_t n = vertices.shape(0);
  expect_shape(weights, "weights", {n, "J"});
  expect_shape(transforms, "transforms", {weights.shape(1), 4, 4});
  const int n_vertices = as_count(n, "vertices"), n_joints = as_count(weights.shape(1), "joints");
  FloatArray out = output(out_in, {n, 3});
  smm_status status;
  {
    py::gil_scoped_release release;
    status = smm_skin(out.mutable_data(), vertices.data(), weights.data(), transforms.data(), n_vertices, n_joints);
  }
  check(status, "skin", {{"vertices", &vertices}, {"weights", &weights}, {"transforms", &transforms}},
        [&] { return "; got N = " + std::to_string(n) + " vertices, J = " + std::to_string(n_joints) + " joints"; });
  return out;
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "StyleMM native core: the C ABI of bindings/include/stylemm/stylemm.h over numpy arrays.";
  m.attr("HEADER_VERSION") = STYLEMM_VERSION;
  m.attr("__version__") = std::to_string(STYLEMM_VERSION_MAJOR) + "." + std::to_string(STYLEMM_VERSION_MINOR) +
                          "." + std::to_string(STYLEMM_VERSION_PATCH);
  m.def("version", &smm_version,
        "Version of the linked native library, packed as MAJOR * 10000 + MINOR * 100 + PATCH "
        "(compare with HEADER_VERSION).");
  m.def("blend_shapes", &blend_shapes, py::arg("template"), py::arg("deltas"), py::arg("coeffs"), py::kw_only(),
        py::arg("out") = py::none(),
        "template (N, 3) + sum_k coeffs[k] * deltas[k], deltas (K, N, 3), coeffs (K,) -> (N, 3) float32.\n"
        "out may be template itself (in place). deltas are not scanned for NaN / Inf (model data, checked at "
        "load); skin() refuses the NaN vertices they would give.");
  m.def("joint_transforms", &joint_transforms, py::arg("rest_joints"), py::arg("parents"), py::arg("axis_angle"),
        py::kw_only(), py::arg("out") = py::none(),
        "Skinning matrices (J, 4, 4) float32 of a chain: rest_joints (J, 3), parents (J,) with parents[0] == -1 "
        "and 0 <= parents[j] < j, axis_angle (J, 3) local rotations.");
  m.def("skin", &skin, py::arg("vertices"), py::arg("weights"), py::arg("transforms"), py::kw_only(),
        py::arg("out") = py::none(),
        "Linear blend skinning: vertices (N, 3), weights (N, J), transforms (J, 4, 4) -> (N, 3) float32.\n"
        "out may be vertices itself (in place).");
}
