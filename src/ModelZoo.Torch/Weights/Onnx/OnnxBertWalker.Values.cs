using Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights.Onnx;

// The values the walker reads from the graph rather than from the hidden state's path: int64 tensors computed from
// shapes (a reshape's target), stated constants (ε, √head size, the position ids) and operator axes.
public sealed partial class OnnxBertWalker
{
    /// <summary>
    /// The value of an int64 tensor computed from shapes and constants: Constant, initialiser, Shape of a tensor the
    /// walk has met, Gather of elements, Unsqueeze, Concat and Add. Batch and sequence length stay symbols.
    /// </summary>
    Ints Eval(string tensor, string purpose)
    {
        if (_ints.TryGetValue(tensor, out var known)) return known;
        Ints result;
        if (_onnx.Initializers.ContainsKey(tensor) || _producer.GetValueOrDefault(tensor) is { OpType: "Constant" })
        {
            var (source, value) = StatedInt64(tensor, null);
            if (source is not null) _constants.Add(new(source, string.Join(", ", Consumers(tensor).Select(n => n.Name)), purpose));
            result = value;
        }
        else
        {
            var node = _producer.GetValueOrDefault(tensor) ?? throw Refuse($"'{tensor}', used as {purpose}, is neither computed nor stored");
            Visit(node);
            result = node.OpType switch
            {
                "Shape" when _shapes.TryGetValue(node.Input[0], out var shape) => new Ints([shape.Length], shape),
                "Shape" => throw Refuse($"{Describe(node)} takes the shape of '{node.Input[0]}', which the walker has not followed"),
                "Gather" => EvalGather(node, purpose),
                "Unsqueeze" => EvalUnsqueeze(node, purpose),
                "Concat" => EvalConcat(node, purpose),
                "Add" => EvalAdd(node, purpose),
                _ => throw Refuse($"{Describe(node)} computes {purpose} with an operator the walker does not evaluate"),
            };
        }
        _ints[tensor] = result;
        return result;
    }

    Ints EvalGather(NodeProto node, string purpose)
    {
        var data = Eval(node.Input[0], purpose);
        var indices = Eval(node.Input[1], purpose);
        if (data.Shape.Length != 1 || IntAttribute(node, "axis", 0) != 0 || indices.Values.Any(i => i.Symbol is not null))
            throw Refuse($"{Describe(node)} gathers from {TensorDtypes.Format(data.Shape)} in a way the walker does not evaluate");
        long n = data.Values.Length;
        var picked = indices.Values.Select(i => i.Value < 0 ? i.Value + n : i.Value).ToArray();
        if (picked.Any(i => i < 0 || i >= n)) throw Refuse($"{Describe(node)} gathers outside its {n} elements");
        return new Ints(indices.Shape, [.. picked.Select(i => data.Values[i])]);
    }

    Ints EvalUnsqueeze(NodeProto node, string purpose)
    {
        var x = Eval(node.Input[0], purpose);
        var axes = Axes(node, purpose);
        var shape = x.Shape.ToList();
        foreach (var a in axes.Select(a => a < 0 ? a + shape.Count + axes.Length : a).Order()) shape.Insert((int)a, 1);
        return new Ints([.. shape], x.Values);
    }

    Ints EvalConcat(NodeProto node, string purpose)
    {
        var parts = node.Input.Select(i => Eval(i, purpose)).ToList();
        if (parts.Any(p => p.Shape.Length != 1) || IntAttribute(node, "axis", 0) is not (0 or -1))
            throw Refuse($"{Describe(node)} concatenates tensors that are not vectors");
        return new Ints([parts.Sum(p => p.Values.Length)], [.. parts.SelectMany(p => p.Values)]);
    }

    Ints EvalAdd(NodeProto node, string purpose)
    {
        var a = Eval(node.Input[0], purpose);
        var b = Eval(node.Input[1], purpose);
        // Shape arithmetic adds one number to a dimension or a vector of them.
        if (b.Values.Length != 1) (a, b) = (b, a);
        if (b.Values.Length != 1) throw Refuse($"{Describe(node)} adds shapes of {a.Values.Length} and {b.Values.Length} elements");
        var add = b.Values[0];
        Dim Sum(Dim x) => (x.Symbol, add.Symbol) switch
        {
            (null, null) => Dim.Of(x.Value + add.Value),
            (not null, null) when add.Value == 0 => x,
            (null, not null) when x.Value == 0 => add,
            _ => throw Refuse($"{Describe(node)} adds {x} and {add}, which the walker does not evaluate"),
        };
        return new Ints(a.Shape.Length >= b.Shape.Length ? a.Shape : b.Shape, [.. a.Values.Select(Sum)]);
    }

    /// <summary>An int64 tensor the file states: an initialiser (returned as the source, to report) or a Constant node.</summary>
    (string? Source, Ints Value) StatedInt64(string tensor, NodeProto? reader)
    {
        Tensor t;
        string? source = null;
        if (_onnx.Initializers.TryGetValue(tensor, out var proto))
        {
            if ((TensorProto.Types.DataType)proto.DataType != TensorProto.Types.DataType.Int64)
                throw Refuse($"'{tensor}'{(reader is null ? "" : $", read by {Describe(reader)},")} is of ONNX type {(TensorProto.Types.DataType)proto.DataType} where the walker needs int64");
            t = _onnx.LoadInitializer(tensor);
            source = tensor;
        }
        else if (_producer.GetValueOrDefault(tensor) is { OpType: "Constant" } constant)
        {
            Visit(constant);
            t = ConstantValue(constant);
            if (t.dtype != ScalarType.Int64) { t.Dispose(); throw Refuse($"{Describe(constant)} states {t.dtype} where the walker needs int64"); }
        }
        else throw Refuse($"'{tensor}'{(reader is null ? "" : $", read by {Describe(reader)},")} is computed; the walker needs it stated");
        using (t)
            return (source, new Ints(t.shape, [.. t.data<long>().ToArray().Select(Dim.Of)]));
    }

    /// <summary>A float scalar the file states (a Constant node or a one-element initialiser), read by <paramref name="reader"/>.</summary>
    float Scalar(string tensor, NodeProto reader)
    {
        Visit(reader);
        Tensor t;
        if (_onnx.Initializers.ContainsKey(tensor))
        {
            t = _onnx.LoadInitializer(tensor);
            _constants.Add(new(tensor, reader.Name, $"the constant {reader.OpType} reads"));
        }
        else if (_producer.GetValueOrDefault(tensor) is { OpType: "Constant" } constant) { Visit(constant); t = ConstantValue(constant); }
        else throw Refuse($"{Describe(reader)} reads '{tensor}', which is computed; the walker needs a stated constant there");
        using (t)
        {
            if (t.dtype != ScalarType.Float32 || t.numel() != 1)
                throw Refuse($"{Describe(reader)} reads '{tensor}' ({t.dtype}, shape {TensorDtypes.Format(t.shape)}) where the walker needs one float");
            return t.item<float>();
        }
    }

    Tensor ConstantValue(NodeProto constant)
    {
        var a = constant.Attribute.Count == 1 ? constant.Attribute[0] : throw Refuse($"{Describe(constant)} states {constant.Attribute.Count} values");
        return a.Name switch
        {
            "value" => _onnx.LoadTensor(a.T, $"the value of {Describe(constant)}"),
            "value_float" => tensor(a.F, device: CPU),
            "value_floats" => tensor(a.Floats.ToArray(), device: CPU),
            "value_int" => tensor(a.I, device: CPU),
            "value_ints" => tensor(a.Ints.ToArray(), device: CPU),
            _ => throw Refuse($"{Describe(constant)} states its value as {a.Name}, which the walker does not read"),
        };
    }

    /// <summary>An Unsqueeze's or ReduceMean's axes: the attribute, or (Unsqueeze from opset 13, ReduceMean from 18)
    /// the second input.</summary>
    long[] Axes(NodeProto node, string purpose)
    {
        if (node.Attribute.FirstOrDefault(a => a.Name == "axes") is { } attribute) return attribute.Ints.ToArray();
        if (node.Input.Count < 2 || node.Input[1].Length == 0) throw Refuse($"{Describe(node)} states no axes");
        var axes = Eval(node.Input[1], purpose);
        if (axes.Values.Any(v => v.Symbol is not null)) throw Refuse($"{Describe(node)} has axes that depend on the input's size");
        return [.. axes.Values.Select(v => v.Value)];
    }
}
