// A StyleMM face in a Unity scene: loads a bundle from StreamingAssets, bakes one character
// and evaluates it every frame from ARKit weights and a head / neck / jaw / eye pose, on the
// CPU through the native core (StyleMMNative.cs).
//
// Axes: the bundle is in glTF axes (+Y up, +Z towards the viewer, right-handed, metres);
// Unity is left-handed. Positions and normals are mirrored by negating X, and triangles are
// re-wound to match (StyleMMMeshLayout.cs); pose rotations given in Unity's axes are mirrored
// the other way before they reach the core (ToBundleAxisAngle). The face looks along +Z,
// Unity's forward, like any Unity character.
//
// Texture: the native core makes no textures. Assign the PNG that `stylemm-export --glb`
// writes, or one made in Unity with Sentis from the bundle's texture.onnx (see README.md).

using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using UnityEngine;
using UnityEngine.Networking;
using UnityEngine.Rendering;

namespace StyleMM
{
    [RequireComponent(typeof(MeshFilter), typeof(MeshRenderer))]
    public sealed class StyleMMFace : MonoBehaviour
    {
        [Tooltip("The bundle (.smm), relative to Assets/StreamingAssets.")]
        public string bundleFile = "face.smm";

        [Header("Identity")]
        [Tooltip("Used when Shape is empty: the first K values of this seed's stream (smm_sample_normal), the same face as stylemm_runtime's character(seed=...).")]
        [Min(0)]
        public int seed = 0;
        [Tooltip("The identity's K shape values (~N(0, 1) each); leave empty to draw them from Seed.")]
        public float[] shape = new float[0];

        [Header("Expression (the bundle's order; 52 ARKit weights for OpenHead)")]
        [Range(0f, 1f)] public float[] expressionWeights = new float[0];

        [Header("Pose (Euler degrees, in this object's local axes)")]
        public Vector3 head;
        public Vector3 neck;
        public Vector3 jaw;
        public Vector3 leftEye;
        public Vector3 rightEye;

        [Header("Look")]
        [Tooltip("The character's texture: the PNG from `stylemm-export --glb`, or one made with Sentis from texture.onnx.")]
        public Texture2D texture;

        /// <summary>True once the bundle is loaded and the mesh built (loading can take a few frames on Android).</summary>
        public bool IsReady { get { return character != null; } }

        StyleMMModel model;
        StyleMMEvaluator evaluator;
        StyleMMCharacter character;
        Mesh mesh;

        // Made once at load; Update only fills them, so a frame allocates nothing.
        int[] positionOfVertex;   // render vertex -> position vertex
        float[] positions;        // 3N, bundle axes, from the core
        float[] normals;          // 3N
        float[] pose;             // 3J axis-angles, bundle axes
        Vector3[] renderVertices; // R render vertices, Unity axes
        Vector3[] renderNormals;  // R
        int[] poseJoints;         // joint index of head, neck, jaw, leftEye, rightEye (-1: not in this bundle)
        readonly Dictionary<string, int> expressionIndex = new Dictionary<string, int>();

        static readonly string[] PoseJointNames = { "global", "neck", "jaw", "left_eye", "right_eye" };

        IEnumerator Start()
        {
            byte[] data = null;
            string path = Path.Combine(Application.streamingAssetsPath, bundleFile);
            // On Android (and WebGL) StreamingAssets is a URL into the APK, not a folder: the
            // file can only be read whole, through UnityWebRequest, and loaded from memory.
            if (path.Contains("://"))
            {
                using (UnityWebRequest request = UnityWebRequest.Get(path))
                {
                    yield return request.SendWebRequest();
                    if (request.result != UnityWebRequest.Result.Success)
                    {
                        Debug.LogErrorFormat(this, "StyleMM: cannot read {0}: {1}", path, request.error);
                        yield break;
                    }
                    data = request.downloadHandler.data;
                }
            }
            try
            {
                model = data != null ? StyleMMModel.LoadFromMemory(data) : StyleMMModel.Load(path);
                evaluator = new StyleMMEvaluator(model);
                character = StyleMMCharacter.Create(evaluator, IdentityShape());
                Allocate();
                BuildMesh();
            }
            catch (Exception e)
            {
                Debug.LogErrorFormat(this, "StyleMM: {0}: {1}", path, e.Message);
                Release();
            }
        }

        /// <summary>Set one expression weight by name (an ARKit name such as "jawOpen").</summary>
        public void SetWeight(string arkitName, float weight)
        {
            if (model == null)
            {
                Debug.LogWarning("StyleMM: SetWeight before the bundle is loaded (see IsReady)", this);
                return;
            }
            int index;
            if (!expressionIndex.TryGetValue(arkitName, out index))
            {
                // Asked once per name, then remembered: the lookup makes a UTF-8 copy of the name.
                index = model.FindExpression(arkitName);
                if (index < 0)
                    Debug.LogWarningFormat(this, "StyleMM: the bundle has no expression called {0}", arkitName);
                expressionIndex[arkitName] = index;
            }
            if (index >= 0)
                expressionWeights[index] = weight;
        }

        float[] IdentityShape()
        {
            int k = model.Info.shape_dim;
            if (shape != null && shape.Length == k)
                return shape;
            if (shape != null && shape.Length != 0)
                Debug.LogWarningFormat(this, "StyleMM: Shape has {0} values but this bundle takes {1}; drawing it from Seed", shape.Length, k);
            return StyleMMCharacter.SampleShape((ulong)Math.Max(seed, 0), k);
        }

        void Allocate()
        {
            ModelInfo info = model.Info;
            positions = new float[3 * info.vertices];
            normals = new float[3 * info.vertices];
            pose = new float[3 * info.joints];
            if (expressionWeights == null || expressionWeights.Length != info.expressions)
                Array.Resize(ref expressionWeights, info.expressions); // new bundle, other expression count
            poseJoints = new int[PoseJointNames.Length];
            for (int i = 0; i < PoseJointNames.Length; i++)
                poseJoints[i] = Array.IndexOf(model.JointNames, PoseJointNames[i]);
        }

        void BuildMesh()
        {
            var layout = StyleMMMeshLayout.FromModel(model);
            positionOfVertex = layout.PositionOfVertex;
            renderVertices = new Vector3[positionOfVertex.Length];
            renderNormals = new Vector3[positionOfVertex.Length];
            var uvs = new Vector2[positionOfVertex.Length];
            for (int u = 0; u < uvs.Length; u++)
                uvs[u] = new Vector2(layout.Uvs[2 * u], layout.Uvs[2 * u + 1]);

            mesh = new Mesh { name = "StyleMM " + bundleFile };
            mesh.MarkDynamic(); // rewritten every frame
            // 16-bit indices reach 65535 vertices: enough for OpenHead (5019 render vertices), not for every model.
            mesh.indexFormat = uvs.Length > 65535 ? IndexFormat.UInt32 : IndexFormat.UInt16;
            EvaluateFrame(); // a first frame so the mesh has positions before its triangles
            mesh.SetVertices(renderVertices);
            mesh.SetNormals(renderNormals);
            mesh.SetUVs(0, uvs);
            mesh.SetTriangles(layout.Triangles, 0);
            mesh.RecalculateBounds();
            GetComponent<MeshFilter>().sharedMesh = mesh;
            var meshRenderer = GetComponent<MeshRenderer>();
            if (texture != null && meshRenderer.sharedMaterial != null)
                meshRenderer.material.mainTexture = texture; // mainTexture: _MainTex, or URP / HDRP's base map
        }

        void Update()
        {
            if (character == null)
                return;
            EvaluateFrame();
            mesh.SetVertices(renderVertices);
            mesh.SetNormals(renderNormals);
            mesh.RecalculateBounds(); // the jaw and neck move the mesh; keep culling right
        }

        /// <summary>Evaluate the frame in bundle axes, then scatter to the render vertices in Unity's.</summary>
        void EvaluateFrame()
        {
            FillPose();
            evaluator.Evaluate(positions, normals, character, expressionWeights, pose);
            for (int u = 0; u < renderVertices.Length; u++)
            {
                int p = 3 * positionOfVertex[u];
                renderVertices[u] = new Vector3(-positions[p], positions[p + 1], positions[p + 2]); // X mirror: glTF -> Unity
                renderNormals[u] = new Vector3(-normals[p], normals[p + 1], normals[p + 2]);
            }
        }

        void FillPose()
        {
            SetJoint(poseJoints[0], head);
            SetJoint(poseJoints[1], neck);
            SetJoint(poseJoints[2], jaw);
            SetJoint(poseJoints[3], leftEye);
            SetJoint(poseJoints[4], rightEye);
        }

        void SetJoint(int joint, Vector3 eulerDegrees)
        {
            if (joint < 0)
                return;
            Vector3 axisAngle = ToBundleAxisAngle(Quaternion.Euler(eulerDegrees));
            pose[3 * joint] = axisAngle.x;
            pose[3 * joint + 1] = axisAngle.y;
            pose[3 * joint + 2] = axisAngle.z;
        }

        /// <summary>A rotation in Unity's axes as an axis-angle (radians) in the bundle's. With
        /// the mirror S = diag(-1, 1, 1), Unity's matrix is S R S, which turns about S axis by
        /// minus the angle: (x, y, z) * angle becomes (x, -y, -z) * angle. Computed from the
        /// quaternion itself rather than ToAngleAxis, whose axis is arbitrary at angle 0.</summary>
        static Vector3 ToBundleAxisAngle(Quaternion q)
        {
            if (q.w < 0f)
                q = new Quaternion(-q.x, -q.y, -q.z, -q.w); // the same rotation, the short way round
            var v = new Vector3(q.x, q.y, q.z); // axis * sin(angle / 2)
            float sinHalf = v.magnitude;
            // angle / sin(angle / 2), which tends to 2 at angle 0: no division by zero there.
            float scale = sinHalf < 1e-6f ? 2f : 2f * Mathf.Atan2(sinHalf, q.w) / sinHalf;
            return new Vector3(v.x * scale, -v.y * scale, -v.z * scale);
        }

        void OnDestroy()
        {
            Release();
            if (mesh != null)
                Destroy(mesh);
        }

        // Children before their model: the C ABI frees them with it.
        void Release()
        {
            if (character != null) character.Dispose();
            if (evaluator != null) evaluator.Dispose();
            if (model != null) model.Dispose();
            character = null;
            evaluator = null;
            model = null;
        }
    }
}
