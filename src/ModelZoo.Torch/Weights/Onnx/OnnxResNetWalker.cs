using ModelZoo.Torch.Models;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights.Onnx;

/// <summary>One initialiser placed at a state_dict key, and the node that reads it.</summary>
/// <param name="Transposed">The file stores the weight as <c>[in, out]</c> for a MatMul; the key holds PyTorch's
/// <c>[out, in]</c>, so the importer transposes it.</param>
public sealed record OnnxMappedTensor(string Key, string Initializer, string Node, bool Transposed = false);

/// <summary>An initialiser that is not a weight (a shape constant, the position ids) whose value the walker checked
/// against what the model computes, and what it means there.</summary>
public sealed record OnnxCheckedConstant(string Initializer, string Node, string Meaning);

/// <summary>Where the walk put every initialiser, and the initialisers no node reads.</summary>
/// <param name="InputShape">The graph input's shape; -1 where the file leaves a dimension symbolic.</param>
public sealed record OnnxMapping(IReadOnlyList<OnnxMappedTensor> Mapped, IReadOnlyList<string> UnusedInitializers, long[] InputShape)
{
    /// <summary>Initialisers read as constants, checked, and not imported (none in a ResNet file).</summary>
    public IReadOnlyList<OnnxCheckedConstant> Constants { get; init; } = [];
}

/// <summary>
/// Maps a ResNet graph's initialisers to torchvision's state_dict keys by the graph's structure, and checks every
/// node against the architecture it is imported into. It follows tensors from the graph input, never initialiser
/// names (CNTK's are <c>Parameter91</c>, <c>Constant98</c>) or node order:
/// <list type="number">
/// <item>stem: Conv, BatchNormalization, Relu, MaxPool (<c>conv1</c>, <c>bn1</c>);</item>
/// <item>blocks: the tensor a block starts from feeds either one Conv and the block's Add (identity shortcut) or two
/// Convs (projection shortcut). Each Conv starts a chain Conv, BatchNormalization [, Relu, Conv, BatchNormalization]
/// that ends in that Add: the chain with several convolutions is the main path (<c>conv1</c>/<c>bn1</c>,
/// <c>conv2</c>/<c>bn2</c>, ...), the single-convolution one the shortcut (<c>downsample.0</c>/<c>.1</c>). The Add
/// then feeds a Relu, whose output starts the next block. The first block is <c>layer1.0</c>; a block with a
/// projection shortcut starts the next stage; any other continues its stage;</item>
/// <item>end: an AveragePool covering the whole map (or a GlobalAveragePool) whose output is the graph's: the file
/// holds no classifier.</item>
/// </list>
/// Each node is checked against the model's module at its key: kernel, strides, dilations, groups, the BatchNorm's
/// epsilon, and pads, which must select the same windows as the module's padding (same leading pads and same output
/// size; ML.NET's file pads 3,3,2,2 where torchvision pads 3 on every side, and at 224 px both give the same windows).
/// Spatial sizes are followed from the graph input's fixed shape, so each node is checked at the size it runs at.
/// Every node must be reached and every initialiser read by one node only; anything else is refused with the node
/// named (<see cref="WeightsImportException"/>), before any tensor is read.
/// </summary>
public sealed class OnnxResNetWalker
{
    readonly OnnxModel _onnx;
    readonly ZooModel _model;
    readonly Dictionary<string, nn.Module> _modules;
    readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    readonly Dictionary<string, (long C, long H, long W)> _shapes = new(StringComparer.Ordinal);
    readonly HashSet<NodeProto> _visited = new(ReferenceEqualityComparer.Instance);
    readonly List<OnnxMappedTensor> _mapped = [];
    readonly HashSet<string> _read = new(StringComparer.Ordinal);

    OnnxResNetWalker(OnnxModel onnx, ZooModel model)
    {
        _onnx = onnx;
        _model = model;
        _modules = model.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        foreach (var node in onnx.Graph.Node)
            foreach (var input in node.Input.Distinct())
            {
                if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                list.Add(node);
            }
    }

    /// <summary>Walks <paramref name="onnx"/> as a ResNet and maps it onto <paramref name="model"/>'s keys.</summary>
    /// <exception cref="WeightsImportException">The graph is not a ResNet the walker understands, or does not fit the model.</exception>
    public static OnnxMapping Map(OnnxModel onnx, ZooModel model) => new OnnxResNetWalker(onnx, model).Walk();

    WeightsImportException Refuse(string problem) =>
        new($"{Path.GetFileName(_onnx.Path)} does not fit {_model.Architecture}: {problem}. Nothing was imported.");

    string Describe(NodeProto n) => _onnx.Describe(n);

    OnnxMapping Walk()
    {
        RefuseSharedInitializers();
        var (input, shape) = GraphInput();
        var x = input;

        // Stem.
        var conv = SoleConsumer(x, "Conv");
        x = MapConv(conv, "conv1", x);
        var bn = SoleConsumer(x, "BatchNormalization");
        x = MapBatchNorm(bn, "bn1", x);
        x = Follow(SoleConsumer(x, "Relu"), x);
        x = CheckMaxPool(SoleConsumer(x, "MaxPool"), x);

        // Residual blocks, until the global pool.
        var expectedBlocks = Enumerable.Range(1, 4)
            .Select(s => _modules.Keys.Count(k => k.StartsWith($"layer{s}.", StringComparison.Ordinal) && k.Count(c => c == '.') == 1))
            .ToList();
        string Stages(IEnumerable<int> blocks) => string.Join(", ", blocks);
        int stage = 0, block = -1;
        var blocksPerStage = new List<int>();
        while (true)
        {
            var consumers = Consumers(x);
            if (consumers.Count == 1 && consumers[0].OpType is "AveragePool" or "GlobalAveragePool")
            {
                CheckGlobalPool(consumers[0], x);
                break;
            }
            bool projection = consumers.Count(c => c.OpType == "Conv") == 2;
            if (stage == 0 || projection) { stage++; block = 0; blocksPerStage.Add(0); }
            else block++;
            blocksPerStage[^1]++;
            var prefix = $"layer{stage}.{block}";
            if (!_modules.ContainsKey(prefix))
                throw Refuse($"the graph has a block {prefix} (from '{x}'), which {_model.Architecture} does not have: its stages have {Stages(expectedBlocks)} blocks");
            x = MapBlock(prefix, x, consumers);
        }
        if (!blocksPerStage.SequenceEqual(expectedBlocks))
            throw Refuse($"the graph's stages have {Stages(blocksPerStage)} blocks, {_model.Architecture}'s {Stages(expectedBlocks)}");

        var unreached = _onnx.Graph.Node.Where(n => !_visited.Contains(n)).ToList();
        if (unreached.Count > 0)
            throw Refuse($"{string.Join(", ", unreached.Take(5).Select(Describe))}{(unreached.Count > 5 ? $" and {unreached.Count - 5} more" : "")} " +
                         "lie outside the stem, residual blocks and pooling a ResNet consists of");

        var read = _onnx.Graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var unused = _onnx.Initializers.Keys.Where(k => !read.Contains(k)).Order(StringComparer.Ordinal).ToList();
        return new OnnxMapping(_mapped, unused, shape);
    }

    /// <summary>A state_dict key holds one tensor for one layer; an initialiser read twice cannot be expressed.</summary>
    void RefuseSharedInitializers()
    {
        foreach (var (name, _) in _onnx.Initializers)
            if (_consumers.TryGetValue(name, out var readers) && readers.Count > 1)
                throw Refuse($"initialiser '{name}' is read by {string.Join(" and ", readers.Select(Describe))}; a state_dict key belongs to one layer");
    }

    (string Name, long[] Shape) GraphInput()
    {
        if (_onnx.Inputs.Count != 1)
            throw Refuse($"the graph has {_onnx.Inputs.Count} inputs ({string.Join(", ", _onnx.Inputs.Select(i => i.Name))}); an image model has one");
        var info = _onnx.Inputs[0];
        var dims = info.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count != 4)
            throw Refuse($"input '{info.Name}' is not an NCHW image tensor of stated rank 4");
        var shape = dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1).ToArray();
        if (shape[1] != 3 || shape[2] <= 0 || shape[3] <= 0)
            throw Refuse($"input '{info.Name}' has shape {TensorDtypes.Format(shape)}; the walker needs 3 channels and a fixed height and width " +
                         "(it checks each node's padding at the size the node sees)");
        _shapes[info.Name] = (3, shape[2], shape[3]);
        return (info.Name, shape);
    }

    List<NodeProto> Consumers(string tensor) => _consumers.GetValueOrDefault(tensor) ?? [];

    NodeProto SoleConsumer(string tensor, string op)
    {
        var consumers = Consumers(tensor);
        if (consumers.Count != 1 || consumers[0].OpType != op)
            throw Refuse($"'{tensor}' feeds {(consumers.Count == 0 ? "nothing" : string.Join(", ", consumers.Select(Describe)))} where a ResNet has one {op}");
        return consumers[0];
    }

    /// <summary>Marks an elementwise node visited; its output has its input's shape.</summary>
    string Follow(NodeProto node, string input)
    {
        if (!_visited.Add(node)) throw Refuse($"{Describe(node)} is reached twice");
        _shapes[node.Output[0]] = _shapes[input];
        return node.Output[0];
    }

    /// <summary>One residual block starting at <paramref name="x"/>: returns the output of its final Relu.</summary>
    string MapBlock(string prefix, string x, List<NodeProto> consumers)
    {
        var convs = consumers.Where(c => c.OpType == "Conv").ToList();
        var adds = consumers.Where(c => c.OpType == "Add").ToList();
        bool identity = convs.Count == 1 && adds.Count == 1 && consumers.Count == 2;
        bool projection = convs.Count == 2 && consumers.Count == 2;
        if (!identity && !projection)
            throw Refuse($"'{x}' feeds {string.Join(", ", consumers.Select(Describe))}; a residual block starts with one Conv and the Add of an " +
                         "identity shortcut, or two Convs (main path and projection shortcut)");

        var chains = convs.Select(c => Chain(c)).ToList();
        var add = chains[0].Add;
        if (chains.Any(c => !ReferenceEquals(c.Add, add)))
            throw Refuse($"the paths from '{x}' end in different nodes ({string.Join(", ", chains.Select(c => Describe(c.Add)))}), not one residual Add");
        if (identity && !ReferenceEquals(adds[0], add))
            throw Refuse($"{Describe(adds[0])} adds '{x}' but the main path from it ends in {Describe(add)}");
        if (add.Input.Count != 2)
            throw Refuse($"{Describe(add)} has {add.Input.Count} inputs; a residual Add joins two");

        var main = identity ? chains[0] : chains.MaxBy(c => c.Pairs.Count)!;
        var shortcut = identity ? null : chains.MinBy(c => c.Pairs.Count)!;
        if (main.Pairs.Count < 2 || (shortcut is not null && shortcut.Pairs.Count != 1))
            throw Refuse($"the block ending in {Describe(add)} has paths of {string.Join(" and ", chains.Select(c => c.Pairs.Count))} convolutions; " +
                         "a ResNet block has a main path of two or three and a shortcut of one");

        string mainOut = x;
        for (int i = 0; i < main.Pairs.Count; i++)
        {
            var (conv, bn, relu) = main.Pairs[i];
            mainOut = MapConv(conv, $"{prefix}.conv{i + 1}", mainOut);
            mainOut = MapBatchNorm(bn, $"{prefix}.bn{i + 1}", mainOut);
            if (relu is not null) mainOut = Follow(relu, mainOut);
        }
        string shortcutOut = x;
        if (shortcut is not null)
        {
            var (conv, bn, _) = shortcut.Pairs[0];
            shortcutOut = MapBatchNorm(bn, $"{prefix}.downsample.1", MapConv(conv, $"{prefix}.downsample.0", x));
        }
        if (!add.Input.OrderBy(s => s, StringComparer.Ordinal).SequenceEqual(new[] { mainOut, shortcutOut }.Order(StringComparer.Ordinal)))
            throw Refuse($"{Describe(add)} adds {string.Join(" and ", add.Input)}, not the block's paths {mainOut} and {shortcutOut}");
        if (_shapes[mainOut] != _shapes[shortcutOut])
            throw Refuse($"{Describe(add)} adds maps of {Format(_shapes[mainOut])} and {Format(_shapes[shortcutOut])}");
        if (!_visited.Add(add)) throw Refuse($"{Describe(add)} is reached twice");
        _shapes[add.Output[0]] = _shapes[mainOut];
        return Follow(SoleConsumer(add.Output[0], "Relu"), add.Output[0]);
    }

    sealed record PathChain(List<(NodeProto Conv, NodeProto Bn, NodeProto? Relu)> Pairs, NodeProto Add);

    /// <summary>Conv, BatchNormalization [, Relu, Conv, BatchNormalization]... up to the Add that ends the path.
    /// Only looks; mapping and checks happen afterwards, in path order.</summary>
    PathChain Chain(NodeProto conv)
    {
        var pairs = new List<(NodeProto, NodeProto, NodeProto?)>();
        while (true)
        {
            var bn = SoleConsumer(conv.Output[0], "BatchNormalization");
            var next = Consumers(bn.Output[0]);
            if (next.Count == 1 && next[0].OpType == "Add")
            {
                pairs.Add((conv, bn, null));
                return new PathChain(pairs, next[0]);
            }
            var relu = SoleConsumer(bn.Output[0], "Relu");
            pairs.Add((conv, bn, relu));
            conv = SoleConsumer(relu.Output[0], "Conv");
            if (pairs.Count > 3) throw Refuse($"the path through {Describe(conv)} has more than three convolutions before its Add");
        }
    }

    /// <summary>Checks a Conv against the model's module at <paramref name="key"/> and maps its weight.</summary>
    string MapConv(NodeProto node, string key, string input)
    {
        if (!_visited.Add(node)) throw Refuse($"{Describe(node)} is reached twice");
        var (kernel, stride, padding, dilation, groups) = _modules.GetValueOrDefault(key) switch
        {
            Conv2d conv2d => (conv2d.kernel_size, conv2d.stride, conv2d.padding ?? [0, 0], conv2d.dilation, conv2d.groups),
            ResNet.PointwiseConv p => (new long[] { 1, 1 }, new[] { p.Stride, p.Stride }, new long[] { 0, 0 }, new long[] { 1, 1 }, 1L),
            null => throw Refuse($"{Describe(node)} maps to {key}, which {_model.Architecture} does not have"),
            var m => throw Refuse($"{Describe(node)} maps to {key}, a {m.GetType().Name} in {_model.Architecture}, not a convolution"),
        };
        if (node.Input.Count != 2)
            throw Refuse($"{Describe(node)} has {(node.Input.Count == 3 ? "a bias" : $"{node.Input.Count} inputs")}; {key} is a convolution without bias");
        var weight = Initializer(node, 1, key);
        var w = weight.Dims.ToArray();
        var (c, h, width) = _shapes[input];
        if (w.Length != 4 || w[1] * groups != c)
            throw Refuse($"{Describe(node)} has weight {TensorDtypes.Format(w)} for an input of {c} channels");
        CheckInts(node, "kernel_shape", w[2..], kernel, key);
        CheckInts(node, "strides", [1, 1], stride, key);
        CheckInts(node, "dilations", [1, 1], dilation, key);
        long group = Int(node, "group", 1);
        if (group != groups) throw Refuse($"{Describe(node)} has group {group}, {key} has {groups}");
        var (oh, ow) = CheckPads(node, key, (h, width), kernel, stride, dilation, padding);
        _mapped.Add(new(key + ".weight", weight.Name, node.Name));
        _shapes[node.Output[0]] = (w[0], oh, ow);
        return node.Output[0];
    }

    string MapBatchNorm(NodeProto node, string key, string input)
    {
        if (!_visited.Add(node)) throw Refuse($"{Describe(node)} is reached twice");
        if (_modules.GetValueOrDefault(key) is not BatchNorm2d module)
            throw Refuse($"{Describe(node)} maps to {key}, which is not a BatchNorm2d in {_model.Architecture}");
        if (node.Input.Count != 5) throw Refuse($"{Describe(node)} has {node.Input.Count} inputs; BatchNormalization reads 5");
        // ONNX states epsilon in float32: 1e-5 arrives as 9.99999975e-06.
        double epsilon = Float(node, "epsilon", 1e-5f);
        if (Math.Abs(epsilon - module.eps) > 1e-6 * module.eps)
            throw Refuse($"{Describe(node)} has epsilon {epsilon:G6}, {key} has {module.eps:G6}");
        var channels = _shapes[input].C;
        string[] fields = ["weight", "bias", "running_mean", "running_var"]; // ONNX: scale, B, input_mean, input_var
        for (int i = 0; i < 4; i++)
        {
            var t = Initializer(node, i + 1, key);
            if (t.Dims.Count != 1 || t.Dims[0] != channels)
                throw Refuse($"{Describe(node)} input {i + 1} '{t.Name}' has shape {TensorDtypes.Format(t.Dims)} for {channels} channels");
            _mapped.Add(new($"{key}.{fields[i]}", t.Name, node.Name));
        }
        _shapes[node.Output[0]] = _shapes[input];
        return node.Output[0];
    }

    string CheckMaxPool(NodeProto node, string input)
    {
        if (!_visited.Add(node)) throw Refuse($"{Describe(node)} is reached twice");
        // The module's padding is implicit -inf, as ONNX's MaxPool pads, so equal windows mean equal results.
        const string key = "maxpool";
        if (_modules.GetValueOrDefault(key) is not MaxPool2d pool)
            throw Refuse($"{Describe(node)} has no max-pool to map to in {_model.Architecture}");
        var kernel = pool.kernel_size; var stride = pool.stride ?? kernel; var dilation = pool.dilation ?? [1, 1]; var padding = pool.padding ?? [0, 0];
        if (pool.ceil_mode) throw Refuse($"{key} of {_model.Architecture} pools with ceil, which the walker does not compare");
        CheckInts(node, "kernel_shape", null, kernel, key);
        CheckInts(node, "strides", [1, 1], stride, key);
        CheckInts(node, "dilations", [1, 1], dilation, key);
        var (c, h, w) = _shapes[input];
        var (oh, ow) = CheckPads(node, key, (h, w), kernel, stride, dilation, padding);
        _shapes[node.Output[0]] = (c, oh, ow);
        return node.Output[0];
    }

    /// <summary>The head's adaptive average pool to 1x1: the file's pool must cover the whole map, unpadded.</summary>
    void CheckGlobalPool(NodeProto node, string input)
    {
        _visited.Add(node);
        var (_, h, w) = _shapes[input];
        if (node.OpType == "AveragePool")
        {
            var kernel = Ints(node, "kernel_shape", null);
            if (kernel is null || kernel.Length != 2 || kernel[0] != h || kernel[1] != w)
                throw Refuse($"{Describe(node)} pools {TensorDtypes.Format(kernel ?? [])} windows of a {h}x{w} map; the model pools the whole map");
            var pads = Ints(node, "pads", [0, 0, 0, 0])!;
            if (pads.Any(p => p != 0)) throw Refuse($"{Describe(node)} pads {TensorDtypes.Format(pads)}; a global pool does not pad");
            CheckInts(node, "dilations", [1, 1], [1, 1], "avgpool");
        }
        if (Consumers(node.Output[0]).Count > 0)
            throw Refuse($"{Describe(node)}'s pooled features feed {string.Join(", ", Consumers(node.Output[0]).Select(Describe))}; " +
                         "the walker maps ResNet backbones, whose files end at the pooled features");
        if (!_onnx.Graph.Output.Any(o => o.Name == node.Output[0]))
            throw Refuse($"{Describe(node)}'s output is not the graph's output");
    }

    /// <summary>
    /// The file's pads select the same windows as the module's symmetric <paramref name="padding"/> when the leading
    /// pads are equal and both give the same output size; trailing padding beyond the last window is never read.
    /// Returns the output size.
    /// </summary>
    (long H, long W) CheckPads(NodeProto node, string key, (long H, long W) size, long[] kernel, long[] stride, long[] dilation, long[] padding)
    {
        var pads = Ints(node, "pads", [0, 0, 0, 0])!;
        if (pads.Length != 4) throw Refuse($"{Describe(node)} has pads {TensorDtypes.Format(pads)}; a 2-D layer has four");
        long[] sizes = [size.H, size.W];
        var output = new long[2];
        for (int axis = 0; axis < 2; axis++)
        {
            long span = dilation[axis] * (kernel[axis] - 1) + 1;
            long file = (sizes[axis] + pads[axis] + pads[axis + 2] - span) / stride[axis] + 1;
            long module = (sizes[axis] + 2 * padding[axis] - span) / stride[axis] + 1;
            if (pads[axis] != padding[axis] || file != module || file < 1)
                throw Refuse($"{Describe(node)} pads {TensorDtypes.Format(pads)} (top, left, bottom, right) on a {size.H}x{size.W} map, giving " +
                             $"{(axis == 0 ? "height" : "width")} {file}; {key} pads {padding[axis]} on each side, giving {module}");
            output[axis] = file;
        }
        return (output[0], output[1]);
    }

    void CheckInts(NodeProto node, string attribute, long[]? fallback, long[] expected, string key)
    {
        var actual = Ints(node, attribute, fallback);
        if (actual is null || !actual.SequenceEqual(expected))
            throw Refuse($"{Describe(node)} has {attribute} {(actual is null ? "unset" : TensorDtypes.Format(actual))}, {key} has {TensorDtypes.Format(expected)}");
    }

    TensorProto Initializer(NodeProto node, int input, string key)
    {
        var name = node.Input[input];
        if (!_onnx.Initializers.TryGetValue(name, out var t))
            throw Refuse($"{Describe(node)} reads '{name}' for {key}, which is computed in the graph rather than stored; the walker maps stored weights");
        if (!_read.Add(name))
            throw Refuse($"{Describe(node)} reads initialiser '{name}' a second time, for {key}; a state_dict key belongs to one layer");
        return t;
    }

    static long[]? Ints(NodeProto node, string name, long[]? fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.Ints.ToArray() : fallback;

    static long Int(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    static float Float(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    static string Format((long C, long H, long W) s) => $"{s.C}x{s.H}x{s.W}";
}
