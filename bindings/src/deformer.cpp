#include "deformer.h"

#include <cmath>
#include <string>

#include "bundle.h"
#include "error.h"
#include "sine_layer.h"

namespace stylemm {
namespace {

RowMatrix matrix(const Bundle& bundle, const std::string& name, long long rows, long long cols) {
  std::vector<long long> shape;
  const std::vector<float> values = bundle.floats(name, {rows, cols}, &shape);
  return Eigen::Map<const RowMatrix>(values.data(), shape[0], shape[1]);
}

Eigen::VectorXf vector(const Bundle& bundle, const std::string& name, long long size) {
  const std::vector<float> values = bundle.floats(name, {size});
  return Eigen::Map<const Eigen::VectorXf>(values.data(), size);
}

// A Linear layer "deformer.<module>.<name>" (name "hidden" or "out") of `in` inputs (-1: any)
// and `out` outputs (-1: any). Bundles before format 1.1 numbered the layers 0 and 2.
Linear linear(const Bundle& bundle, const std::string& module, const std::string& name, long long in, long long out) {
  const bool numbered = bundle.manifest().value("format_minor", 0LL) == 0;
  const std::string prefix = "deformer." + module + "." + (numbered ? (name == "hidden" ? "0" : "2") : name);
  Linear layer{matrix(bundle, prefix + ".weight", out, in), {}};
  layer.bias = vector(bundle, prefix + ".bias", layer.weight.rows());
  return layer;
}

int config_int(const nlohmann::json& config, const char* key, int lowest = 1) {
  const nlohmann::json& value = config.value(key, nlohmann::json());
  if (!value.is_number_integer() || value.get<long long>() < lowest || value.get<long long>() > 4096)
    throw Error(SMM_ERR_BAD_BUNDLE, std::string("networks.deformer.native.") + key + " must be an integer in [" +
                                        std::to_string(lowest) + ", 4096]");
  return value.get<int>();
}

// x * sigmoid(x), the encoders' and hypernetwork's activation.
void silu(Eigen::VectorXf& x) { x.array() = x.array() / (1.0f + (-x.array()).exp()); }

}  // namespace

Deformer::Deformer(const Bundle& bundle, int shape_dim, int expression_dim, int vertices) {
  const nlohmann::json& network = bundle.manifest()["networks"].value("deformer", nlohmann::json());
  if (!network.is_object() || !network.contains("native") || !network["native"].is_object())
    throw Error(SMM_ERR_UNSUPPORTED, "the bundle has no deformer weights (networks.deformer.native): "
                                     "re-export it with a newer stylemm-export");
  const nlohmann::json& config = network["native"];
  if (config.value("activation", "") != "silu")
    throw Error(SMM_ERR_UNSUPPORTED, "networks.deformer.native.activation must be \"silu\"");
  const nlohmann::json& w0 = config.value("w0", nlohmann::json());
  if (!w0.is_number() || !std::isfinite(w0.get<float>()))  // finite as a float, not only as a double
    throw Error(SMM_ERR_BAD_BUNDLE, "networks.deformer.native.w0 must be a finite number");
  w0_ = w0.get<float>();
  const int hidden = config_int(config, "hidden"), depth = config_int(config, "layers", 0);
  const int shape_code = config_int(config, "shape_code"), expression_code = config_int(config, "expression_code");
  const int hyper_hidden = config_int(config, "hyper_hidden");

  long long params = 0;
  for (int k = 0; k <= depth; ++k) {
    layers_.emplace_back(k == 0 ? 3 : hidden, k == depth ? 3 : hidden);
    params += static_cast<long long>(layers_.back().first + 1) * layers_.back().second;
  }
  shape_hidden_ = linear(bundle, "shape_encoder", "hidden", shape_dim, shape_code);
  shape_out_ = linear(bundle, "shape_encoder", "out", shape_code, shape_code);
  expression_hidden_ = linear(bundle, "expression_encoder", "hidden", expression_dim, expression_code);
  expression_out_ = linear(bundle, "expression_encoder", "out", expression_code, expression_code);
  hyper_hidden_ = linear(bundle, "hyper", "hidden", shape_code + expression_code, hyper_hidden);
  hyper_out_ = linear(bundle, "hyper", "out", hyper_hidden, params);

  template_ = matrix(bundle, "deformer.template", vertices, 3);
  const Eigen::VectorXf centre = vector(bundle, "deformer.centre", 3);
  scale_ = vector(bundle, "deformer.scale", 1)[0];
  if (!(scale_ > 0.0f)) throw Error(SMM_ERR_BAD_BUNDLE, "deformer.scale must be positive");
  normalised_ = (template_.rowwise() - centre.transpose()) / scale_;
}

DeformerScratch Deformer::scratch() const {
  DeformerScratch s;
  s.code.resize(shape_out_.weight.rows() + expression_out_.weight.rows());
  s.hidden.resize(hyper_hidden_.weight.rows());
  s.params.resize(hyper_out_.weight.rows());
  const int widest = layers_.front().second;  // every hidden layer is as wide
  s.a.resize(template_.rows(), widest);
  s.b.resize(template_.rows(), widest);
  s.weight_t.resize(Eigen::Index{widest} * widest);
  return s;
}

void Deformer::evaluate(const float* shape, const float* expression, float* out, DeformerScratch& s) const {
  // Codes of the shape and of the expression, concatenated, then the hypernetwork.
  const auto encode = [&](const Linear& first, const Linear& second, const float* input, Eigen::Index offset) {
    Eigen::VectorXf mid = first.weight * Eigen::Map<const Eigen::VectorXf>(input, first.weight.cols()) + first.bias;
    silu(mid);
    s.code.segment(offset, second.weight.rows()).noalias() = second.weight * mid + second.bias;
  };
  encode(shape_hidden_, shape_out_, shape, 0);
  encode(expression_hidden_, expression_out_, expression, shape_out_.weight.rows());
  s.hidden.noalias() = hyper_hidden_.weight * s.code + hyper_hidden_.bias;
  silu(s.hidden);
  s.params.noalias() = hyper_out_.weight * s.hidden + hyper_out_.bias;

  // The SIREN: w0 folded into the sine layers' weights (once per evaluation, on the small
  // parameter vector) saves a multiply over every (vertex, unit).
  float* p = s.params.data();
  const RowMatrix* in = &normalised_;
  RowMatrix* buffers[2] = {&s.a, &s.b};
  Eigen::Map<RowMatrix> result(out, template_.rows(), 3);
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    const auto [fan_in, fan_out] = layers_[k];
    const bool last = k + 1 == layers_.size();
    if (!last) Eigen::Map<Eigen::VectorXf>(p, Eigen::Index{fan_in + 1} * fan_out) *= w0_;
    const Eigen::Map<const RowMatrix> weight(p, fan_out, fan_in);
    const Eigen::Map<const Eigen::RowVectorXf> bias(p + fan_in * fan_out, fan_out);
    p += (fan_in + 1) * fan_out;
    if (last) {
      result.noalias() = *in * weight.transpose();
      result.rowwise() += bias;
      result = template_ + result * scale_;
      return;
    }
    RowMatrix& next = *buffers[k % 2];
    if (sine_layer_ && fan_out % 16 == 0) {
      Eigen::Map<RowMatrix>(s.weight_t.data(), fan_in, fan_out) = weight.transpose();
      sine_layer_(next.data(), in->data(), s.weight_t.data(), bias.data(), next.rows(), fan_in, fan_out);
    } else {
      next.noalias() = *in * weight.transpose();
      next.rowwise() += bias;
      next = next.array().sin().matrix();
    }
    in = &next;
  }
}

}  // namespace stylemm
