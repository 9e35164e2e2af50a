using ModelZoo.Torch.Models;
using Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights.Onnx;

/// <summary>
/// Maps a BERT encoder graph, as PyTorch's ONNX exporter writes transformers' <c>BertModel</c>, onto a
/// <see cref="Bert"/>'s state_dict keys by the graph's structure, and checks that every node computes what the module
/// computes. The exporter spells each layer out in primitive operators, so the walker follows the hidden state from
/// the graph inputs and recognises, in order:
/// <list type="number">
/// <item>embeddings: Gather of the word table by the ids and of the token-type table by the token types, their Add,
/// the Add of the position table gathered at positions <c>0..L-1</c> (a Slice of a stated <c>arange</c>), then
/// LayerNorm;</item>
/// <item>the attention mask: Unsqueeze to <c>[B, 1, 1, L]</c>, Cast to float, <c>(1 - mask) * c</c> with c at most
/// -10,000 (transformers' old constant; the module uses the dtype's minimum: either makes a padded key's softmax weight
/// exactly 0 in float32 unless scores reach about 10,000);</item>
/// <item>per layer: three MatMul+Add projections of the layer input, each reshaped to <c>[B, L, heads, head_size]</c>
/// (the shape computed by Shape/Gather/Unsqueeze/Concat nodes, which the walker evaluates symbolically) and
/// transposed. The projection transposed to <c>[0, 2, 3, 1]</c> is the key, the left factor of the score MatMul the
/// query, the right factor of the context MatMul the value. Then Div by √head_size, Add of the mask, Softmax over the
/// keys, the context MatMul, Transpose and Reshape back to <c>[B, L, hidden]</c>, the output MatMul+Add, the residual
/// Add of the layer input and LayerNorm; the intermediate MatMul+Add, exact GELU (<c>x·(1+erf(x/√2))·0.5</c>), the
/// output MatMul+Add, the residual Add and LayerNorm;</item>
/// <item>optionally the pooler: Gather of position 0, Gemm (or MatMul+Add), Tanh, a graph output.</item>
/// </list>
/// LayerNorm is <c>ReduceMean, Sub, Pow 2, ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β</c>, with ε checked against the
/// config. MatMul weights are stored <c>[in, out]</c> and mapped transposed. Initialisers named with a Hugging Face key
/// (biases, LayerNorms and embeddings in the sentence-transformers files) must sit where the structure puts that key;
/// anonymous ones (<c>onnx::MatMul_788</c>, <c>927</c>) take the key of the place they sit. Heads, layers, sizes, ε,
/// activation and the attention scale must be the model's. Every node must be reached; anything else is refused with
/// the node named (<see cref="WeightsImportException"/>), before any tensor is read.
/// </summary>
public sealed partial class OnnxBertWalker
{
    /// <summary>A dimension: a number, or a symbol the graph leaves open (the batch and sequence length).</summary>
    readonly record struct Dim(long Value, string? Symbol)
    {
        public static Dim Of(long v) => new(v, null);
        public override string ToString() => Symbol ?? Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>An int64 tensor computed from shapes and constants: its own shape and its elements.</summary>
    sealed record Ints(long[] Shape, Dim[] Values);

    readonly OnnxModel _onnx;
    readonly Bert _model;
    readonly BertConfig _config;
    readonly Dictionary<string, long[]> _params;
    readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
    readonly Dictionary<string, Dim[]> _shapes = new(StringComparer.Ordinal);
    readonly Dictionary<string, Ints> _ints = new(StringComparer.Ordinal);
    readonly HashSet<NodeProto> _visited = new(ReferenceEqualityComparer.Instance);
    readonly List<OnnxMappedTensor> _mapped = [];
    readonly List<OnnxCheckedConstant> _constants = [];
    readonly HashSet<string> _read = new(StringComparer.Ordinal);
    readonly string _prefix;
    Dim _batch, _length;
    string _maskBias = "";

    OnnxBertWalker(OnnxModel onnx, Bert model)
    {
        _onnx = onnx;
        _model = model;
        _config = model.Config;
        _params = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal);
        _prefix = ReferenceEquals(model.Encoder, model) ? "" : "bert.";
        foreach (var node in onnx.Graph.Node)
        {
            foreach (var input in node.Input.Where(i => i.Length > 0).Distinct())
            {
                if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                list.Add(node);
            }
            foreach (var output in node.Output) _producer[output] = node;
        }
    }

    /// <summary>Walks <paramref name="onnx"/> as a BERT encoder and maps it onto <paramref name="model"/>'s keys.</summary>
    /// <exception cref="WeightsImportException">The graph is not a BERT the walker understands, or does not fit the model.</exception>
    public static OnnxMapping Map(OnnxModel onnx, Bert model) => new OnnxBertWalker(onnx, model).Walk();

    WeightsImportException Refuse(string problem) =>
        new($"{Path.GetFileName(_onnx.Path)} does not fit {_model.Architecture}: {problem}. Nothing was imported.");

    string Describe(NodeProto n) => _onnx.Describe(n);

    OnnxMapping Walk()
    {
        RefuseSharedWeights();
        var (ids, mask, types) = Inputs();
        var h = Embeddings(ids, types);
        _maskBias = MaskBias(mask);

        int layers = 0;
        while (NonShapeConsumers(h).Count(n => n.OpType == "MatMul" && n.Input[0] == h) == 3)
        {
            if (layers == _config.NumHiddenLayers)
                throw Refuse($"the graph has more than the {_config.NumHiddenLayers} encoder layers of {_model.Architecture} (a layer {layers} starts at '{h}')");
            h = Layer(layers++, h);
        }
        if (layers != _config.NumHiddenLayers)
            throw Refuse($"the graph has {layers} encoder layers, {_model.Architecture} {_config.NumHiddenLayers} (after layer {layers - 1}, '{h}' feeds " +
                         $"{Consumers(h) switch { { Count: 0 } => "nothing", var c => string.Join(", ", c.Select(Describe)) }})");
        if (!_onnx.Graph.Output.Any(o => o.Name == h))
            throw Refuse($"the last layer's output '{h}' is not a graph output; the walker maps encoders whose files return the last hidden state");
        Pooler(h);

        var unreached = _onnx.Graph.Node.Where(n => !_visited.Contains(n)).ToList();
        if (unreached.Count > 0)
            throw Refuse($"{string.Join(", ", unreached.Take(5).Select(Describe))}{(unreached.Count > 5 ? $" and {unreached.Count - 5} more" : "")} " +
                         "lie outside the embeddings, encoder layers and pooler a BERT consists of");

        var read = _onnx.Graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var unused = _onnx.Initializers.Keys.Where(k => !read.Contains(k)).Order(StringComparer.Ordinal).ToList();
        long[] inputShape = [Stated(_batch), Stated(_length)];
        return new OnnxMapping(_mapped, unused, inputShape) { Constants = _constants };
    }

    static long Stated(Dim d) => d.Symbol is null ? d.Value : -1;

    /// <summary>A state_dict key holds one tensor for one layer; a weight read twice cannot be expressed. Integer
    /// constants may be shared: they are checked, not imported.</summary>
    void RefuseSharedWeights()
    {
        foreach (var (name, t) in _onnx.Initializers)
            if ((TensorProto.Types.DataType)t.DataType == TensorProto.Types.DataType.Float
                && _consumers.TryGetValue(name, out var readers) && readers.Count > 1)
                throw Refuse($"initialiser '{name}' is read by {string.Join(" and ", readers.Select(Describe))}; a state_dict key belongs to one layer");
    }

    // ---- inputs and embeddings ----

    /// <summary>The three int64 <c>[batch, sequence]</c> inputs, told apart by what reads them, not by name: the mask
    /// is unsqueezed, the ids and token types each index one embedding table, and the ids also give the length.</summary>
    (string Ids, string Mask, string Types) Inputs()
    {
        if (_onnx.Inputs.Count != 3)
            throw Refuse($"the graph has {_onnx.Inputs.Count} inputs ({string.Join(", ", _onnx.Inputs.Select(i => i.Name))}); a BERT encoder reads ids, an attention mask and token types");
        foreach (var info in _onnx.Inputs)
        {
            var t = info.Type?.TensorType;
            var dims = t?.Shape?.Dim;
            if (t is null || t.ElemType != (int)TensorProto.Types.DataType.Int64 || dims is null || dims.Count != 2)
                throw Refuse($"input '{info.Name}' is not an int64 tensor of stated rank 2 ([batch, sequence])");
            Dim D(int i, string symbol) => dims[i].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? Dim.Of(dims[i].DimValue) : new Dim(0, symbol);
            // Every input is [batch, sequence]: the symbols go by position, whatever the exporter called them.
            _shapes[info.Name] = [D(0, "batch"), D(1, "sequence")];
        }
        _batch = _shapes[_onnx.Inputs[0].Name][0];
        _length = _shapes[_onnx.Inputs[0].Name][1];
        foreach (var info in _onnx.Inputs)
            if (!_shapes[info.Name].SequenceEqual([_batch, _length]))
                throw Refuse($"input '{info.Name}' is {Format(_shapes[info.Name])}, input '{_onnx.Inputs[0].Name}' {Format([_batch, _length])}; the inputs of a BERT have one shape");

        bool IndexesATable(string input) => Consumers(input).Any(n => n.OpType == "Gather" && n.Input.Count == 2 && n.Input[1] == input && _onnx.Initializers.ContainsKey(n.Input[0]));
        var names = _onnx.Inputs.Select(i => i.Name).ToList();
        var masks = names.Where(n => Consumers(n) is [{ OpType: "Unsqueeze" }]).ToList();
        var indexes = names.Where(IndexesATable).ToList();
        var ids = indexes.Where(n => Consumers(n).Any(c => c.OpType == "Shape")).ToList();
        if (masks.Count != 1 || indexes.Count != 2 || ids.Count != 1)
            throw Refuse($"of the inputs {string.Join(", ", names)}, {masks.Count} {(masks.Count == 1 ? "is" : "are")} unsqueezed as a mask, " +
                         $"{indexes.Count} index an embedding table and {ids.Count} of those also {(ids.Count == 1 ? "gives" : "give")} the sequence length; " +
                         "a BERT has one of each (mask; ids, which give positions; token types)");
        return (ids[0], masks[0], indexes.Single(n => n != ids[0]));
    }

    string Embeddings(string ids, string types)
    {
        var e = _prefix + "embeddings.";
        var word = Sole(NonShapeConsumers(ids), "Gather", ids, "the word embedding lookup");
        var type = Sole(Consumers(types), "Gather", types, "the token-type embedding lookup");
        var w = Lookup(word, ids, e + "word_embeddings.weight");
        var t = Lookup(type, types, e + "token_type_embeddings.weight");

        // transformers sums (words + token types) + positions, as Bert does.
        var sum = Next(w, "Add");
        if (Other(sum, w) != t) throw Refuse($"{Describe(sum)} adds '{Other(sum, w)}' to the word embeddings; BERT adds the token-type embeddings first");
        Shape(sum.Output[0], Broadcast(sum, _shapes[w], _shapes[t]));
        var withPositions = Next(sum.Output[0], "Add");
        var p = Other(withPositions, sum.Output[0]);
        var position = Producer(p, "Gather", $"{Describe(withPositions)} adds '{p}' where BERT adds the position embeddings");
        Lookup(position, Positions(position), e + "position_embeddings.weight");
        Shape(withPositions.Output[0], Broadcast(withPositions, _shapes[sum.Output[0]], _shapes[p]));
        return LayerNorm(withPositions.Output[0], e + "LayerNorm");
    }

    /// <summary>Gather of an embedding table (axis 0) by <paramref name="indices"/>: maps the table.</summary>
    string Lookup(NodeProto gather, string indices, string key)
    {
        Visit(gather);
        if (gather.Input.Count != 2 || gather.Input[1] != indices || IntAttribute(gather, "axis", 0) != 0)
            throw Refuse($"{Describe(gather)} is not a lookup of rows of a table by '{indices}' (Gather on axis 0)");
        var table = gather.Input[0];
        MapWeight(gather, table, key, transposed: false);
        Shape(gather.Output[0], [.. _shapes[indices], Dim.Of(_params[key][1])]);
        return gather.Output[0];
    }

    /// <summary>
    /// The position ids: a Slice of a stated [1, N] <c>arange</c> (an initialiser, as transformers' position_ids
    /// buffer, or a Constant) from 0 to the sequence length on axis 1, which is what the module counts itself.
    /// </summary>
    string Positions(NodeProto gather)
    {
        var positions = gather.Input[1];
        var slice = Producer(positions, "Slice", $"{Describe(gather)} gathers position embeddings at '{positions}'; the walker knows positions sliced from a stated 0, 1, 2, ...");
        Visit(slice);
        if (slice.Input.Count < 3)
            throw Refuse($"{Describe(slice)} has {slice.Input.Count} inputs; from opset 10 a Slice reads data, starts, ends [, axes, steps]");
        var (source, values) = StatedInt64(slice.Input[0], slice);
        if (values.Shape is not [1, var n] || n != _config.MaxPositionEmbeddings || values.Values.Select((v, i) => v.Value == i).Any(ok => !ok))
            throw Refuse($"{Describe(slice)} slices '{slice.Input[0]}' of shape {TensorDtypes.Format(values.Shape)}; the walker knows [1, {_config.MaxPositionEmbeddings}] holding 0, 1, 2, ...");
        if (source is not null) _constants.Add(new(source, slice.Name, $"position ids 0..{_config.MaxPositionEmbeddings - 1}; the model counts positions itself"));

        var starts = Eval(slice.Input[1], "the first position").Values;
        var ends = Eval(slice.Input[2], "the end of the positions").Values;
        var axes = slice.Input.Count > 3 && slice.Input[3].Length > 0 ? Eval(slice.Input[3], "the axis positions are sliced on").Values : [Dim.Of(0)];
        var steps = slice.Input.Count > 4 && slice.Input[4].Length > 0 ? Eval(slice.Input[4], "the step between positions").Values : [Dim.Of(1)];
        if (!starts.SequenceEqual([Dim.Of(0)]) || !ends.SequenceEqual([_length]) || !(axes.SequenceEqual([Dim.Of(1)]) || axes.SequenceEqual([Dim.Of(-1)])) || !steps.SequenceEqual([Dim.Of(1)]))
            throw Refuse($"{Describe(slice)} takes positions [{Format(starts)}:{Format(ends)}:{Format(steps)}] on axis {Format(axes)}; BERT's are 0 to the sequence length {_length} on axis 1");
        Shape(positions, [Dim.Of(1), _length]);
        return positions;
    }

    /// <summary>The additive attention bias from the mask: returns the tensor every layer adds to its scores.</summary>
    string MaskBias(string mask)
    {
        var x = mask;
        while (Consumers(x) is [{ OpType: "Unsqueeze" } unsqueeze])
        {
            Visit(unsqueeze);
            var axes = Axes(unsqueeze, "the axes the mask is unsqueezed on");
            var shape = _shapes[x].ToList();
            foreach (var a in axes.Select(a => a < 0 ? a + shape.Count + axes.Length : a).Order()) shape.Insert((int)a, Dim.Of(1));
            x = Shape(unsqueeze.Output[0], [.. shape]);
        }
        if (!_shapes[x].SequenceEqual([_batch, Dim.Of(1), Dim.Of(1), _length]))
            throw Refuse($"the mask is unsqueezed to {Format(_shapes[x])}; BERT broadcasts it over heads and queries as [batch, 1, 1, sequence]");
        var cast = Next(x, "Cast");
        if (IntAttribute(cast, "to", 0) != (long)TensorProto.Types.DataType.Float)
            throw Refuse($"{Describe(cast)} casts the mask to ONNX type {(TensorProto.Types.DataType)IntAttribute(cast, "to", 0)}; the walker knows float");
        x = Shape(cast.Output[0], _shapes[x]);
        var sub = Next(x, "Sub");
        if (sub.Input[1] != x || Scalar(sub.Input[0], sub) != 1f)
            throw Refuse($"{Describe(sub)} is not 1 - mask");
        x = Shape(sub.Output[0], _shapes[x]);
        var mul = Next(x, "Mul");
        var c = Scalar(Other(mul, x), mul);
        if (!(c <= -1e4f))
            throw Refuse($"{Describe(mul)} scales padding by {c:G9}; the walker knows a bias of at most -10000, which makes a padded key's attention weight 0 as the model's does");
        return Shape(mul.Output[0], _shapes[x]);
    }

    // ---- encoder layers ----

    sealed record Linear(NodeProto MatMul, string Weight, NodeProto Add, string Bias, string Output);

    string Layer(int index, string h)
    {
        var p = $"{_prefix}encoder.layer.{index}.";
        var projections = NonShapeConsumers(h).Where(n => n.OpType == "MatMul" && n.Input[0] == h).Select(m => LinearAt(h, m)).ToList();

        // Each projection is split into heads and transposed; the transposes decide which is which.
        var heads = projections.Select(l => (Linear: l, Heads: SplitHeads(l))).ToList();
        var keys = heads.Where(x => x.Heads.Perm.SequenceEqual([0, 2, 3, 1])).ToList();
        if (keys.Count != 1 || heads.Count(x => x.Heads.Perm.SequenceEqual([0, 2, 1, 3])) != 2)
            throw Refuse($"the projections of '{h}' are transposed as {string.Join(", ", heads.Select(x => $"[{string.Join(", ", x.Heads.Perm)}] by {Describe(x.Heads.Transpose)}"))}; " +
                         "self-attention transposes the key to [0, 2, 3, 1] and query and value to [0, 2, 1, 3]");
        var key = keys[0];
        var scores = Next(key.Heads.Output, "MatMul");
        var query = heads.FirstOrDefault(x => x.Heads.Output == scores.Input[0] && !ReferenceEquals(x.Linear, key.Linear));
        if (scores.Input[1] != key.Heads.Output || query.Linear is null)
            throw Refuse($"{Describe(scores)} multiplies '{scores.Input[0]}' by '{scores.Input[1]}'; attention scores are query heads times transposed key heads");
        var value = heads.Single(x => !ReferenceEquals(x.Linear, key.Linear) && !ReferenceEquals(x.Linear, query.Linear));
        if (!ReferenceEquals(Next(query.Heads.Output, "MatMul"), scores))
            throw Refuse($"the query heads '{query.Heads.Output}' feed more than the scores of {Describe(scores)}");
        long n = _config.NumAttentionHeads, d = _config.HeadSize;
        Shape(scores.Output[0], [_batch, Dim.Of(n), _length, _length]);

        var scale = Next(scores.Output[0], "Div");
        float divisor = scale.Input[0] == scores.Output[0] ? Scalar(scale.Input[1], scale) : float.NaN;
        if (!(Math.Abs(divisor - Math.Sqrt(d)) <= 1e-6 * Math.Sqrt(d)))
            throw Refuse($"{Describe(scale)} divides the scores by {divisor:G9}; heads of {d} are scaled by √{d} = {Math.Sqrt(d):G9}");
        Shape(scale.Output[0], _shapes[scores.Output[0]]);
        var masked = Next(scale.Output[0], "Add");
        if (Other(masked, scale.Output[0]) != _maskBias)
            throw Refuse($"{Describe(masked)} adds '{Other(masked, scale.Output[0])}' to the scores, not the attention mask's bias '{_maskBias}'");
        Shape(masked.Output[0], _shapes[scores.Output[0]]);
        var softmax = Next(masked.Output[0], "Softmax");
        // Before opset 13 Softmax flattens from `axis` on; at the last axis that is the softmax over the keys either way.
        long axis = IntAttribute(softmax, "axis", _onnx.Opset < 13 ? 1 : -1);
        if (axis is not (3 or -1))
            throw Refuse($"{Describe(softmax)} normalises over axis {axis}; attention normalises over the keys, the last of 4 axes");
        Shape(softmax.Output[0], _shapes[scores.Output[0]]);
        var context = Next(softmax.Output[0], "MatMul");
        if (context.Input[0] != softmax.Output[0] || context.Input[1] != value.Heads.Output)
            throw Refuse($"{Describe(context)} multiplies '{context.Input[0]}' by '{context.Input[1]}'; the context is the attention weights times the value heads");
        if (!ReferenceEquals(Next(value.Heads.Output, "MatMul"), context))
            throw Refuse($"the value heads '{value.Heads.Output}' feed more than the context of {Describe(context)}");
        Shape(context.Output[0], [_batch, Dim.Of(n), _length, Dim.Of(d)]);
        var merge = Next(context.Output[0], "Transpose");
        if (!IntsAttribute(merge, "perm").SequenceEqual([0, 2, 1, 3]))
            throw Refuse($"{Describe(merge)} transposes the context by [{string.Join(", ", IntsAttribute(merge, "perm"))}]; heads are merged from [0, 2, 1, 3]");
        Shape(merge.Output[0], [_batch, _length, Dim.Of(n), Dim.Of(d)]);
        var merged = Reshape(merge.Output[0], [_batch, _length, Dim.Of(_config.HiddenSize)], "merges the heads");

        MapLinear(query.Linear, p + "attention.self.query");
        MapLinear(key.Linear, p + "attention.self.key");
        MapLinear(value.Linear, p + "attention.self.value");
        var output = LinearAt(merged, Sole(NonShapeConsumers(merged), "MatMul", merged, "the attention output projection"));
        MapLinear(output, p + "attention.output.dense");
        var attention = LayerNorm(Residual(output.Output, h), p + "attention.output.LayerNorm");

        var intermediate = LinearAt(attention, Sole(NonShapeConsumers(attention).Where(c => c.OpType == "MatMul").ToList(), "MatMul", attention, "the intermediate projection"));
        MapLinear(intermediate, p + "intermediate.dense");
        var activated = Gelu(intermediate.Output);
        var ffn = LinearAt(activated, Sole(NonShapeConsumers(activated), "MatMul", activated, "the output projection"));
        MapLinear(ffn, p + "output.dense");
        return LayerNorm(Residual(ffn.Output, attention), p + "output.LayerNorm");
    }

    /// <summary>The Add of a sub-layer's output and its input.</summary>
    string Residual(string x, string input)
    {
        var add = Next(x, "Add");
        if (Other(add, x) != input)
            throw Refuse($"{Describe(add)} adds '{Other(add, x)}' to '{x}'; the residual connection adds the sub-layer's input '{input}'");
        return Shape(add.Output[0], _shapes[x]);
    }

    /// <summary>A projection reshaped to heads: the Reshape to [batch, sequence, heads, head size] and the Transpose after it.</summary>
    (NodeProto Transpose, long[] Perm, string Output) SplitHeads(Linear l)
    {
        long n = _config.NumAttentionHeads, d = _config.HeadSize;
        var split = Reshape(l.Output, [_batch, _length, Dim.Of(n), Dim.Of(d)], $"splits into {n} heads of {d}");
        var transpose = Next(split, "Transpose");
        var perm = IntsAttribute(transpose, "perm");
        var shape = _shapes[split];
        if (perm.Length != 4 || perm.Order().Select((v, i) => v == i).Any(ok => !ok))
            throw Refuse($"{Describe(transpose)} has perm [{string.Join(", ", perm)}]; heads are transposed by a permutation of 4 axes");
        Shape(transpose.Output[0], [.. perm.Select(a => shape[a])]);
        return (transpose, perm, transpose.Output[0]);
    }

    /// <summary>The Reshape of <paramref name="x"/> (its only reader other than Shape nodes), whose computed target
    /// must be <paramref name="expected"/>.</summary>
    string Reshape(string x, Dim[] expected, string purpose)
    {
        var reshape = Sole(NonShapeConsumers(x), "Reshape", x, $"the Reshape that {purpose}");
        Visit(reshape);
        if (reshape.Input[0] != x) throw Refuse($"{Describe(reshape)} reshapes '{reshape.Input[1]}', not '{x}'");
        var target = Eval(reshape.Input[1], $"the shape {Describe(reshape)} {purpose} to").Values;
        if (!target.SequenceEqual(expected))
            throw Refuse($"{Describe(reshape)} {purpose} as {Format(target)}; {_model.Architecture} has {Format(expected)} " +
                         $"({_config.NumAttentionHeads} heads of {_config.HeadSize}, hidden {_config.HiddenSize})");
        return Shape(reshape.Output[0], expected);
    }

    /// <summary>MatMul of <paramref name="x"/> by a stored weight, and the Add of a stored bias that follows: only
    /// looked at; <see cref="MapLinear"/> maps it once its place is known.</summary>
    Linear LinearAt(string x, NodeProto matmul)
    {
        Visit(matmul);
        if (matmul.Input[0] != x || !_onnx.Initializers.ContainsKey(matmul.Input[1]))
            throw Refuse($"{Describe(matmul)} multiplies '{matmul.Input[0]}' by '{matmul.Input[1]}'; a Linear layer multiplies its input by a stored weight");
        var add = Next(matmul.Output[0], "Add");
        var bias = Other(add, matmul.Output[0]);
        if (!_onnx.Initializers.ContainsKey(bias))
            throw Refuse($"{Describe(add)} adds '{bias}', which is computed rather than stored; a Linear layer's bias is stored");
        var w = _onnx.Initializers[matmul.Input[1]].Dims;
        var shape = _shapes[x];
        if (w.Count != 2 || shape[^1] != Dim.Of(w[0]))
            throw Refuse($"{Describe(matmul)} multiplies {Format(shape)} by '{matmul.Input[1]}' of shape {TensorDtypes.Format(w)}");
        Shape(matmul.Output[0], [.. shape[..^1], Dim.Of(w[1])]);
        Shape(add.Output[0], _shapes[matmul.Output[0]]);
        return new Linear(matmul, matmul.Input[1], add, bias, add.Output[0]);
    }

    /// <summary>Maps a Linear: its MatMul weight, stored [in, out], transposed to the key's [out, in].</summary>
    void MapLinear(Linear l, string key)
    {
        MapWeight(l.MatMul, l.Weight, key + ".weight", transposed: true);
        MapWeight(l.Add, l.Bias, key + ".bias", transposed: false);
    }

    /// <summary>Exact GELU as PyTorch exports it: x · (1 + erf(x / √2)) · 0.5.</summary>
    string Gelu(string x)
    {
        var readers = Consumers(x);
        var div = readers.FirstOrDefault(n => n.OpType == "Div" && n.Input[0] == x);
        var mul = readers.FirstOrDefault(n => n.OpType == "Mul");
        if (readers.Count != 2 || div is null || mul is null)
            throw Refuse($"'{x}' feeds {string.Join(", ", readers.Select(Describe))}; the walker knows the exact GELU x · (1 + erf(x / √2)) · 0.5 " +
                         $"(config hidden_act '{_config.HiddenAct}')");
        if (_config.HiddenAct != "gelu")
            throw Refuse($"the graph computes the exact (erf) GELU at {Describe(div)}; {_model.Architecture}'s config says hidden_act '{_config.HiddenAct}'");
        Visit(div);
        float root2 = Scalar(div.Input[1], div);
        if (!(Math.Abs(root2 - Math.Sqrt(2)) <= 1e-6)) throw Refuse($"{Describe(div)} divides by {root2:G9}, not √2");
        var erf = Next(div.Output[0], "Erf");
        var plus = Next(erf.Output[0], "Add");
        if (Scalar(Other(plus, erf.Output[0]), plus) != 1f) throw Refuse($"{Describe(plus)} does not add 1 to erf");
        if (!ReferenceEquals(Next(plus.Output[0], "Mul"), mul) || Other(mul, plus.Output[0]) != x) throw Refuse($"{Describe(mul)} does not multiply '{x}' by 1 + erf");
        var half = Next(mul.Output[0], "Mul");
        if (Scalar(Other(half, mul.Output[0]), half) != 0.5f) throw Refuse($"{Describe(half)} does not halve");
        return Shape(half.Output[0], _shapes[x]);
    }

    /// <summary>LayerNorm over the last axis as PyTorch exports it: ReduceMean, Sub, Pow 2, ReduceMean, Add ε, Sqrt,
    /// Div, Mul γ, Add β.</summary>
    string LayerNorm(string x, string key)
    {
        var readers = Consumers(x);
        var mean = readers.FirstOrDefault(n => n.OpType == "ReduceMean");
        var centre = readers.FirstOrDefault(n => n.OpType == "Sub" && n.Input[0] == x);
        if (readers.Count != 2 || mean is null || centre is null || centre.Input[1] != mean.Output[0])
            throw Refuse($"'{x}' feeds {string.Join(", ", readers.Select(Describe))} where {key} normalises it (ReduceMean, then Sub of the mean)");
        LastAxisMean(mean, x);
        Visit(centre);
        var d = Shape(centre.Output[0], _shapes[x]);
        var dReaders = Consumers(d);
        var pow = dReaders.FirstOrDefault(n => n.OpType == "Pow" && n.Input[0] == d);
        var div = dReaders.FirstOrDefault(n => n.OpType == "Div" && n.Input[0] == d);
        if (dReaders.Count != 2 || pow is null || div is null)
            throw Refuse($"'{d}' feeds {string.Join(", ", dReaders.Select(Describe))} where {key} squares it and divides it by the deviation");
        Visit(pow);
        if (Scalar(pow.Input[1], pow) != 2f) throw Refuse($"{Describe(pow)} is not a square");
        Shape(pow.Output[0], _shapes[x]);
        var variance = Next(pow.Output[0], "ReduceMean");
        LastAxisMean(variance, pow.Output[0]);
        var plusEps = Next(variance.Output[0], "Add");
        float eps = Scalar(Other(plusEps, variance.Output[0]), plusEps);
        // ONNX states ε in float32: 1e-12 arrives as 9.99999996e-13.
        if (!(Math.Abs(eps - _config.LayerNormEps) <= 1e-6 * _config.LayerNormEps))
            throw Refuse($"{Describe(plusEps)} has epsilon {eps:G6}, {key} has {_config.LayerNormEps:G6}");
        var sqrt = Next(plusEps.Output[0], "Sqrt");
        if (!ReferenceEquals(Next(sqrt.Output[0], "Div"), div) || div.Input[1] != sqrt.Output[0])
            throw Refuse($"{Describe(div)} does not divide the centred input by the deviation of {Describe(sqrt)}");
        var scale = Next(div.Output[0], "Mul");
        var shift = Next(scale.Output[0], "Add");
        MapWeight(scale, Other(scale, div.Output[0]), key + ".weight", transposed: false);
        MapWeight(shift, Other(shift, scale.Output[0]), key + ".bias", transposed: false);
        return Shape(shift.Output[0], _shapes[x]);
    }

    void LastAxisMean(NodeProto mean, string x)
    {
        Visit(mean);
        var axes = Axes(mean, "the axes of the mean");
        int rank = _shapes[x].Length;
        if (axes.Length != 1 || (axes[0] != -1 && axes[0] != rank - 1))
            throw Refuse($"{Describe(mean)} averages over axes [{string.Join(", ", axes)}]; LayerNorm averages over the last");
    }

    // ---- pooler ----

    /// <summary>transformers' pooler: the hidden state at position 0, dense (Gemm or MatMul+Add), Tanh. A file
    /// without one leaves the model's pooler to the importer's report (the key is then missing).</summary>
    void Pooler(string h)
    {
        var readers = NonShapeConsumers(h);
        if (readers.Count == 0) return;
        var first = Sole(readers, "Gather", h, "the pooler's pick of position 0");
        Visit(first);
        var at = first.Input.Count == 2 ? Eval(first.Input[1], "the position the pooler reads") : null;
        if (IntAttribute(first, "axis", 0) != 1 || at is null || at.Shape.Length != 0 || at.Values[0] != Dim.Of(0))
            throw Refuse($"{Describe(first)} is not the pick of the first position (Gather of index 0 on axis 1) that BERT's pooler reads");
        var key = _prefix + "pooler.dense";
        if (!_params.ContainsKey(key + ".weight"))
            throw Refuse($"the graph ends in a pooler ({Describe(first)}), which {_model.Architecture} does not have");
        var x = Shape(first.Output[0], [_batch, Dim.Of(_config.HiddenSize)]);
        var dense = Next(x, "Gemm", "MatMul");
        string output;
        if (dense.OpType == "Gemm")
        {
            Visit(dense);
            if (dense.Input.Count != 3 || dense.Input[0] != x)
                throw Refuse($"{Describe(dense)} is not a dense layer of '{x}' with a bias");
            // transB = 1 reads the weight as [out, in], PyTorch's layout, as torch.onnx exports nn.Linear.
            MapWeight(dense, dense.Input[1], key + ".weight", transposed: IntAttribute(dense, "transB", 0) == 0);
            MapWeight(dense, dense.Input[2], key + ".bias", transposed: false);
            output = dense.Output[0];
        }
        else
        {
            var l = LinearAt(x, dense);
            MapLinear(l, key);
            output = l.Output;
        }
        Shape(output, [_batch, Dim.Of(_config.HiddenSize)]);
        var tanh = Next(output, "Tanh");
        if (!_onnx.Graph.Output.Any(o => o.Name == tanh.Output[0]))
            throw Refuse($"{Describe(tanh)}'s pooled output is not a graph output");
    }

    // ---- weights ----

    /// <summary>
    /// Maps initialiser <paramref name="name"/>, read by <paramref name="node"/>, to <paramref name="key"/>. Its shape
    /// must be the key's (reversed when stored transposed); a name that is itself one of the model's keys must be
    /// this key, or the structure and the names disagree and the walker trusts neither.
    /// </summary>
    void MapWeight(NodeProto node, string name, string key, bool transposed)
    {
        Visit(node);
        if (!_params.TryGetValue(key, out var expected))
            throw Refuse($"{Describe(node)} reads '{name}' for {key}, which {_model.Architecture} does not have");
        if (!_onnx.Initializers.TryGetValue(name, out var t))
            throw Refuse($"{Describe(node)} reads '{name}' for {key}, which is computed in the graph rather than stored; the walker maps stored weights");
        if ((TensorProto.Types.DataType)t.DataType != TensorProto.Types.DataType.Float)
            throw Refuse($"{Describe(node)} reads '{name}' of ONNX type {(TensorProto.Types.DataType)t.DataType} for {key}; weights are float");
        var dims = t.Dims.ToArray();
        var stored = transposed ? dims.Reverse().ToArray() : dims;
        if (!stored.SequenceEqual(expected))
            throw Refuse($"{Describe(node)} reads '{name}' of shape {TensorDtypes.Format(dims)} for {key}, which is {TensorDtypes.Format(expected)}" +
                         (transposed ? " (stored transposed, [in, out])" : ""));
        if (_model.CheckpointKey(name) is { } named && _params.ContainsKey(named) && named != key)
            throw Refuse($"{Describe(node)} uses '{name}' as {key}, but the initialiser is named as {named}");
        if (!_read.Add(name))
            throw Refuse($"{Describe(node)} reads initialiser '{name}' a second time, for {key}; a state_dict key belongs to one layer");
        _mapped.Add(new(key, name, node.Name, transposed));
    }

    // ---- following the graph ----

    List<NodeProto> Consumers(string tensor) => _consumers.GetValueOrDefault(tensor) ?? [];

    /// <summary>Readers other than Shape nodes, which only feed the reshapes' computed targets (reached through <see cref="Eval"/>).</summary>
    List<NodeProto> NonShapeConsumers(string tensor) => [.. Consumers(tensor).Where(n => n.OpType != "Shape")];

    /// <summary>The only reader of <paramref name="tensor"/>, which must be one of <paramref name="ops"/>.</summary>
    NodeProto Next(string tensor, params string[] ops)
    {
        var readers = Consumers(tensor);
        if (readers.Count != 1 || !ops.Contains(readers[0].OpType))
            throw Refuse($"'{tensor}' feeds {(readers.Count == 0 ? "nothing" : string.Join(", ", readers.Select(Describe)))} where a BERT has one {string.Join(" or ", ops)}");
        Visit(readers[0]);
        return readers[0];
    }

    NodeProto Sole(List<NodeProto> readers, string op, string tensor, string what)
    {
        if (readers.Count != 1 || readers[0].OpType != op)
            throw Refuse($"'{tensor}' feeds {(readers.Count == 0 ? "nothing" : string.Join(", ", readers.Select(Describe)))} where {what} is one {op}");
        return readers[0];
    }

    NodeProto Producer(string tensor, string op, string problem)
    {
        var node = _producer.GetValueOrDefault(tensor);
        if (node is null || node.OpType != op) throw Refuse(problem);
        return node;
    }

    /// <summary>The other input of a binary node reading <paramref name="x"/>.</summary>
    string Other(NodeProto node, string x)
    {
        if (node.Input.Count != 2 || (node.Input[0] == x) == (node.Input[1] == x))
            throw Refuse($"{Describe(node)} is not a binary operation on '{x}' and another tensor");
        return node.Input[0] == x ? node.Input[1] : node.Input[0];
    }

    void Visit(NodeProto node) => _visited.Add(node);

    string Shape(string tensor, Dim[] shape)
    {
        _shapes[tensor] = shape;
        return tensor;
    }

    /// <summary>NumPy broadcasting of two shapes, which every elementwise ONNX operator from opset 7 applies.</summary>
    Dim[] Broadcast(NodeProto node, Dim[] a, Dim[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new Dim[rank];
        for (int i = 1; i <= rank; i++)
        {
            var x = i <= a.Length ? a[^i] : Dim.Of(1);
            var y = i <= b.Length ? b[^i] : Dim.Of(1);
            result[^i] = x == y || y == Dim.Of(1) ? x : x == Dim.Of(1) ? y
                : throw Refuse($"{Describe(node)} combines {Format(a)} and {Format(b)}, which do not broadcast");
        }
        return result;
    }

    static long IntAttribute(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    static long[] IntsAttribute(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.Ints.ToArray() : [];

    static string Format(IEnumerable<Dim> dims) => $"[{string.Join(", ", dims)}]";
}
