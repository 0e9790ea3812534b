#include "model.h"

#include <cmath>

#include "error.h"

namespace stylemm {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& why) { throw Error(SMM_ERR_BAD_BUNDLE, "malformed manifest: " + why); }

const json& member(const json& object, const char* key, const char* where) {
  if (!object.is_object() || !object.contains(key)) bad(std::string(where) + " has no '" + key + "'");
  return object[key];
}

int dimension(const json& parameters, const char* name) {
  const json& dim = member(member(parameters, name, "parameters"), "dim", name);
  if (!dim.is_number_integer() || dim.get<long long>() < 1 || dim.get<long long>() > (1 << 20))
    bad(std::string("parameters.") + name + ".dim must be a positive integer");
  return dim.get<int>();
}

std::vector<std::string> names(const json& list, const char* where) {
  if (!list.is_array() || list.empty()) bad(std::string(where) + " must be a non-empty list of names");
  std::vector<std::string> result;
  for (const json& name : list) {
    if (!name.is_string()) bad(std::string(where) + " must hold strings");
    result.push_back(name.get<std::string>());
  }
  return result;
}

void read_joints(smm_model_& model, const json& manifest) {
  const json& joints = member(manifest, "joints", "the manifest");
  model.joint_names = names(member(joints, "names", "joints"), "joints.names");
  const json& parents = member(joints, "parents", "joints");
  model.joints = static_cast<int>(model.joint_names.size());
  if (!parents.is_array() || parents.size() != model.joint_names.size()) bad("joints.parents must have one entry per joint");
  for (std::size_t j = 0; j < parents.size(); ++j) {
    const json& parent = parents[j];
    // nlohmann keeps non-negative integers unsigned: compare them so, or 2^64 - 1 passes for -1.
    const bool ordered = j == 0 ? parent.is_number_integer() && !parent.is_number_unsigned() && parent.get<long long>() == -1
                                : parent.is_number_unsigned() && parent.get<unsigned long long>() < j;
    if (!ordered) bad("joints.parents must satisfy parents[0] == -1 and 0 <= parents[j] < j");
    model.parents.push_back(parent.get<int>());
  }
}

void read_parameters(smm_model_& model, const json& manifest) {
  const json& parameters = manifest["parameters"];
  model.shape_dim = dimension(parameters, "shape");
  model.texture_dim = dimension(parameters, "texture_z");
  const json& expression = member(parameters, "expression", "parameters");
  model.expression_names = names(member(expression, "names", "parameters.expression"), "parameters.expression.names");
  model.expressions = static_cast<int>(model.expression_names.size());
  const json& range = expression.value("range", json());
  if (!range.is_null()) {
    if (!range.is_array() || range.size() != 2 || !range[1].is_number() || !(range[1].get<float>() > 0) ||
        !std::isfinite(range[1].get<float>()))
      bad("parameters.expression.range must be null or [low, high] with high > 0");
    model.expression_unit = range[1].get<float>();
  }
}

void read_arrays(smm_model_& model, const Bundle& bundle) {
  std::vector<long long> shape;
  model.template_vertices = bundle.floats("template", {-1, 3}, &shape);
  if (shape[0] < 1) bad("the template has no vertices");
  model.vertices = static_cast<int>(shape[0]);
  const long long n = model.vertices, j = model.joints;
  model.faces = bundle.ints("faces", {-1, 3}, &shape);
  model.triangles = static_cast<int>(shape[0]);
  model.uvs = bundle.floats("uvs", {-1, 2}, &shape);
  model.uv_vertices = static_cast<int>(shape[0]);
  // A model without a UV layout has uvs (0, 2) and uv_faces (0, 3).
  model.uv_faces = bundle.ints("uv_faces", {model.uv_vertices ? model.triangles : 0, 3});
  model.skin_weights = bundle.floats("skin_weights", {n, j});
  model.joint_regressor = bundle.floats("joint_regressor", {j, n});
  // Index ranges, sizes and parent order were checked by the bundle's rules (bundle_rules.json).
  model.skin_plan = plan_skin(model.skin_weights.data(), n, model.joints);
}

}  // namespace

std::unique_ptr<smm_model_> load_model(const Bundle& bundle) {
  auto model = std::make_unique<smm_model_>();
  read_joints(*model, bundle.manifest());
  read_parameters(*model, bundle.manifest());
  read_arrays(*model, bundle);
  const json& native = bundle.manifest()["networks"].value("deformer", json()).value("native", json());
  if (native.is_object())  // the bundle's rules checked its sizes and arrays
    model->deformer = std::make_unique<Deformer>(bundle, model->shape_dim, model->expressions, model->vertices);
  return model;
}

}  // namespace stylemm
