using ModelZoo.Torch.Native;
// ResNet-18/34/50/101/152 as in torchvision/models/resnet.py (v1.5: stride on the 3x3 conv of Bottleneck).
// Field names are the state_dict keys of torchvision's checkpoints.
//
// resnet18_cntk is the network of ML.NET's ResNet-18 ONNX file (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0,
// exported from CNTK 2.6): basic blocks 2, 2, 2 and 3 (22 convolutions), keyed as torchvision keys a basic-block
// ResNet, so layer4.2 exists and there is no fc in the file. Its strided layers pad asymmetrically in ONNX terms (stem
// 3,3,2,2; max-pool and the strided 3x3 convolutions 1,1,0,0; top, left, bottom, right): that is CNTK's "same"
// padding (ONNX's SAME_LOWER) written out for 224 px. On an even-sized map the extra bottom/right pixel of
// torchvision's symmetric padding is never inside a window (the last window of a stride-2 layer ends on the last
// real pixel), so symmetric padding selects exactly the file's windows, and every map of a 224 px input is even.
// The module therefore pads symmetrically with no explicit pad (the max-pool's implicit padding is -inf). The file
// takes 224 px only; at other sizes this computes CNTK's same padding, which is symmetric on odd maps, where the
// file's fixed pads would drop a row and a column (and break the Add of a downsampling block). The ONNX importer
// checks that each node's pads select the same windows, and the ONNX Runtime parity test checks the numbers.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelZoo.Torch.Models;

public sealed class ResNet : ZooModel
{
    public static void RegisterAll(ArchitectureRegistry r)
    {
        r.Register(new("resnet18", "resnet", Modality.Image, o => new ResNet("resnet18", BlockKind.Basic, [2, 2, 2, 2], o.NumClasses)));
        r.Register(new("resnet34", "resnet", Modality.Image, o => new ResNet("resnet34", BlockKind.Basic, [3, 4, 6, 3], o.NumClasses)));
        r.Register(new("resnet50", "resnet", Modality.Image, o => new ResNet("resnet50", BlockKind.Bottleneck, [3, 4, 6, 3], o.NumClasses)));
        r.Register(new("resnet101", "resnet", Modality.Image, o => new ResNet("resnet101", BlockKind.Bottleneck, [3, 4, 23, 3], o.NumClasses)));
        r.Register(new("resnet152", "resnet", Modality.Image, o => new ResNet("resnet152", BlockKind.Bottleneck, [3, 8, 36, 3], o.NumClasses)));
        r.Register(new("resnet18_cntk", "resnet", Modality.Image, o => new ResNet("resnet18_cntk", BlockKind.Basic, [2, 2, 2, 3], o.NumClasses)));
    }

    public enum BlockKind { Basic, Bottleneck }

#pragma warning disable IDE1006 // state_dict names
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Module<Tensor, Tensor> relu;
    private readonly Module<Tensor, Tensor> maxpool;
    private readonly Sequential layer1, layer2, layer3, layer4;
    private readonly Module<Tensor, Tensor> avgpool;
    private Linear fc;
#pragma warning restore IDE1006

    readonly string _arch;
    readonly int _numFeatures;
    int _numClasses;

    public ResNet(string arch, BlockKind kind, int[] layers, int numClasses = 1000) : base(arch)
    {
        _arch = arch;
        int expansion = kind == BlockKind.Basic ? 1 : 4;
        long inplanes = 64;
        conv1 = Conv2d(3, 64, kernel_size: 7, stride: 2, padding: 3, bias: false, device: TorchRuntime.BuildDevice);
        bn1 = BatchNorm2d(64, device: TorchRuntime.BuildDevice);
        relu = ReLU(inplace: true);
        maxpool = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        layer1 = MakeLayer(kind, ref inplanes, 64, layers[0], 1, expansion);
        layer2 = MakeLayer(kind, ref inplanes, 128, layers[1], 2, expansion);
        layer3 = MakeLayer(kind, ref inplanes, 256, layers[2], 2, expansion);
        layer4 = MakeLayer(kind, ref inplanes, 512, layers[3], 2, expansion);
        avgpool = AdaptiveAvgPool2d(new long[] { 1, 1 });
        _numFeatures = 512 * expansion;
        _numClasses = numClasses;
        fc = Linear(_numFeatures, numClasses, device: TorchRuntime.BuildDevice);
        RegisterComponents();
        InitWeights();
    }

    static Sequential MakeLayer(BlockKind kind, ref long inplanes, long planes, int blocks, long stride, int expansion)
    {
        Module<Tensor, Tensor>? downsample = null;
        if (stride != 1 || inplanes != planes * expansion)
            downsample = Sequential(
                ("0", new PointwiseConv(inplanes, planes * expansion, stride)),
                ("1", BatchNorm2d(planes * expansion, device: TorchRuntime.BuildDevice)));
        var modules = new List<(string, Module<Tensor, Tensor>)>();
        modules.Add(("0", kind == BlockKind.Basic
            ? new BasicBlock(inplanes, planes, stride, downsample)
            : new Bottleneck(inplanes, planes, stride, downsample)));
        inplanes = planes * expansion;
        for (int i = 1; i < blocks; i++)
            modules.Add((i.ToString(), kind == BlockKind.Basic
                ? new BasicBlock(inplanes, planes, 1, null)
                : new Bottleneck(inplanes, planes, 1, null)));
        return Sequential(modules);
    }

    /// <summary>torchvision's init: Kaiming-normal (fan_out) convolutions, BatchNorm weight 1 and bias 0.</summary>
    void InitWeights()
    {
        using var _ = no_grad();
        foreach (var (_, m) in named_modules())
        {
            switch (m)
            {
                case Conv2d c:
                    init.kaiming_normal_(c.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
                    break;
                case PointwiseConv p:
                    init.kaiming_normal_(p.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
                    break;
                case BatchNorm2d b:
                    init.ones_(b.weight);
                    init.zeros_(b.bias);
                    break;
            }
        }
    }

    public override string Architecture => _arch;
    public override int NumFeatures => _numFeatures;
    public override int NumClasses => _numClasses;
    public override string ClassifierPrefix => "fc";

    protected override IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes { get; } =
    [
        ("stem", ["conv1", "bn1"]), ("layer1", ["layer1"]), ("layer2", ["layer2"]),
        ("layer3", ["layer3"]), ("layer4", ["layer4"]), ("head", ["fc"]),
    ];

    public override Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = maxpool.call(relu.call(bn1.call(conv1.call(x))));
        x = layer4.call(layer3.call(layer2.call(layer1.call(x))));
        return x.MoveToOuterDisposeScope();
    }

    public override Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var x = avgpool.call(features).flatten(1);
        return (preLogits ? x : fc.call(x)).MoveToOuterDisposeScope();
    }

    public override void ResetClassifier(int numClasses)
    {
        fc = Linear(_numFeatures, numClasses, device: fc.weight!.device);
        ReplaceChild("fc", fc);
        _numClasses = numClasses;
    }

    /// <summary>
    /// The 1x1, bias-free, possibly strided projection of a downsample shortcut, computed as subsample-then-1x1.
    /// That is the same arithmetic as a strided 1x1 convolution, but libtorch 2.10's CPU kernel for the input
    /// gradient of a strided 1x1 convolution dies with SIGFPE on some shapes (e.g. 512->1024 channels, 8x8 input,
    /// stride 2, on AMD EPYC with AVX-512), which kills ResNet-50+ fine-tuning. Its state key stays <c>weight</c>.
    /// </summary>
    internal sealed class PointwiseConv : Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        public readonly Parameter weight;
#pragma warning restore IDE1006
        readonly long _stride;

        public long Stride => _stride;

        public PointwiseConv(long inChannels, long outChannels, long stride) : base("PointwiseConv")
        {
            weight = new Parameter(empty(outChannels, inChannels, 1, 1, device: TorchRuntime.BuildDevice));
            _stride = stride;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            if (_stride == 1) return functional.conv2d(x, weight);
            using var scope = NewDisposeScope();
            var sub = x[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(null, null, _stride), TensorIndex.Slice(null, null, _stride)];
            return functional.conv2d(sub, weight).MoveToOuterDisposeScope();
        }
    }

    internal sealed class BasicBlock : Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        private readonly Conv2d conv1, conv2;
        private readonly BatchNorm2d bn1, bn2;
        private readonly Module<Tensor, Tensor> relu;
        private readonly Module<Tensor, Tensor>? downsample;
#pragma warning restore IDE1006

        public BasicBlock(long inplanes, long planes, long stride, Module<Tensor, Tensor>? downsample) : base("BasicBlock")
        {
            conv1 = Conv2d(inplanes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false, device: TorchRuntime.BuildDevice);
            bn1 = BatchNorm2d(planes, device: TorchRuntime.BuildDevice);
            relu = ReLU(inplace: true);
            conv2 = Conv2d(planes, planes, kernel_size: 3, stride: 1, padding: 1, bias: false, device: TorchRuntime.BuildDevice);
            bn2 = BatchNorm2d(planes, device: TorchRuntime.BuildDevice);
            this.downsample = downsample;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var identity = downsample is null ? x : downsample.call(x);
            var o = relu.call(bn1.call(conv1.call(x)));
            o = bn2.call(conv2.call(o));
            o = o.add_(identity);
            return relu.call(o).MoveToOuterDisposeScope();
        }
    }

    internal sealed class Bottleneck : Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        private readonly Conv2d conv1, conv2, conv3;
        private readonly BatchNorm2d bn1, bn2, bn3;
        private readonly Module<Tensor, Tensor> relu;
        private readonly Module<Tensor, Tensor>? downsample;
#pragma warning restore IDE1006

        public Bottleneck(long inplanes, long planes, long stride, Module<Tensor, Tensor>? downsample) : base("Bottleneck")
        {
            conv1 = Conv2d(inplanes, planes, kernel_size: 1, bias: false, device: TorchRuntime.BuildDevice);
            bn1 = BatchNorm2d(planes, device: TorchRuntime.BuildDevice);
            conv2 = Conv2d(planes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false, device: TorchRuntime.BuildDevice);
            bn2 = BatchNorm2d(planes, device: TorchRuntime.BuildDevice);
            conv3 = Conv2d(planes, planes * 4, kernel_size: 1, bias: false, device: TorchRuntime.BuildDevice);
            bn3 = BatchNorm2d(planes * 4, device: TorchRuntime.BuildDevice);
            relu = ReLU(inplace: true);
            this.downsample = downsample;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var identity = downsample is null ? x : downsample.call(x);
            var o = relu.call(bn1.call(conv1.call(x)));
            o = relu.call(bn2.call(conv2.call(o)));
            o = bn3.call(conv3.call(o));
            o = o.add_(identity);
            return relu.call(o).MoveToOuterDisposeScope();
        }
    }
}
