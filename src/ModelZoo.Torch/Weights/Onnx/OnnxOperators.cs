using Onnx;

namespace ModelZoo.Torch.Weights.Onnx;

/// <summary>
/// The ONNX operators and attributes the importer understands, with the attribute values it can honour. Anything else
/// is refused with the node's name rather than ignored: an attribute the importer skipped could change what the layer
/// computes (a ceil_mode, an auto_pad), and the imported model would then differ from the file without a word.
/// Grows with the graph walkers: ResNet needs these seven.
/// </summary>
public static class OnnxOperators
{
    /// <summary>Opsets of the default domain whose semantics for these operators the walkers implement: from 7
    /// (Add without the old broadcast/axis attributes, BatchNormalization without is_test) to 21.</summary>
    public const long MinOpset = 7, MaxOpset = 21;

    /// <summary>A check of one attribute's value: null when the importer can honour it, else the problem.</summary>
    delegate string? ValueCheck(AttributeProto a);

    static readonly ValueCheck Any = _ => null;
    static readonly ValueCheck NotSet = a => a.S.ToStringUtf8() is "" or "NOTSET" ? null : $"auto_pad {a.S.ToStringUtf8()} (only explicit pads, NOTSET, are read)";
    static ValueCheck IntIs(long expected, string why) => a => a.I == expected ? null : $"{a.Name} = {a.I} ({why})";

    static readonly Dictionary<string, Dictionary<string, ValueCheck>> Known = new(StringComparer.Ordinal)
    {
        ["Conv"] = new(StringComparer.Ordinal)
        {
            ["kernel_shape"] = Any, ["strides"] = Any, ["pads"] = Any, ["dilations"] = Any, ["group"] = Any, ["auto_pad"] = NotSet,
        },
        ["BatchNormalization"] = new(StringComparer.Ordinal)
        {
            // momentum only matters when training statistics, which inference never does.
            ["epsilon"] = Any, ["momentum"] = Any,
            ["spatial"] = IntIs(1, "per-channel statistics are the only kind a BatchNorm2d holds"),
            ["training_mode"] = IntIs(0, "an exported inference graph uses its running statistics"),
        },
        ["Relu"] = new(StringComparer.Ordinal),
        ["Add"] = new(StringComparer.Ordinal),
        ["MaxPool"] = new(StringComparer.Ordinal)
        {
            ["kernel_shape"] = Any, ["strides"] = Any, ["pads"] = Any, ["dilations"] = Any, ["auto_pad"] = NotSet,
            ["ceil_mode"] = IntIs(0, "the architectures pool with floor"),
            // Only lays out the optional Indices output, which is refused below.
            ["storage_order"] = Any,
        },
        ["AveragePool"] = new(StringComparer.Ordinal)
        {
            ["kernel_shape"] = Any, ["strides"] = Any, ["pads"] = Any, ["dilations"] = Any, ["auto_pad"] = NotSet,
            ["ceil_mode"] = IntIs(0, "the architectures pool with floor"),
            // Only matters where pads are not zero, which the walker refuses for a global pool.
            ["count_include_pad"] = Any,
        },
        ["GlobalAveragePool"] = new(StringComparer.Ordinal),
    };

    public static IReadOnlyCollection<string> Supported => Known.Keys;

    /// <summary>What stops the importer from honouring <paramref name="node"/>, or null when nothing does.</summary>
    public static string? Problem(NodeProto node)
    {
        if (node.Domain is not ("" or "ai.onnx"))
            return $"operator {node.Domain}.{node.OpType} is outside the default ONNX domain; the importer reads {string.Join(", ", Known.Keys)}";
        if (!Known.TryGetValue(node.OpType, out var attributes))
            return $"operator {node.OpType} is not supported; the importer reads {string.Join(", ", Known.Keys)}";
        foreach (var a in node.Attribute)
        {
            if (!attributes.TryGetValue(a.Name, out var check))
                return $"attribute '{a.Name}' of {node.OpType} is not understood";
            if (check(a) is { } problem) return $"cannot honour {problem}";
        }
        // The optional extra outputs (MaxPool's indices, training-mode BatchNorm's batch statistics) are not computed.
        if (node.Output.Count != 1)
            return $"{node.Output.Count} outputs; the importer computes the single output of {node.OpType}";
        return null;
    }

    /// <summary>How messages name a node: its name and operator, or its position when the exporter left it unnamed.</summary>
    public static string Describe(NodeProto node, int index = -1) =>
        string.IsNullOrEmpty(node.Name) ? $"node #{index} ({node.OpType})" : $"node '{node.Name}' ({node.OpType})";
}
