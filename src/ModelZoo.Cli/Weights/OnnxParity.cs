using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Cli.Weights;

/// <summary>One parity run against an ONNX file.</summary>
/// <param name="WeightsPath">The TorchSharp side's weights (safetensors, .pth, .dat); null: taken from the ONNX file itself.</param>
/// <param name="Batch">Batch size where the file's batch dimension is symbolic (a fixed one is used as it is).</param>
/// <param name="Length">Sequence length of a text model where the file's is symbolic.</param>
/// <param name="InputScale">Image inputs are standard normal times this (ML.NET's ResNet-18 takes pixels minus a mean
/// on the 0-255 scale: about 128).</param>
public sealed record OnnxParityRequest(
    string Architecture, string OnnxPath, string? WeightsPath = null, int? NumClasses = null, string? ConfigJson = null,
    int Batch = 2, int Length = 16, double InputScale = 1, int Seed = 0,
    double Atol = OnnxParity.DefaultAtol, double Rtol = OnnxParity.DefaultRtol);

/// <summary>How the TorchSharp module got its weights, and each ONNX output compared.</summary>
public sealed record OnnxParityResult(string WeightsSource, IReadOnlyList<string> Messages, IReadOnlyList<OnnxParityOutput> Outputs)
{
    public bool Passed => Outputs.Count > 0 && Outputs.All(o => o.Closeness.Passed);
}

/// <param name="Compared">What of the module's it was compared with, e.g. <c>logits</c>, <c>pre-logits</c>, <c>last_hidden_state</c>.</param>
public sealed record OnnxParityOutput(string Name, long[] Shape, string Compared, Closeness Closeness);

/// <summary>
/// <c>modelzoo weights parity --reference onnx</c>: the same seeded inputs through an ONNX file in ONNX Runtime and
/// through the architecture in TorchSharp, every output of the file compared as torch.testing.assert_close compares
/// (absolute plus relative tolerance, both reported). The module's weights come from <c>--weights</c>, or else from the
/// file: by name when its initialisers are the architecture's state_dict keys (what <c>OnnxExporter</c> writes), or
/// by walking its graph (<see cref="OnnxImporter"/>: ML.NET's ResNet-18, the sentence-transformers encoders).
/// </summary>
public static class OnnxParity
{
    /// <summary>The ONNX parity tests' tolerances (OnnxResNetParityTests, OnnxBertParityTests, OnnxExportParityTests).</summary>
    public const double DefaultAtol = 1e-4, DefaultRtol = 1e-4;

    /// <exception cref="WeightsFormatException">A file is corrupt, or the ONNX file's inputs are not an image's or text's.</exception>
    /// <exception cref="WeightsImportException">The weights do not fit the architecture.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime refuses the file.</exception>
    public static OnnxParityResult Run(OnnxParityRequest r, ArchitectureRegistry? registry = null)
    {
        registry ??= ArchitectureRegistry.Default;
        var info = registry.Get(r.Architecture);
        var proto = Parse(r.OnnxPath);
        using var session = new InferenceSession(r.OnnxPath);
        Dictionary<string, Tensor>? fileWeights = r.WeightsPath is { } wp ? WeightsFile.Load(wp) : null;
        try
        {
            using var model = registry.Create(r.Architecture, Options(info, proto, r, fileWeights));
            var (source, messages) = LoadWeights(model, proto, r, fileWeights);
            model.eval();
            return Compare(model, session, r, source, messages);
        }
        finally
        {
            if (fileWeights is not null) foreach (var t in fileWeights.Values) t.Dispose();
        }
    }

    static ModelProto Parse(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file not found: {path}", path);
        try
        {
            using var fs = File.OpenRead(path);
            var proto = ModelProto.Parser.ParseFrom(fs);
            if (proto.Graph is null || proto.Graph.Node.Count == 0) throw new WeightsFormatException(path, "is not an ONNX model (no graph), or is truncated before its graph");
            return proto;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new WeightsFormatException(path, $"is truncated or not an ONNX model: {e.Message}", e);
        }
    }

    /// <summary>The shape to build: the options given, else what the file records (an export's <c>modelzoo.options</c>
    /// and <c>modelzoo.config</c>), else the classifier size of the weights file, else the architecture's defaults.</summary>
    static ArchitectureOptions Options(ArchitectureInfo info, ModelProto proto, OnnxParityRequest r, Dictionary<string, Tensor>? fileWeights)
    {
        var meta = proto.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        var options = new ArchitectureOptions(ConfigJson: r.ConfigJson ?? meta.GetValueOrDefault("modelzoo.config"));
        if (meta.TryGetValue("modelzoo.options", out var json))
        {
            var recorded = JsonSerializer.Deserialize<Dictionary<string, int>>(json) ?? [];
            options = options with
            {
                NumClasses = recorded.GetValueOrDefault("num_classes", options.NumClasses),
                HeadPoolSize = info.AdaptableHead && recorded.TryGetValue("head_pool_size", out var p) ? p : null,
                HeadHidden = info.AdaptableHead && recorded.TryGetValue("head_hidden", out var h) ? h : null,
            };
        }
        else if (fileWeights is not null)
        {
            // The classifier's key, asked of a model built on the meta device (no memory, even for VGG's default head).
            var prefix = TorchRuntime.OnMeta(() => info.Create(options), m => m.ClassifierPrefix);
            if (fileWeights.TryGetValue(prefix + ".weight", out var w) && w.shape is [var n, ..]) options = options with { NumClasses = (int)n };
        }
        return r.NumClasses is { } given ? options with { NumClasses = given } : options;
    }

    /// <summary>The module's weights: the file given, the ONNX file's initialisers by key, or its graph walked.</summary>
    static (string Source, IReadOnlyList<string> Messages) LoadWeights(ZooModel model, ModelProto proto, OnnxParityRequest r, Dictionary<string, Tensor>? fileWeights)
    {
        if (fileWeights is not null)
            return ($"{Path.GetFileName(r.WeightsPath)} (sha256 {Sha256.OfFile(r.WeightsPath!)})", StateDictImporter.Import(model, fileWeights, ImportOptions.Strict).Messages);
        var initializers = proto.Graph.Initializer.GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.First());
        var keys = model.state_dict().Keys.Where(k => !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        if (keys.All(initializers.ContainsKey))
        {
            var state = keys.ToDictionary(k => k, k => FloatTensor(initializers[k], r.OnnxPath));
            try
            {
                // num_batches_tracked, which ONNX does not hold, keeps the module's value; every other key must fit.
                var report = StateDictImporter.Import(model, state, new ImportOptions(ResetHeadOnMismatch: false, AllowMissing: true, FreshIfAbsent: false));
                return ($"the initialisers of {Path.GetFileName(r.OnnxPath)}, by state_dict key", report.Messages);
            }
            finally { foreach (var t in state.Values) t.Dispose(); }
        }
        var imported = OnnxImporter.Import(OnnxModel.FromProto(proto, r.OnnxPath), model);
        return ($"{Path.GetFileName(r.OnnxPath)}, imported by walking its graph", imported.Report.Messages);
    }

    static Tensor FloatTensor(TensorProto t, string path)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float)
            throw new WeightsFormatException(path, $"initialiser '{t.Name}' is of ONNX type {(TensorProto.Types.DataType)t.DataType}, not FLOAT");
        var shape = t.Dims.ToArray();
        float[] values = t.RawData.IsEmpty ? t.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        if (values.LongLength != shape.Aggregate(1L, (a, b) => a * b))
            throw new WeightsFormatException(path, $"initialiser '{t.Name}' holds {values.Length} values for shape [{string.Join(", ", shape)}]");
        return tensor(values, shape, device: CPU);
    }

    static OnnxParityResult Compare(ZooModel model, InferenceSession session, OnnxParityRequest r, string source, IReadOnlyList<string> messages)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(r.Seed);
        var inputs = new List<(string Name, OrtValue Value)>();
        try
        {
            Func<string, int, Tensor> expected = model is Bert bert
                ? TextInputs(bert, session, r, inputs)
                : ImageInputs(model, session, r, inputs);
            using var options = new RunOptions();
            using var results = session.Run(options, inputs.Select(i => i.Name).ToList(), inputs.Select(i => i.Value).ToList(), session.OutputNames);
            var outputs = new List<OnnxParityOutput>();
            for (int i = 0; i < results.Count; i++)
            {
                var name = session.OutputNames[i];
                var shape = results[i].GetTensorTypeAndShape().Shape;
                var actual = tensor(results[i].GetTensorDataAsSpan<float>().ToArray(), shape);
                var (compared, reference) = Match(name, i, actual, expected, model);
                outputs.Add(new OnnxParityOutput(name, shape, compared, Closeness.Measure(actual.reshape(reference.shape), reference, r.Atol, r.Rtol)));
            }
            return new OnnxParityResult(source, messages, outputs);
        }
        finally
        {
            foreach (var (_, v) in inputs) v.Dispose();
        }
    }

    /// <summary>One float input [batch, 3, H, W]; returns the module's outputs for it (logits, pre-logits).</summary>
    static Func<string, int, Tensor> ImageInputs(ZooModel model, InferenceSession session, OnnxParityRequest r, List<(string, OrtValue)> inputs)
    {
        if (session.InputMetadata.Count != 1)
            throw new WeightsFormatException(r.OnnxPath, $"has {session.InputMetadata.Count} inputs; an image model takes one [batch, 3, H, W]");
        var (name, meta) = session.InputMetadata.Single();
        var dims = meta.Dimensions;
        if (dims.Length != 4 || dims[2] <= 0 || dims[3] <= 0 || meta.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
            throw new WeightsFormatException(r.OnnxPath, $"input '{name}' is not a float [batch, 3, H, W] with a fixed H and W ([{string.Join(", ", dims)}])");
        long batch = dims[0] > 0 ? dims[0] : r.Batch;
        long[] shape = [batch, dims[1], dims[2], dims[3]];
        var x = randn(shape) * r.InputScale;
        inputs.Add((name, OrtValue.CreateTensorValueFromMemory(x.data<float>().ToArray(), shape)));
        Tensor? features = null;
        Tensor Features() => features ??= model.ForwardFeatures(x);
        return (what, _) => what == "logits" ? model.ForwardHead(Features()) : model.ForwardHead(Features(), preLogits: true);
    }

    /// <summary>input_ids, attention_mask, token_type_ids [batch, sequence]; every row after the first padded.</summary>
    static Func<string, int, Tensor> TextInputs(Bert model, InferenceSession session, OnnxParityRequest r, List<(string, OrtValue)> inputs)
    {
        string[] known = ["input_ids", "attention_mask", "token_type_ids"];
        var unknown = session.InputMetadata.Keys.Except(known).ToList();
        if (unknown.Count > 0 || !session.InputMetadata.ContainsKey("input_ids"))
            throw new WeightsFormatException(r.OnnxPath, $"has inputs {string.Join(", ", session.InputMetadata.Keys)}; a BERT takes input_ids and optionally attention_mask, token_type_ids");
        var dims = session.InputMetadata["input_ids"].Dimensions;
        long batch = dims[0] > 0 ? dims[0] : r.Batch, length = dims.Length > 1 && dims[1] > 0 ? dims[1] : r.Length;
        long[] shape = [batch, length];
        var ids = randint(1, model.Config.VocabSize, shape, dtype: ScalarType.Int64);
        var mask = ones(shape, dtype: ScalarType.Int64);
        for (long b = 1; b < batch; b++) mask[b, TensorIndex.Slice(Math.Max(1, length - 2 * b))] = 0;
        var types = model.Config.TypeVocabSize > 1 ? randint(0, 2, shape, dtype: ScalarType.Int64) : zeros(shape, dtype: ScalarType.Int64);
        var fed = new Dictionary<string, Tensor> { ["input_ids"] = ids, ["attention_mask"] = mask, ["token_type_ids"] = types };
        foreach (var n in session.InputMetadata.Keys) inputs.Add((n, OrtValue.CreateTensorValueFromMemory(fed[n].data<long>().ToArray(), shape)));
        // An input the file does not take is what the module assumes without it: no padding, one segment.
        Tensor? m = session.InputMetadata.ContainsKey("attention_mask") ? mask : null, t = session.InputMetadata.ContainsKey("token_type_ids") ? types : null;
        Tensor? hidden = null;
        Tensor Hidden() => hidden ??= model.Encoder.Encode(ids, m, t);
        return (what, _) => what switch
        {
            "last_hidden_state" => Hidden(),
            "pooler_output" => model.Encoder.Pool(Hidden()),
            _ => model.ForwardHead(Hidden()),
        };
    }

    /// <summary>What the file's output <paramref name="index"/> is: by name (logits, last_hidden_state, pooler_output), else
    /// a bare encoder's outputs in their usual order, else an image model's by size (logits, or the pooled pre-logits).</summary>
    static (string, Tensor) Match(string name, int index, Tensor actual, Func<string, int, Tensor> expected, ZooModel model)
    {
        var what = name switch
        {
            "logits" or "last_hidden_state" or "pooler_output" => name,
            _ when model is BertModel => index switch { 0 => "last_hidden_state", 1 => "pooler_output", _ => null },
            _ when model is Bert => "logits",
            _ => null,
        };
        if (what is not null) return (what, expected(what, index));
        var logits = expected("logits", index);
        if (logits.numel() == actual.numel()) return ("logits", logits);
        var preLogits = expected("pre-logits", index);
        if (preLogits.numel() == actual.numel()) return ("pre-logits", preLogits);
        throw new WeightsFormatException(name, $"output '{name}' [{string.Join(", ", actual.shape)}] is neither the logits [{string.Join(", ", logits.shape)}] nor the pooled features [{string.Join(", ", preLogits.shape)}] of {model.Architecture}");
    }
}
