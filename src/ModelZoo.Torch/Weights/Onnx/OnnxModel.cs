// ONNX (onnx/onnx.proto): a protobuf ModelProto whose graph lists nodes (operator, input and output tensor names,
// attributes) in topological order, and initialisers: the weights, as TensorProto with dims and either raw
// little-endian bytes or a typed repeated field. OnnxSharp provides the generated protobuf classes.
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights.Onnx;

/// <summary>
/// A parsed ONNX file, checked before anything uses it: a model with a graph and an opset of the default domain the
/// importer knows, every node's operator and attributes understood (<see cref="OnnxOperators"/>), every tensor a node
/// reads defined before it. Throws <see cref="WeightsFormatException"/> naming the file and, for a node, the node.
/// Initialisers are turned into tensors only when asked for (<see cref="LoadInitializer"/>).
/// </summary>
public sealed class OnnxModel
{
    public string Path { get; }
    public ModelProto Proto { get; }
    public GraphProto Graph => Proto.Graph;
    /// <summary>The opset of the default ONNX domain.</summary>
    public long Opset { get; }
    /// <summary>Producer name and version as the file states them, e.g. "CNTK 2.6".</summary>
    public string Producer => $"{Proto.ProducerName} {Proto.ProducerVersion}".Trim();
    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }
    /// <summary>The graph inputs that are not initialisers (older IR versions list every weight as an input too).</summary>
    public IReadOnlyList<ValueInfoProto> Inputs { get; }

    readonly Dictionary<NodeProto, int> _index = new(ReferenceEqualityComparer.Instance);

    OnnxModel(string path, ModelProto proto, long opset, Dictionary<string, TensorProto> initializers, List<ValueInfoProto> inputs)
    {
        Path = path;
        Proto = proto;
        Opset = opset;
        Initializers = initializers;
        Inputs = inputs;
        for (int i = 0; i < proto.Graph.Node.Count; i++) _index[proto.Graph.Node[i]] = i;
    }

    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="WeightsFormatException">Truncated, not ONNX, or holding a node the importer does not understand.</exception>
    public static OnnxModel Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file not found: {path}", path);
        using var fs = File.OpenRead(path);
        return Read(fs, path);
    }

    /// <summary>Parses a model from <paramref name="stream"/> (a file, or a resource embedded in an assembly:
    /// <see cref="EmbeddedResources"/>); <paramref name="path"/> names it in errors.</summary>
    /// <exception cref="WeightsFormatException">Truncated, not ONNX, or holding a node the importer does not understand.</exception>
    public static OnnxModel Read(Stream stream, string path)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            // A cut inside the graph's length-delimited field ends the input mid-message: protobuf says so here.
            throw new WeightsFormatException(path, $"is truncated or not an ONNX model: {e.Message}", e);
        }
        return FromProto(proto, path);
    }

    /// <summary>Checks a model already parsed (tests build graphs this way); <paramref name="path"/> names it in errors.</summary>
    public static OnnxModel FromProto(ModelProto proto, string path)
    {
        WeightsFormatException Bad(string problem) => new(path, problem);

        // Protobuf accepts almost any bytes as some message with unknown fields; these say whether it is ONNX at all.
        if (proto.IrVersion < 3 || proto.Graph is null || proto.Graph.Node.Count == 0)
            throw Bad($"is not an ONNX model (IR version {proto.IrVersion}, {(proto.Graph is null ? "no graph" : $"{proto.Graph.Node.Count} nodes")}), or is truncated before its graph");
        var defaultOpsets = proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (defaultOpsets.Count != 1)
            throw Bad($"imports the default ONNX domain {defaultOpsets.Count} times; a model imports it once (a file cut short can lose it)");
        long opset = defaultOpsets[0].Version;
        if (opset is < OnnxOperators.MinOpset or > OnnxOperators.MaxOpset)
            throw Bad($"uses opset {opset}; the importer reads opsets {OnnxOperators.MinOpset} to {OnnxOperators.MaxOpset}");

        var graph = proto.Graph;
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
            if (!initializers.TryAdd(t.Name, t)) throw Bad($"defines initialiser '{t.Name}' twice");
        var inputs = graph.Input.Where(i => !initializers.ContainsKey(i.Name)).ToList();

        var defined = new HashSet<string>(initializers.Keys.Concat(inputs.Select(i => i.Name)), StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            var name = OnnxOperators.Describe(node, i);
            if (OnnxOperators.Problem(node) is { } problem) throw Bad($"{name}: {problem}");
            foreach (var input in node.Input)
                if (!defined.Contains(input))
                    throw Bad($"{name} reads '{input}', which no graph input, initialiser or earlier node defines");
            foreach (var output in node.Output)
                if (!defined.Add(output)) throw Bad($"{name} writes '{output}', which is already defined");
        }
        foreach (var output in graph.Output)
            if (!defined.Contains(output.Name)) throw Bad($"graph output '{output.Name}' is computed by no node");
        return new OnnxModel(path, proto, opset, initializers, inputs);
    }

    /// <summary>A node as messages name it: <c>node 'Convolution249' (Conv)</c>, or by position when unnamed.</summary>
    public string Describe(NodeProto node) => OnnxOperators.Describe(node, _index.GetValueOrDefault(node, -1));

    /// <summary>
    /// Initialiser <paramref name="name"/> as a contiguous CPU tensor: FLOAT as Float32, INT64 as Int64 (the zoo's
    /// canonical dtypes, <see cref="TensorDtypes"/>). The device is named because the process default can be meta
    /// while the portal measures an architecture (TorchRuntime.OnMeta).
    /// </summary>
    public Tensor LoadInitializer(string name)
    {
        if (!Initializers.TryGetValue(name, out var t)) throw new KeyNotFoundException($"{System.IO.Path.GetFileName(Path)}: no initialiser '{name}'");
        return LoadTensor(t, $"initialiser '{name}'");
    }

    /// <summary>A tensor the graph states, an initialiser or the <c>value</c> of a Constant node, as
    /// <see cref="LoadInitializer"/> reads it; <paramref name="what"/> names it in errors.</summary>
    public Tensor LoadTensor(TensorProto t, string what)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new WeightsFormatException(Path, $"{what} keeps its data in an external file, which the importer does not read");
        var shape = t.Dims.ToArray();
        long numel = TensorDtypes.NumelOf(shape) ?? throw new WeightsFormatException(Path, $"{what} has an invalid shape {TensorDtypes.Format(shape)}");
        var type = (TensorProto.Types.DataType)t.DataType;
        var (dtype, typed) = type switch
        {
            TensorProto.Types.DataType.Float => (ScalarType.Float32, t.FloatData.Count > 0 ? MemoryMarshal.AsBytes<float>(t.FloatData.ToArray()).ToArray() : null),
            TensorProto.Types.DataType.Int64 => (ScalarType.Int64, t.Int64Data.Count > 0 ? MemoryMarshal.AsBytes<long>(t.Int64Data.ToArray()).ToArray() : null),
            _ => throw new WeightsFormatException(Path, $"{what} is of ONNX type {type}; the importer reads FLOAT and INT64"),
        };
        // raw_data is little-endian, as is every platform this project ships for, so it is the tensor's memory as is.
        ReadOnlySpan<byte> bytes = t.RawData.IsEmpty ? typed : t.RawData.Span;
        long expected = numel * TensorDtypes.ItemSize(dtype);
        if (bytes.Length != expected)
            throw new WeightsFormatException(Path, $"{what} holds {bytes.Length} bytes; its shape {TensorDtypes.Format(shape)} needs {expected}");
        var result = empty(shape, dtype: dtype, device: CPU);
        if (numel > 0) bytes.CopyTo(result.bytes);
        return result;
    }

    /// <summary>
    /// One initialiser of any ONNX file, without checking its graph: for constants of graphs no walker reads, such as
    /// the <c>MeanImage</c> of ML.NET's preprocessing graph (Split, Concat, Sub). Parsed as <see cref="Read"/> parses.
    /// </summary>
    /// <exception cref="WeightsFormatException">Truncated or not ONNX, or the initialiser is of a type the importer does not read.</exception>
    /// <exception cref="KeyNotFoundException">The file has no initialiser <paramref name="name"/>.</exception>
    public static Tensor ReadInitializer(string path, string name)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file not found: {path}", path);
        ModelProto proto;
        try
        {
            using var fs = File.OpenRead(path);
            proto = ModelProto.Parser.ParseFrom(fs);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new WeightsFormatException(path, $"is truncated or not an ONNX model: {e.Message}", e);
        }
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in proto.Graph?.Initializer ?? []) initializers.TryAdd(t.Name, t);
        return new OnnxModel(path, proto, 0, initializers, []).LoadInitializer(name);
    }
}
