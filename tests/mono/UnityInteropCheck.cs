// A console program over the Unity sample's interop layer (samples/unity/Runtime/StyleMMNative.cs
// and StyleMMMeshLayout.cs), compiled with mono's mcs and driven by
// tests/python/test_unity_interop.py, which checks what it prints and writes.
//
//   UnityInteropCheck.exe evaluate BUNDLE SHAPE EXPRESSION POSE OUT_DIR
//       SHAPE, EXPRESSION, POSE: comma-separated floats (K, E and 3J values; POSE may be "-"
//       for the rest pose). Loads BUNDLE from its path and from memory, bakes a character
//       (unit bake), evaluates one frame with each model and writes raw little-endian arrays
//       (the frame, the mesh layout, seed streams) to OUT_DIR; prints key=value lines.
//   UnityInteropCheck.exe error load|load-memory|expression-size BUNDLE
//       Does something that must fail; prints the StyleMMException's status and message.
//
// Exit codes: 0 done, 2 bad usage, 3 an expected error did not happen. Anything else thrown
// escapes, so mono exits non-zero with the stack trace.

using System;
using System.Globalization;
using System.IO;
using System.Linq;
using StyleMM;

static class UnityInteropCheck
{
    static int Main(string[] args)
    {
        if (args.Length == 6 && args[0] == "evaluate")
            return Evaluate(args[1], Floats(args[2]), Floats(args[3]), args[4] == "-" ? null : Floats(args[4]), args[5]);
        if (args.Length == 3 && args[0] == "error")
            return ExpectError(args[1], args[2]);
        Console.Error.WriteLine("usage: UnityInteropCheck.exe evaluate BUNDLE SHAPE EXPRESSION POSE OUT_DIR | error KIND BUNDLE");
        return 2;
    }

    static int Evaluate(string bundle, float[] shape, float[] expression, float[] pose, string outDir)
    {
        PrintAbi();
        using (StyleMMModel model = StyleMMModel.Load(bundle))
        using (StyleMMModel fromMemory = StyleMMModel.LoadFromMemory(File.ReadAllBytes(bundle)))
        {
            PrintModel(model);
            Print("memory_info_equal", fromMemory.Info.Equals(model.Info));
            WriteLayout(model, outDir);
            WriteSeeds(model, outDir);
            float[] vertices = EvaluateOnce(model, shape, expression, pose, outDir, "");
            EvaluateOnce(fromMemory, shape, expression, pose, outDir, "memory_");
            Print("vertices", vertices.Length / 3);
        }
        return 0;
    }

    /// <summary>The constants the bindings hard-code, for the test to compare with the header.</summary>
    static void PrintAbi()
    {
        Print("library_version", StyleMMNative.smm_version());
        Print("header_version", StyleMMNative.HeaderVersion);
        // What EnsureVersion relies on: a library refuses callers of another minor version.
        Print("check_version.next_minor", StyleMMNative.smm_check_version(StyleMMNative.HeaderVersion + 100));
        foreach (StyleMMStatus status in Enum.GetValues(typeof(StyleMMStatus)))
            Print("status." + status, (int)status);
    }

    static void PrintModel(StyleMMModel model)
    {
        ModelInfo info = model.Info;
        Print("info", string.Join(",", new[] { info.vertices, info.triangles, info.uv_vertices, info.shape_dim,
                                              info.expressions, info.joints, info.texture_dim }));
        Print("expression_names", string.Join(",", model.ExpressionNames));
        Print("joint_names", string.Join(",", model.JointNames));
        // The lookup StyleMMFace.SetWeight uses, over every name, and one that is absent.
        bool found = Enumerable.Range(0, info.expressions).All(i => model.FindExpression(model.ExpressionNames[i]) == i);
        Print("find_expression_ok", found && model.FindExpression("noSuchExpression") == -1);
    }

    static void WriteLayout(StyleMMModel model, string outDir)
    {
        var layout = StyleMMMeshLayout.FromModel(model);
        Write(outDir, "position_of_vertex.i32", layout.PositionOfVertex);
        Write(outDir, "uv_of_vertex.i32", layout.UvOfVertex);
        Write(outDir, "triangles.i32", layout.Triangles);
        Write(outDir, "unity_uvs.f32", layout.Uvs);
        Write(outDir, "template.f32", model.GetTemplate());
    }

    /// <summary>The seed stream through the C# binding: the character of seed 7 (K + Z values),
    /// the largest seed, and a NullPointer status for a null buffer.</summary>
    static void WriteSeeds(StyleMMModel model, string outDir)
    {
        Write(outDir, "seed_7.f32", StyleMMNative.SampleNormal(7, model.Info.shape_dim + model.Info.texture_dim));
        Write(outDir, "seed_max.f32", StyleMMNative.SampleNormal(ulong.MaxValue, 33));
        Write(outDir, "shape_7.f32", StyleMMCharacter.SampleShape(7, model.Info.shape_dim));
        Print("sample_normal.null", StyleMMNative.smm_sample_normal(null, 7, 3));
        Print("sample_normal.negative", StyleMMNative.smm_sample_normal(new float[1], 7, -1));
    }

    static float[] EvaluateOnce(StyleMMModel model, float[] shape, float[] expression, float[] pose, string outDir, string prefix)
    {
        int n = model.Info.vertices;
        var vertices = new float[3 * n];
        var normals = new float[3 * n];
        var evaluator = new StyleMMEvaluator(model);
        var character = StyleMMCharacter.Create(evaluator, shape); // unit bake: no fit expressions
        evaluator.Evaluate(vertices, normals, character, expression, pose);
        Write(outDir, prefix + "vertices.f32", vertices);
        Write(outDir, prefix + "normals.f32", normals);
        Write(outDir, prefix + "neutral.f32", character.GetNeutral());
        Print(prefix + "evaluate_allocated_bytes", AllocatedByFrames(evaluator, character, vertices, normals, expression, pose));
        Print(prefix + "dispose_guard", ModelRefusesDisposeBeforeChildren(model));
        character.Dispose();
        evaluator.Dispose();
        return vertices;
    }

    /// <summary>Bytes the managed side allocates over 100 frames: the Unity sample promises none.</summary>
    static long AllocatedByFrames(StyleMMEvaluator evaluator, StyleMMCharacter character, float[] vertices, float[] normals,
                                  float[] expression, float[] pose)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int frame = 0; frame < 100; frame++)
            evaluator.Evaluate(vertices, normals, character, expression, pose);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    static bool ModelRefusesDisposeBeforeChildren(StyleMMModel model)
    {
        try
        {
            model.Dispose();
            return false;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    static int ExpectError(string kind, string bundle)
    {
        try
        {
            switch (kind)
            {
                case "load":
                    StyleMMModel.Load(bundle).Dispose();
                    break;
                case "load-memory":
                    StyleMMModel.LoadFromMemory(File.ReadAllBytes(bundle)).Dispose();
                    break;
                case "expression-size":
                    EvaluateWithOneWeightTooMany(bundle);
                    break;
                default:
                    Console.Error.WriteLine("unknown error kind " + kind);
                    return 2;
            }
        }
        catch (StyleMMException e)
        {
            Print("status", e.Status);
            Print("code", (int)e.Status);
            Print("message", e.Message.Replace('\n', ' '));
            return 0;
        }
        Console.Error.WriteLine(kind + ": no StyleMMException");
        return 3;
    }

    static void EvaluateWithOneWeightTooMany(string bundle)
    {
        using (StyleMMModel model = StyleMMModel.Load(bundle))
        {
            ModelInfo info = model.Info;
            using (var evaluator = new StyleMMEvaluator(model))
            using (var character = StyleMMCharacter.Create(evaluator, new float[info.shape_dim]))
            {
                var vertices = new float[3 * info.vertices];
                evaluator.Evaluate(vertices, null, character, new float[info.expressions + 1], null);
            }
        }
    }

    static float[] Floats(string csv)
    {
        return csv.Split(',').Select(s => float.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
    }

    static void Write(string dir, string name, float[] values)
    {
        var bytes = new byte[4 * values.Length];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(Path.Combine(dir, name), bytes);
    }

    static void Write(string dir, string name, int[] values)
    {
        var bytes = new byte[4 * values.Length];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(Path.Combine(dir, name), bytes);
    }

    static void Print(string key, object value)
    {
        Console.WriteLine(key + "=" + Convert.ToString(value, CultureInfo.InvariantCulture));
    }
}
