using Onnx;

namespace ModelZoo.Torch.Weights.Onnx;

/// <summary>
/// The ONNX operators and attributes the importer understands, with the attribute values it can honour. Anything else
/// is refused with the node's name rather than ignored: an attribute the importer skipped could change what the layer
/// computes (a ceil_mode, an auto_pad), and the imported model would then differ from the file without a word.
/// Grows with the graph walkers: ResNet needs the first seven; BERT, as PyTorch's exporter writes it (LayerNorm, GELU
/// and attention spelt out in primitive operators, reshapes computed from Shape nodes), the rest. An operator listed
/// here is only read; what it computes is checked by the walker that meets it, which refuses a node it cannot map.
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
    static ValueCheck FloatIs(float expected, string why) => a => a.F == expected ? null : $"{a.Name} = {a.F:G9} ({why})";
    static Dictionary<string, ValueCheck> None() => new(StringComparer.Ordinal);

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

        // BERT. Elementwise arithmetic and the shape operators have no attributes that change their result here.
        ["MatMul"] = None(), ["Sub"] = None(), ["Mul"] = None(), ["Div"] = None(), ["Pow"] = None(),
        ["Sqrt"] = None(), ["Erf"] = None(), ["Tanh"] = None(), ["Shape"] = None(),
        // Opset 10 moved Slice's starts/ends/axes from attributes to inputs; the walker reads the inputs, so the
        // attribute form is refused by listing none.
        ["Slice"] = None(),
        ["Gemm"] = new(StringComparer.Ordinal)
        {
            ["alpha"] = FloatIs(1f, "a Linear layer scales by 1"), ["beta"] = FloatIs(1f, "a Linear layer adds its bias once"),
            ["transA"] = IntIs(0, "a Linear layer reads its input as is"), ["transB"] = Any,
        },
        // ReduceMean's axes moved to an input in opset 18; the walker reads either.
        ["ReduceMean"] = new(StringComparer.Ordinal)
        {
            ["axes"] = Any, ["keepdims"] = IntIs(1, "LayerNorm keeps the reduced axis to broadcast against"),
            ["noop_with_empty_axes"] = IntIs(0, "an empty axes list would reduce nothing"),
        },
        ["Softmax"] = new(StringComparer.Ordinal) { ["axis"] = Any },
        ["Transpose"] = new(StringComparer.Ordinal) { ["perm"] = Any },
        ["Reshape"] = new(StringComparer.Ordinal) { ["allowzero"] = IntIs(0, "a 0 in the shape copies the input's dimension") },
        ["Gather"] = new(StringComparer.Ordinal) { ["axis"] = Any },
        // Unsqueeze's axes moved to an input in opset 13; the walker reads either.
        ["Unsqueeze"] = new(StringComparer.Ordinal) { ["axes"] = Any },
        ["Concat"] = new(StringComparer.Ordinal) { ["axis"] = Any },
        // saturate only changes casts to float8 types, which the walker refuses.
        ["Cast"] = new(StringComparer.Ordinal) { ["to"] = Any, ["saturate"] = Any },
        // The value forms the walker reads; sparse and string constants are refused by not listing them.
        ["Constant"] = new(StringComparer.Ordinal)
        {
            ["value"] = Any, ["value_float"] = Any, ["value_floats"] = Any, ["value_int"] = Any, ["value_ints"] = Any,
        },
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
