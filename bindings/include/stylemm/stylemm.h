/* StyleMM native core: the C ABI.
 *
 * Habits (after MuJoCo's mujoco.h): one header; a version macro the caller can check
 * against smm_version() of the library it loaded; every function returns a status
 * code and writes only into buffers the caller owns; nothing allocates; on error
 * nothing is written. Arrays are float32, C order (row-major).
 */
#ifndef STYLEMM_STYLEMM_H_
#define STYLEMM_STYLEMM_H_

#define STYLEMM_VERSION_MAJOR 0
#define STYLEMM_VERSION_MINOR 1
#define STYLEMM_VERSION_PATCH 0
/* Packed as MAJOR * 10000 + MINOR * 100 + PATCH. */
#define STYLEMM_VERSION (STYLEMM_VERSION_MAJOR * 10000 + STYLEMM_VERSION_MINOR * 100 + STYLEMM_VERSION_PATCH)

#if defined(_WIN32)
#  if defined(STYLEMM_BUILDING)
#    define SMM_API __declspec(dllexport)
#  else
#    define SMM_API __declspec(dllimport)
#  endif
#else
#  define SMM_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum smm_status {
  SMM_OK = 0,
  SMM_ERR_NULL_POINTER = 1,     /* a required pointer was NULL */
  SMM_ERR_INVALID_ARGUMENT = 2, /* a count is not positive, or parents are not a tree in order */
  SMM_ERR_NON_FINITE = 3        /* a parameter holds NaN or Inf */
} smm_status;

/* The version of the loaded library (STYLEMM_VERSION it was built with). */
SMM_API int smm_version(void);

/* A static, human-readable description of a status code. */
SMM_API const char* smm_status_string(smm_status status);

/* out = template + sum_k coeffs[k] * deltas[k].
 * template: (n_vertices, 3); deltas: (n_shapes, n_vertices, 3), one morph target after
 * another; coeffs: (n_shapes); out: (n_vertices, 3), may not alias the inputs. */
SMM_API smm_status smm_blend_shapes(const float* template_vertices, int n_vertices, const float* deltas,
                                    int n_shapes, const float* coeffs, float* out);

/* Skinning matrices of a posed joint chain.
 * rest_joints: (n_joints, 3); parents: (n_joints), parents[0] == -1 and 0 <= parents[j] < j;
 * axis_angle: (n_joints, 3) local rotations; out: (n_joints, 4, 4) row-major matrices that
 * map rest-pose positions to posed positions (world transform times inverse rest pose). */
SMM_API smm_status smm_joint_transforms(const float* rest_joints, const int* parents, int n_joints,
                                        const float* axis_angle, float* out);

/* Linear blend skinning: out[i] = sum_j weights[i, j] * transforms[j] * (vertices[i], 1).
 * vertices: (n_vertices, 3); weights: (n_vertices, n_joints); transforms: (n_joints, 4, 4);
 * out: (n_vertices, 3), may not alias the inputs. */
SMM_API smm_status smm_skin(const float* vertices, int n_vertices, const float* weights, int n_joints,
                            const float* transforms, float* out);

#ifdef __cplusplus
}
#endif

#endif /* STYLEMM_STYLEMM_H_ */
