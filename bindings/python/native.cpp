// stylemm_runtime._native: the C ABI over numpy arrays (float32, C order).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "stylemm/stylemm.h"

namespace py = pybind11;

namespace {

// forcecast converts other float dtypes (float64 from users) instead of failing.
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

void expect_shape(const py::array& a, const char* name, std::initializer_list<py::ssize_t> shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  std::string expected = "(";
  int d = 0;
  for (py::ssize_t s : shape) {
    if (ok && s >= 0 && a.shape(d) != s) ok = false;
    expected += (d ? ", " : "") + (s >= 0 ? std::to_string(s) : std::string("n"));
    ++d;
  }
  if (!ok) {
    std::string got = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) got += (i ? ", " : "") + std::to_string(a.shape(i));
    throw py::value_error(std::string(name) + " must have shape " + expected + "), got " + got + ")");
  }
}

void check(smm_status status, const char* function) {
  if (status != SMM_OK) throw py::value_error(std::string(function) + ": " + smm_status_string(status));
}

FloatArray blend_shapes(const FloatArray& template_vertices, const FloatArray& deltas, const FloatArray& coeffs) {
  expect_shape(template_vertices, "template", {-1, 3});
  const py::ssize_t n = template_vertices.shape(0);
  expect_shape(deltas, "deltas", {-1, n, 3});
  expect_shape(coeffs, "coeffs", {deltas.shape(0)});
  FloatArray out({n, py::ssize_t{3}});
  check(smm_blend_shapes(template_vertices.data(), static_cast<int>(n), deltas.data(),
                         static_cast<int>(deltas.shape(0)), coeffs.data(), out.mutable_data()),
        "blend_shapes");
  return out;
}

FloatArray joint_transforms(const FloatArray& rest_joints, const IntArray& parents, const FloatArray& axis_angle) {
  expect_shape(rest_joints, "rest_joints", {-1, 3});
  const py::ssize_t j = rest_joints.shape(0);
  expect_shape(parents, "parents", {j});
  expect_shape(axis_angle, "axis_angle", {j, 3});
  FloatArray out({j, py::ssize_t{4}, py::ssize_t{4}});
  check(smm_joint_transforms(rest_joints.data(), parents.data(), static_cast<int>(j), axis_angle.data(),
                             out.mutable_data()),
        "joint_transforms");
  return out;
}

FloatArray skin(const FloatArray& vertices, const FloatArray& weights, const FloatArray& transforms) {
  expect_shape(vertices, "vertices", {-1, 3});
  const py::ssize_t n = vertices.shape(0);
  expect_shape(weights, "weights", {n, -1});
  expect_shape(transforms, "transforms", {weights.shape(1), 4, 4});
  FloatArray out({n, py::ssize_t{3}});
  check(smm_skin(vertices.data(), static_cast<int>(n), weights.data(), static_cast<int>(weights.shape(1)),
                 transforms.data(), out.mutable_data()),
        "skin");
  return out;
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "StyleMM native core (C ABI in bindings/include/stylemm/stylemm.h)";
  m.attr("HEADER_VERSION") = STYLEMM_VERSION;
  m.def("version", &smm_version, "Version of the native library, packed as MAJOR*10000 + MINOR*100 + PATCH.");
  m.def("blend_shapes", &blend_shapes, py::arg("template"), py::arg("deltas"), py::arg("coeffs"),
        "template (N, 3) + sum_k coeffs[k] * deltas[k] (deltas: (K, N, 3)) -> (N, 3) float32");
  m.def("joint_transforms", &joint_transforms, py::arg("rest_joints"), py::arg("parents"), py::arg("axis_angle"),
        "Skinning matrices (J, 4, 4) of a posed joint chain.");
  m.def("skin", &skin, py::arg("vertices"), py::arg("weights"), py::arg("transforms"),
        "Linear blend skinning: (N, 3) vertices, (N, J) weights, (J, 4, 4) transforms -> (N, 3).");
}
