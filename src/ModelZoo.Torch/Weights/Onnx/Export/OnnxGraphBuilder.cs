using Google.Protobuf;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights.Onnx.Export;

/// <summary>
/// Writes one ONNX graph node by node. Weights become initialisers named by their state_dict key
/// (<c>layer1.0.conv1.weight</c>), stored as they are in the module (a Linear's weight stays <c>[out, in]</c>; the graph
/// transposes it), so the file's initialisers are exactly the trained state_dict and can be checked against it.
/// Intermediate values are numbered; constants the graph needs (shapes, scales) are named <c>const_N</c>.
/// </summary>
public sealed class OnnxGraphBuilder
{
    readonly GraphProto _graph;
    readonly HashSet<string> _initializers = new(StringComparer.Ordinal);
    int _next;

    public OnnxGraphBuilder(string name) => _graph = new GraphProto { Name = name };

    public GraphProto Graph => _graph;

    /// <summary>A fresh value name with a readable stem: <c>layer1.0.conv1/Conv_12</c>.</summary>
    public string Fresh(string stem) => $"{stem}_{_next++}";

    /// <summary>The state_dict tensor <paramref name="key"/> as a FLOAT initialiser, written once however often it is used
    /// (BERT's word embeddings feed both the input and the tied MLM decoder).</summary>
    public string Weight(string key, Tensor value)
    {
        if (_initializers.Add(key)) _graph.Initializer.Add(FloatTensor(key, value));
        return key;
    }

    /// <summary>A module's parameter under its state_dict key, which must exist.</summary>
    public string Weight(string key, Parameter? value) =>
        Weight(key, (Tensor?)value ?? throw new OnnxExportException($"{key} is missing: the module has no such parameter."));

    public string ConstFloats(float[] values, params long[] dims)
    {
        var name = Fresh("const");
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.Add(dims);
        t.FloatData.Add(values);
        _graph.Initializer.Add(t);
        _initializers.Add(name);
        return name;
    }

    public string ConstFloat(float value) => ConstFloats([value]);

    public string ConstInts(long[] values, params long[] dims)
    {
        var name = Fresh("const");
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(dims);
        t.Int64Data.Add(values);
        _graph.Initializer.Add(t);
        _initializers.Add(name);
        return name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, indices).</summary>
    public string ConstInts(params long[] values) => ConstInts(values, values.Length);

    /// <summary>A scalar int64 constant.</summary>
    public string ConstScalar(long value) => ConstInts([value], []);

    /// <summary>Adds a node with one output and returns that output's name.</summary>
    public string Node(string opType, string scope, string[] inputs, params AttributeProto[] attributes)
    {
        var output = Fresh($"{scope}/{opType}");
        var node = new NodeProto { Name = output, OpType = opType };
        node.Input.Add(inputs);
        node.Output.Add(output);
        node.Attribute.Add(attributes);
        _graph.Node.Add(node);
        return output;
    }

    public void Input(string name, TensorProto.Types.DataType type, params object[] dims) => _graph.Input.Add(ValueInfo(name, type, dims));

    /// <summary>Names <paramref name="value"/> as a graph output (an Identity node renames it).</summary>
    public void Output(string value, string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var node = new NodeProto { Name = $"{name}/Identity", OpType = "Identity" };
        node.Input.Add(value);
        node.Output.Add(name);
        _graph.Node.Add(node);
        _graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>A dimension is a <see cref="long"/> (fixed) or a <see cref="string"/> (symbolic: <c>batch</c>, <c>sequence</c>).</summary>
    static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                string p => new TensorShapeProto.Types.Dimension { DimParam = p },
                long v => new TensorShapeProto.Types.Dimension { DimValue = v },
                int v => new TensorShapeProto.Types.Dimension { DimValue = v },
                _ => throw new ArgumentException($"A dimension is a number or a name, not {d}."),
            });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    static TensorProto FloatTensor(string name, Tensor value)
    {
        using var scope = NewDisposeScope();
        var cpu = value.detach().to(ScalarType.Float32, CPU).contiguous();
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.Add(cpu.shape);
        // raw_data is little-endian, as the tensor's memory is on every platform this project ships for.
        t.RawData = ByteString.CopyFrom(cpu.bytes);
        return t;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        return a;
    }

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
}

/// <summary>The model holds something the ONNX exporter cannot write; the message names the module and what it is.</summary>
public sealed class OnnxExportException(string message) : Exception(message);
