// StyleMM native core from C#: P/Invoke declarations of the C ABI
// (bindings/include/stylemm/stylemm.h) and thin safe wrappers over its three handles.
//
// Plain C#, no UnityEngine types: it compiles with mono's mcs, and the test suite does so
// (tests/python/test_unity_interop.py) to check these declarations against the real library.
//
// IL2CPP / AOT rules kept here:
//  - only blittable types cross the boundary: IntPtr handles, int / long / float, arrays of
//    them, byte[] for UTF-8 strings and error buffers, and one sequential struct of ints;
//    the marshaller pins such arrays instead of copying them, so outputs land in place and
//    a call allocates nothing;
//  - no delegates and no callbacks from native code;
//  - `const char*` results come back as IntPtr and are read as UTF-8 here (FromUtf8Z), never
//    as `string`: the marshaller would try to free memory the library owns.
//
// The native core trusts the counts it is given. The wrappers therefore always pass the
// managed arrays' own lengths as counts (so a wrong size becomes SMM_ERR_SIZE from the
// core, never a buffer overrun), and check the arrays whose sizes the core derives from the
// model before calling.

using System;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

namespace StyleMM
{
    /// <summary>smm_status. The numbers are the ABI's: never renumber, only append.</summary>
    public enum StyleMMStatus
    {
        Ok = 0,
        InvalidArgument = 1, // SMM_ERR_INVALID_ARGUMENT
        NonFinite = 2,       // SMM_ERR_NON_FINITE
        NullPointer = 3,     // SMM_ERR_NULL_POINTER
        InvalidParents = 4,  // SMM_ERR_INVALID_PARENTS
        IO = 5,              // SMM_ERR_IO: a file is missing or cannot be read
        BadBundle = 6,       // SMM_ERR_BAD_BUNDLE: damaged, truncated or modified
        Version = 7,         // SMM_ERR_VERSION
        Size = 8,            // SMM_ERR_SIZE: a buffer or count does not match the model
        OutOfMemory = 9,     // SMM_ERR_OUT_OF_MEMORY
        Unsupported = 10,    // SMM_ERR_UNSUPPORTED
    }

    /// <summary>smm_model_info: sizes of a model, field for field (all C ints).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ModelInfo
    {
        public int vertices;    // N
        public int triangles;   // F
        public int uv_vertices; // U >= N: seams split vertices in the UV layout
        public int shape_dim;   // K
        public int expressions; // E
        public int joints;      // J
        public int texture_dim; // Z (the native core makes no textures)
    }

    /// <summary>The raw C ABI. Prefer the wrappers below: these trust every count.</summary>
    public static class StyleMMNative
    {
        // iOS links native plugins statically into the app, so IL2CPP must look there.
#if UNITY_IOS && !UNITY_EDITOR
        public const string Library = "__Internal";
#else
        public const string Library = "stylemm"; // libstylemm.so, stylemm.dll, libstylemm.dylib
#endif

        // STYLEMM_VERSION of the header these declarations mirror: MAJOR * 10000 + MINOR * 100 + PATCH.
        public const int HeaderVersion = 0 * 10000 + 3 * 100 + 0;

        const CallingConvention Cdecl = CallingConvention.Cdecl;

        [DllImport(Library, CallingConvention = Cdecl)] public static extern int smm_version();
        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr smm_status_string(StyleMMStatus status);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern StyleMMStatus smm_check_version(int headerVersion);

        // ---- Models. path / name: NUL-terminated UTF-8 (see Utf8Z); error: a caller's buffer.
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_model_load(out IntPtr model, byte[] path, byte[] error, int errorSize);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_model_load_memory(out IntPtr model, byte[] data, long size, byte[] error, int errorSize);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void smm_model_destroy(IntPtr model);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern StyleMMStatus smm_model_get_info(out ModelInfo info, IntPtr model);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern StyleMMStatus smm_model_get_faces([Out] int[] faces, IntPtr model, int size);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern StyleMMStatus smm_model_get_uv_faces([Out] int[] uvFaces, IntPtr model, int size);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern StyleMMStatus smm_model_get_uvs([Out] float[] uvs, IntPtr model, int size);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern StyleMMStatus smm_model_get_template([Out] float[] vertices, IntPtr model, int size);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_model_get_expression_name([Out] byte[] name, IntPtr model, int index, int size);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_model_get_joint_name([Out] byte[] name, IntPtr model, int index, int size);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int smm_model_find_expression(IntPtr model, byte[] name);

        // ---- Evaluators
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_evaluator_create(out IntPtr evaluator, IntPtr model, int threads, byte[] error, int errorSize);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void smm_evaluator_destroy(IntPtr evaluator);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr smm_evaluator_message(IntPtr evaluator);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_deform([Out] float[] vertices, IntPtr evaluator, float[] shapes, float[] expressions, int count);

        // ---- Characters. fitExpressions may be null (with nFit 0): the unit bake.
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_character_create(out IntPtr character, IntPtr evaluator, float[] shape, int shapeDim,
                                                                float[] fitExpressions, int nFit);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_character_create_baked(out IntPtr character, IntPtr evaluator, float[] neutral,
                                                                      float[] deltas, int nValues);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void smm_character_destroy(IntPtr character);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_character_get_neutral([Out] float[] neutral, IntPtr character, int size);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_character_get_deltas([Out] float[] deltas, IntPtr character, int size);

        // ---- Per frame. normals and pose may be null (pose with nPose 0).
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_evaluate([Out] float[] vertices, [Out] float[] normals, IntPtr evaluator, IntPtr character,
                                                        float[] expression, int nExpressions, float[] pose, int nPose, int nVertices);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_evaluate_many([Out] float[] vertices, [Out] float[] normals, IntPtr evaluator,
                                                             IntPtr[] characters, float[] expressions, int nExpressions,
                                                             float[] poses, int nPose, int nVertices, int count);

        // ---- Stateless building blocks
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_blend_shapes([Out] float[] vertices, float[] template, float[] deltas, float[] coeffs,
                                                            int nVertices, int nShapes);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_joint_transforms([Out] float[] transforms, float[] restJoints, int[] parents,
                                                                float[] axisAngle, int nJoints);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_skin([Out] float[] vertices, float[] restVertices, float[] weights, float[] transforms,
                                                    int nVertices, int nJoints);

        // ---- The render mesh (UV-seam split) and seeds. The split's output arrays may all be
        // null (with capacity 0) to learn nRender first.
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_split_uv_seams(out int nRender, [Out] int[] vertexMap, [Out] int[] uvMap, [Out] int[] triangles,
                                                              int[] faces, int[] uvFaces, int nTriangles, int nVertices, int nUvVertices,
                                                              int capacity);
        [DllImport(Library, CallingConvention = Cdecl)]
        public static extern StyleMMStatus smm_sample_normal([Out] float[] values, ulong seed, int count);

        /// <summary>count values ~ N(0, 1) of seed: the same bits as stylemm_runtime's and every
        /// other binding's (smm_sample_normal), so a seed is one character everywhere.</summary>
        public static float[] SampleNormal(ulong seed, int count)
        {
            if (count < 0)
                throw new StyleMMException(StyleMMStatus.InvalidArgument, "count must be >= 0");
            var values = new float[count];
            StyleMMException.Check(smm_sample_normal(values, seed, count));
            return values;
        }

        /// <summary>A wrapper's handle, or ObjectDisposedException naming the wrapper once it is disposed.</summary>
        internal static IntPtr Live(IntPtr handle, string owner)
        {
            if (handle == IntPtr.Zero)
                throw new ObjectDisposedException(owner);
            return handle;
        }

        /// <summary>s as NUL-terminated UTF-8: C strings cross the boundary as byte[], which is
        /// blittable and means the same on every platform (the "ANSI" marshalling does not).</summary>
        public static byte[] Utf8Z(string s)
        {
            var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            Encoding.UTF8.GetBytes(s, 0, s.Length, bytes, 0);
            return bytes;
        }

        /// <summary>The UTF-8 text of a C string buffer, up to its first NUL.</summary>
        public static string FromUtf8Z(byte[] buffer)
        {
            int length = Array.IndexOf(buffer, (byte)0);
            return Encoding.UTF8.GetString(buffer, 0, length < 0 ? buffer.Length : length);
        }

        /// <summary>The UTF-8 text of a NUL-terminated C string the library owns. (Not
        /// Marshal.PtrToStringAnsi: "ANSI" is the code page on Windows, and messages hold UTF-8 paths.)</summary>
        public static string FromUtf8Z(IntPtr text)
        {
            if (text == IntPtr.Zero)
                return "";
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0)
                length++;
            var bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        public static string StatusString(StyleMMStatus status)
        {
            return FromUtf8Z(smm_status_string(status));
        }

        static bool versionChecked;

        /// <summary>Refuse a library of another version than these declarations, once per process.
        /// Called before the first load. The race between threads is benign (both check).</summary>
        public static void EnsureVersion()
        {
            if (versionChecked)
                return;
            StyleMMStatus status = smm_check_version(HeaderVersion);
            if (status != StyleMMStatus.Ok)
                throw new StyleMMException(status, string.Format(
                    "the stylemm library is version {0}, these bindings were written for {1}; ship the library that came with them",
                    VersionString(smm_version()), VersionString(HeaderVersion)));
            versionChecked = true;
        }

        public static string VersionString(int packed)
        {
            return string.Format("{0}.{1}.{2}", packed / 10000, packed / 100 % 100, packed % 100);
        }
    }

    /// <summary>A failed call of the native core: its status and its message.</summary>
    public class StyleMMException : Exception
    {
        public readonly StyleMMStatus Status;

        public StyleMMException(StyleMMStatus status, string message)
            : base(string.IsNullOrEmpty(message) ? status.ToString() : message)
        {
            Status = status;
        }

        /// <summary>Throw for a failed call without a handle to hold its message: the status's own description.</summary>
        internal static void Check(StyleMMStatus status)
        {
            if (status != StyleMMStatus.Ok)
                throw new StyleMMException(status, StyleMMNative.StatusString(status));
        }

        internal static StyleMMException Size(string what, int got, int expected)
        {
            return new StyleMMException(StyleMMStatus.Size, string.Format("{0} has {1} values, the model needs {2}", what, got, expected));
        }
    }

    /// <summary>One bundle, immutable: share it between threads. Dispose it after the
    /// evaluators and characters made from it (Dispose refuses before that). Like Unity's
    /// NativeArray, the wrappers have no finalizers: the native memory is freed by Dispose
    /// only (a finalizer could free a model before its characters, in any order).</summary>
    public sealed class StyleMMModel : IDisposable
    {
        const int ErrorBytes = 1024; // messages name a file and a reason; longer ones are cut by the core

        IntPtr handle;
        int children; // live evaluators and characters; the C ABI requires them gone first

        public ModelInfo Info { get; private set; }
        public string[] ExpressionNames { get; private set; } // bundle order: the order of expression weights
        public string[] JointNames { get; private set; }      // the order of pose rotations

        StyleMMModel(IntPtr handle)
        {
            this.handle = handle;
            ModelInfo info;
            StyleMMException.Check(StyleMMNative.smm_model_get_info(out info, handle));
            Info = info;
            ExpressionNames = ReadNames(info.expressions, false);
            JointNames = ReadNames(info.joints, true);
        }

        /// <summary>A bundle directory or .smm file on disk.</summary>
        public static StyleMMModel Load(string path)
        {
            StyleMMNative.EnsureVersion();
            var error = new byte[ErrorBytes];
            IntPtr model;
            StyleMMStatus status = StyleMMNative.smm_model_load(out model, StyleMMNative.Utf8Z(path), error, error.Length);
            return Wrap(status, model, error);
        }

        /// <summary>A .smm archive in memory (e.g. read from an Android APK); the model keeps its own copy.</summary>
        public static StyleMMModel LoadFromMemory(byte[] data)
        {
            if (data == null)
                throw new ArgumentNullException("data");
            StyleMMNative.EnsureVersion();
            var error = new byte[ErrorBytes];
            IntPtr model;
            StyleMMStatus status = StyleMMNative.smm_model_load_memory(out model, data, data.LongLength, error, error.Length);
            return Wrap(status, model, error);
        }

        static StyleMMModel Wrap(StyleMMStatus status, IntPtr model, byte[] error)
        {
            if (status != StyleMMStatus.Ok)
                throw new StyleMMException(status, StyleMMNative.FromUtf8Z(error));
            try
            {
                return new StyleMMModel(model);
            }
            catch
            {
                StyleMMNative.smm_model_destroy(model);
                throw;
            }
        }

        public IntPtr Handle { get { return StyleMMNative.Live(handle, "StyleMMModel"); } }

        /// <summary>Index of an expression by name (an ARKit name for OpenHead), or -1.</summary>
        public int FindExpression(string name)
        {
            return name == null ? -1 : StyleMMNative.smm_model_find_expression(Handle, StyleMMNative.Utf8Z(name));
        }

        public int[] GetFaces() { var a = new int[3 * Info.triangles]; StyleMMException.Check(StyleMMNative.smm_model_get_faces(a, Handle, a.Length)); return a; }
        public int[] GetUvFaces() { var a = new int[3 * Info.triangles]; StyleMMException.Check(StyleMMNative.smm_model_get_uv_faces(a, Handle, a.Length)); return a; }
        public float[] GetUvs() { var a = new float[2 * Info.uv_vertices]; StyleMMException.Check(StyleMMNative.smm_model_get_uvs(a, Handle, a.Length)); return a; }
        public float[] GetTemplate() { var a = new float[3 * Info.vertices]; StyleMMException.Check(StyleMMNative.smm_model_get_template(a, Handle, a.Length)); return a; }

        string[] ReadNames(int count, bool joints)
        {
            var names = new string[count];
            for (int i = 0; i < count; i++)
            {
                // Names are short; grow the buffer only for the unusual one that does not fit.
                for (int size = 64; ; size *= 4)
                {
                    var buffer = new byte[size];
                    StyleMMStatus status = joints ? StyleMMNative.smm_model_get_joint_name(buffer, handle, i, size)
                                                  : StyleMMNative.smm_model_get_expression_name(buffer, handle, i, size);
                    if (status == StyleMMStatus.Size && size < 1 << 16)
                        continue;
                    StyleMMException.Check(status);
                    names[i] = StyleMMNative.FromUtf8Z(buffer);
                    break;
                }
            }
            return names;
        }

        // Interlocked: characters may be made and freed on several threads (one evaluator each).
        internal void AddChild() { Interlocked.Increment(ref children); }
        internal void RemoveChild() { Interlocked.Decrement(ref children); }

        public void Dispose()
        {
            if (handle == IntPtr.Zero)
                return;
            if (children > 0)
                throw new InvalidOperationException(string.Format(
                    "dispose this model's {0} evaluator(s) and character(s) first: the native core frees them with it", children));
            StyleMMNative.smm_model_destroy(handle);
            handle = IntPtr.Zero;
        }
    }

    /// <summary>Scratch memory and the message of the last failed call, for one thread.
    /// Not thread-safe: make one per thread that evaluates.</summary>
    public sealed class StyleMMEvaluator : IDisposable
    {
        IntPtr handle;
        public StyleMMModel Model { get; private set; }

        public StyleMMEvaluator(StyleMMModel model, int threads = 1)
        {
            var error = new byte[256];
            IntPtr evaluator;
            StyleMMStatus status = StyleMMNative.smm_evaluator_create(out evaluator, model.Handle, threads, error, error.Length);
            if (status != StyleMMStatus.Ok)
                throw new StyleMMException(status, StyleMMNative.FromUtf8Z(error));
            handle = evaluator;
            Model = model;
            model.AddChild();
        }

        public IntPtr Handle { get { return StyleMMNative.Live(handle, "StyleMMEvaluator"); } }

        /// <summary>Throw with this evaluator's message when a call through it failed.</summary>
        internal void Check(StyleMMStatus status)
        {
            if (status != StyleMMStatus.Ok)
                throw new StyleMMException(status, StyleMMNative.FromUtf8Z(StyleMMNative.smm_evaluator_message(handle)));
        }

        /// <summary>One frame: vertices and normals (3N each; normals may be null) of a
        /// character for E expression weights and a pose of 3J axis-angles (null: rest pose).
        /// Allocates nothing, so it can run every frame.</summary>
        public void Evaluate(float[] vertices, float[] normals, StyleMMCharacter character, float[] expression, float[] pose)
        {
            if (vertices == null || character == null || expression == null)
                throw new ArgumentNullException(vertices == null ? "vertices" : character == null ? "character" : "expression");
            if (vertices.Length % 3 != 0 || (normals != null && normals.Length != vertices.Length))
                throw new StyleMMException(StyleMMStatus.Size, "vertices and normals must be two arrays of 3N floats");
            Check(StyleMMNative.smm_evaluate(vertices, normals, Handle, character.Handle, expression, expression.Length,
                                             pose, pose == null ? 0 : pose.Length, vertices.Length / 3));
        }

        /// <summary>The exact deformer (no baking) for count (shape, expression) pairs: (count, N, 3) unposed vertices.</summary>
        public void Deform(float[] vertices, float[] shapes, float[] expressions, int count)
        {
            ModelInfo info = Model.Info;
            ExpectLength("vertices", vertices, count * info.vertices * 3);
            ExpectLength("shapes", shapes, count * info.shape_dim);
            ExpectLength("expressions", expressions, count * info.expressions);
            Check(StyleMMNative.smm_deform(vertices, Handle, shapes, expressions, count));
        }

        internal static void ExpectLength(string name, float[] array, int expected)
        {
            if (array == null)
                throw new ArgumentNullException(name);
            if (array.Length != expected)
                throw StyleMMException.Size(name, array.Length, expected);
        }

        public void Dispose()
        {
            if (handle == IntPtr.Zero)
                return;
            StyleMMNative.smm_evaluator_destroy(handle);
            handle = IntPtr.Zero;
            Model.RemoveChild();
        }
    }

    /// <summary>One identity baked into morph targets; immutable, shareable between threads.</summary>
    public sealed class StyleMMCharacter : IDisposable
    {
        IntPtr handle;
        public StyleMMModel Model { get; private set; }

        StyleMMCharacter(IntPtr handle, StyleMMModel model)
        {
            this.handle = handle;
            Model = model;
            model.AddChild();
        }

        /// <summary>Bake identity shape (K values). fitExpressions null: the unit bake; else
        /// (n, E) weights, row after row, for the least-squares bake. Takes tens to hundreds of
        /// milliseconds: create characters at load time.</summary>
        public static StyleMMCharacter Create(StyleMMEvaluator evaluator, float[] shape, float[] fitExpressions = null)
        {
            if (shape == null)
                throw new ArgumentNullException("shape");
            int e = evaluator.Model.Info.expressions;
            if (fitExpressions != null && (e == 0 || fitExpressions.Length % e != 0))
                throw new StyleMMException(StyleMMStatus.Size, string.Format("fitExpressions must hold whole rows of {0} weights", e));
            int nFit = fitExpressions == null ? 0 : fitExpressions.Length / e;
            IntPtr character;
            evaluator.Check(StyleMMNative.smm_character_create(out character, evaluator.Handle, shape, shape.Length, fitExpressions, nFit));
            return new StyleMMCharacter(character, evaluator.Model);
        }

        /// <summary>A character from morph targets baked elsewhere: neutral 3N, deltas 3EN floats.</summary>
        public static StyleMMCharacter CreateBaked(StyleMMEvaluator evaluator, float[] neutral, float[] deltas)
        {
            ModelInfo info = evaluator.Model.Info;
            StyleMMEvaluator.ExpectLength("neutral", neutral, 3 * info.vertices);
            StyleMMEvaluator.ExpectLength("deltas", deltas, 3 * info.vertices * info.expressions);
            IntPtr character;
            evaluator.Check(StyleMMNative.smm_character_create_baked(out character, evaluator.Handle, neutral, deltas,
                                                                     neutral.Length + deltas.Length));
            return new StyleMMCharacter(character, evaluator.Model);
        }

        /// <summary>The identity of a seed: the first dim (K) values of its stream
        /// (smm_sample_normal), the same face as stylemm_runtime's character(seed=...) and the
        /// Unreal sample's. The texture latent of the seed is the next Z values.</summary>
        public static float[] SampleShape(ulong seed, int dim)
        {
            return StyleMMNative.SampleNormal(seed, dim);
        }

        public IntPtr Handle { get { return StyleMMNative.Live(handle, "StyleMMCharacter"); } }

        /// <summary>The bake, for engines that animate with their own GPU morph targets: 3N floats.</summary>
        public float[] GetNeutral()
        {
            var a = new float[3 * Model.Info.vertices];
            StyleMMException.Check(StyleMMNative.smm_character_get_neutral(a, Handle, a.Length));
            return a;
        }

        /// <summary>3EN floats, one morph target after another, in the bundle's expression order.</summary>
        public float[] GetDeltas()
        {
            var a = new float[3 * Model.Info.vertices * Model.Info.expressions];
            StyleMMException.Check(StyleMMNative.smm_character_get_deltas(a, Handle, a.Length));
            return a;
        }

        public void Dispose()
        {
            if (handle == IntPtr.Zero)
                return;
            StyleMMNative.smm_character_destroy(handle);
            handle = IntPtr.Zero;
            Model.RemoveChild();
        }
    }
}
