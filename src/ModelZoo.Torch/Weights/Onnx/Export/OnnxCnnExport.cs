// The image families (ResNet, VGG, MobileNetV2/V3) as ONNX, written from the modules' own parameters by walking the
// structure each architecture file builds, in the order its forward runs. Eval mode: BatchNormalization with the
// running statistics, dropout left out. The input is [batch, 3, H, W] with a symbolic batch; H and W are fixed at the
// export's input size, because VGG's adaptive pool to a P x P map is only a fixed computation for a known map size.
using ModelZoo.Torch.Models;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static ModelZoo.Torch.Weights.Onnx.Export.OnnxGraphBuilder;

namespace ModelZoo.Torch.Weights.Onnx.Export;

internal sealed class OnnxCnnExport(OnnxGraphBuilder g)
{
    /// <summary>A value in the graph with the spatial size it has (channels are the weights' business).</summary>
    readonly record struct Value(string Name, long Height, long Width);

    public void Write(ZooModel model, int inputSize)
    {
        if (inputSize < 1) throw new OnnxExportException($"The input size must be positive, not {inputSize}.");
        g.Input(OnnxExporter.ImageInput, TensorProto.Types.DataType.Float, OnnxExporter.Batch, 3L, (long)inputSize, (long)inputSize);
        var x = new Value(OnnxExporter.ImageInput, inputSize, inputSize);
        var logits = model switch
        {
            Models.ResNet => WriteResNet(model, x),
            Vgg => WriteVgg(model, x),
            MobileNetV2 => Features(model, x, globalPool: true, poolName: "avgpool"),
            MobileNetV3 => Features(model, x, globalPool: true, poolName: "avgpool"),
            _ => throw new OnnxExportException($"{model.Architecture}: the ONNX exporter writes ResNet, VGG, MobileNet and BERT; {model.GetType().Name} is none of them."),
        };
        g.Output(logits, OnnxExporter.LogitsOutput, TensorProto.Types.DataType.Float, OnnxExporter.Batch, (long)model.NumClasses);
    }

    string WriteResNet(ZooModel m, Value x)
    {
        foreach (var name in new[] { "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4" })
            x = Emit(Child(m, name), name, x);
        return Linear(Child(m, "fc"), "fc", Flatten(GlobalPool(x, "avgpool"), "avgpool"));
    }

    string WriteVgg(ZooModel m, Value x)
    {
        x = Emit(Child(m, "features"), "features", x);
        var pool = (AdaptiveAvgPool2d)Child(m, "avgpool");
        var size = pool.output_size ?? throw new OnnxExportException("avgpool has no output size.");
        x = AdaptivePool(x, size[0], size.Length > 1 ? size[1] : size[0], "avgpool");
        return Emit(Child(m, "classifier"), "classifier", new Value(Flatten(x, "avgpool"), 1, 1)).Name;
    }

    /// <summary>MobileNets: features, global average pool, flatten, classifier.</summary>
    string Features(ZooModel m, Value x, bool globalPool, string poolName)
    {
        x = Emit(Child(m, "features"), "features", x);
        if (globalPool) x = GlobalPool(x, poolName);
        return Emit(Child(m, "classifier"), "classifier", new Value(Flatten(x, poolName), 1, 1)).Name;
    }

    /// <summary>One module under state_dict prefix <paramref name="key"/>, as its forward computes in eval mode.</summary>
    Value Emit(nn.Module module, string key, Value x)
    {
        switch (module)
        {
            case Conv2d c: return Conv(c, key, x);
            case Models.ResNet.PointwiseConv p:
                return Conv(key, x, g.Weight(key + ".weight", p.weight), null, [1, 1], [p.Stride, p.Stride], [0, 0], [1, 1], 1);
            case BatchNorm2d b: return x with { Name = BatchNorm(b, key, x.Name) };
            case ReLU: return x with { Name = g.Node("Relu", key, [x.Name]) };
            case ReLU6: return x with { Name = g.Node("Clip", key, [x.Name, g.ConstFloat(0), g.ConstFloat(6)]) };
            // ONNX's HardSwish is x * max(0, min(1, x/6 + 1/2)): PyTorch's x * relu6(x + 3) / 6.
            case Hardswish: return x with { Name = g.Node("HardSwish", key, [x.Name]) };
            // ONNX's default alpha is 0.2; PyTorch's Hardsigmoid is relu6(x + 3) / 6.
            case Hardsigmoid: return x with { Name = g.Node("HardSigmoid", key, [x.Name], Float("alpha", 1f / 6), Float("beta", 0.5f)) };
            // Eval mode: dropout is the identity.
            case Dropout: return x;
            case MaxPool2d p: return MaxPool(p, key, x);
            case Linear l: return x with { Name = Linear(l, key, x.Name) };
            case SwappableSequential s:
                foreach (var (name, child) in s.Ordered) x = Emit(child, $"{key}.{name}", x);
                return x;
            case Sequential s:
                foreach (var (name, child) in s.named_children()) x = Emit(child, $"{key}.{name}", x);
                return x;
            case Models.ResNet.BasicBlock or Models.ResNet.Bottleneck: return ResidualBlock(module, key, x);
            case MobileNetV2.InvertedResidual b: return Residual(x, Emit(Child(b, "conv"), key + ".conv", x), b.UseResConnect, key);
            case MobileNetV3.InvertedResidual b: return Residual(x, Emit(Child(b, "block"), key + ".block", x), b.UseResConnect, key);
            case MobileNetV3.SqueezeExcitation se: return SqueezeExcitation(se, key, x);
            default:
                throw new OnnxExportException($"{key}: the ONNX exporter cannot write a {module.GetType().Name} module.");
        }
    }

    /// <summary>torchvision's BasicBlock and Bottleneck: conv-bn-relu pairs, the last without relu, plus the shortcut, then relu.</summary>
    Value ResidualBlock(nn.Module block, string key, Value x)
    {
        var children = block.named_children().ToDictionary(c => c.name, c => c.module);
        var identity = children.TryGetValue("downsample", out var ds) && ds is not null ? Emit(ds, key + ".downsample", x) : x;
        int convs = children.ContainsKey("conv3") ? 3 : 2;
        var o = x;
        for (int i = 1; i <= convs; i++)
        {
            o = Emit(children[$"conv{i}"], $"{key}.conv{i}", o);
            o = Emit(children[$"bn{i}"], $"{key}.bn{i}", o);
            if (i < convs) o = o with { Name = g.Node("Relu", key + ".relu", [o.Name]) };
        }
        var sum = g.Node("Add", key, [o.Name, identity.Name]);
        return o with { Name = g.Node("Relu", key + ".relu", [sum]) };
    }

    Value Residual(Value input, Value output, bool add, string key) =>
        add ? output with { Name = g.Node("Add", key, [output.Name, input.Name]) } : output;

    /// <summary>torchvision.ops.SqueezeExcitation: scale = hardsigmoid(fc2(relu(fc1(avgpool(x))))), times x.</summary>
    Value SqueezeExcitation(nn.Module se, string key, Value x)
    {
        var s = GlobalPool(x, key + ".avgpool");
        s = Emit(Child(se, "fc1"), key + ".fc1", s);
        s = Emit(Child(se, "activation"), key + ".activation", s);
        s = Emit(Child(se, "fc2"), key + ".fc2", s);
        s = Emit(Child(se, "scale_activation"), key + ".scale_activation", s);
        return x with { Name = g.Node("Mul", key, [s.Name, x.Name]) };
    }

    Value Conv(Conv2d c, string key, Value x)
    {
        if (c.padding_mode != PaddingModes.Zeros)
            throw new OnnxExportException($"{key}: padding mode {c.padding_mode} is not written; the architectures pad with zeros.");
        var kernel = c.kernel_size;
        long[] pads = c.padding ?? throw new OnnxExportException($"{key}: 'same'/'valid' padding is not written; the architectures state their padding.");
        return Conv(key, x, g.Weight(key + ".weight", c.weight), c.bias is null ? null : g.Weight(key + ".bias", c.bias),
            kernel, c.stride, pads, c.dilation, c.groups);
    }

    Value Conv(string key, Value x, string weight, string? bias, long[] kernel, long[] stride, long[] pads, long[] dilation, long groups)
    {
        string[] inputs = bias is null ? [x.Name, weight] : [x.Name, weight, bias];
        var y = g.Node("Conv", key, inputs,
            Ints("kernel_shape", kernel), Ints("strides", stride), Ints("pads", pads[0], pads[1], pads[0], pads[1]),
            Ints("dilations", dilation), Int("group", groups));
        return new Value(y, OutSize(x.Height, kernel[0], stride[0], pads[0], dilation[0]), OutSize(x.Width, kernel[1], stride[1], pads[1], dilation[1]));
    }

    static long OutSize(long size, long kernel, long stride, long pad, long dilation) => (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;

    string BatchNorm(BatchNorm2d b, string key, string x) =>
        g.Node("BatchNormalization", key,
            [x, g.Weight(key + ".weight", b.weight), g.Weight(key + ".bias", b.bias),
             g.Weight(key + ".running_mean", b.running_mean ?? throw new OnnxExportException($"{key} tracks no running statistics.")),
             g.Weight(key + ".running_var", b.running_var!)],
            Float("epsilon", (float)b.eps));

    Value MaxPool(MaxPool2d p, string key, Value x)
    {
        if (p.ceil_mode) throw new OnnxExportException($"{key}: ceil_mode is not written; the architectures pool with floor.");
        long[] kernel = p.kernel_size, stride = p.stride ?? kernel, pads = p.padding ?? [0, 0], dilation = p.dilation ?? [1, 1];
        var y = g.Node("MaxPool", key, [x.Name],
            Ints("kernel_shape", kernel), Ints("strides", stride), Ints("pads", pads[0], pads[1], pads[0], pads[1]), Ints("dilations", dilation));
        return new Value(y, OutSize(x.Height, kernel[0], stride[0], pads[0], dilation[0]), OutSize(x.Width, kernel[1], stride[1], pads[1], dilation[1]));
    }

    Value GlobalPool(Value x, string key) => new(g.Node("GlobalAveragePool", key, [x.Name]), 1, 1);

    /// <summary>
    /// PyTorch's adaptive average pool to <paramref name="outH"/> x <paramref name="outW"/>: output cell i averages input
    /// rows floor(i·n/m) to ceil((i+1)·n/m). It is linear and separable, so on a map of known size it is two MatMuls
    /// with averaging matrices, A_h · X · A_wᵀ, exact for any sizes (a 1x1 map pooled to 7x7 copies it 49 times, as
    /// torchvision's VGG does at small inputs). A map already of the output size passes unchanged.
    /// </summary>
    Value AdaptivePool(Value x, long outH, long outW, string key)
    {
        if (outH == 1 && outW == 1) return GlobalPool(x, key);
        if (x.Height == outH && x.Width == outW) return x;
        var right = g.ConstFloats(Averaging(x.Width, outW, transpose: true), x.Width, outW);
        var left = g.ConstFloats(Averaging(x.Height, outH, transpose: false), outH, x.Height);
        var cols = g.Node("MatMul", key, [x.Name, right]);
        return new Value(g.Node("MatMul", key, [left, cols]), outH, outW);
    }

    /// <summary>The [m, n] matrix whose row i averages inputs floor(i·n/m) .. ceil((i+1)·n/m) - 1 (or its transpose).</summary>
    static float[] Averaging(long n, long m, bool transpose)
    {
        var a = new float[n * m];
        for (long i = 0; i < m; i++)
        {
            long start = i * n / m, end = ((i + 1) * n + m - 1) / m;
            for (long j = start; j < end; j++) a[transpose ? j * m + i : i * n + j] = 1f / (end - start);
        }
        return a;
    }

    string Flatten(Value x, string key) => g.Node("Flatten", key, [x.Name], Int("axis", 1));

    /// <summary>y = x·Wᵀ + b on [batch, features]: Gemm with transB, so the weight stays [out, in] under its key.</summary>
    string Linear(nn.Module module, string key, string x)
    {
        var l = (Linear)module;
        string[] inputs = l.bias is null ? [x, g.Weight(key + ".weight", l.weight)] : [x, g.Weight(key + ".weight", l.weight), g.Weight(key + ".bias", l.bias)];
        return g.Node("Gemm", key, inputs, Int("transB", 1));
    }

    internal static nn.Module Child(nn.Module parent, string name) =>
        parent.named_children().FirstOrDefault(c => c.name == name).module
        ?? throw new OnnxExportException($"{parent.GetName()} has no child module '{name}'.");
}
