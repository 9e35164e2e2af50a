using ModelZoo.Torch.Native;
// MobileNetV3 Small and Large as in torchvision/models/mobilenetv3.py (0.14.1), width 1.0, no reduced tail, no
// dilation. Field names are the state_dict keys of torchvision's checkpoints: features.1.block.1.fc1,
// classifier.0, classifier.3. BatchNorm uses eps 0.001 and momentum 0.01, as torchvision does for this family.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelZoo.Torch.Models;

/// <summary>
/// The head is <c>classifier.3</c>; <c>classifier.0</c> (the 960->1280 or 576->1024 Linear with hardswish) is kept by
/// <see cref="ResetClassifier"/> as pre-logits, so <see cref="NumFeatures"/> is its width (1280 or 1024).
/// </summary>
public sealed class MobileNetV3 : ZooModel
{
    public static void RegisterAll(ArchitectureRegistry r)
    {
        r.Register(new("mobilenet_v3_small", "mobilenet", Modality.Image, o => new MobileNetV3("mobilenet_v3_small", o.NumClasses)));
        r.Register(new("mobilenet_v3_large", "mobilenet", Modality.Image, o => new MobileNetV3("mobilenet_v3_large", o.NumClasses)));
    }

    /// <summary>One row of Tables 1 and 2 of the MobileNetV3 paper (torchvision's InvertedResidualConfig).</summary>
    internal sealed record BlockConfig(int Input, int Kernel, int Expanded, int Output, bool UseSe, bool UseHs, int Stride);

    // Rows of torchvision's _mobilenet_v3_conf at width 1.0 ("RE" = relu -> UseHs false, "HS" = hardswish).
    static readonly BlockConfig[] Large =
    [
        new(16, 3, 16, 16, false, false, 1),
        new(16, 3, 64, 24, false, false, 2),
        new(24, 3, 72, 24, false, false, 1),
        new(24, 5, 72, 40, true, false, 2),
        new(40, 5, 120, 40, true, false, 1),
        new(40, 5, 120, 40, true, false, 1),
        new(40, 3, 240, 80, false, true, 2),
        new(80, 3, 200, 80, false, true, 1),
        new(80, 3, 184, 80, false, true, 1),
        new(80, 3, 184, 80, false, true, 1),
        new(80, 3, 480, 112, true, true, 1),
        new(112, 3, 672, 112, true, true, 1),
        new(112, 5, 672, 160, true, true, 2),
        new(160, 5, 960, 160, true, true, 1),
        new(160, 5, 960, 160, true, true, 1),
    ];

    static readonly BlockConfig[] Small =
    [
        new(16, 3, 16, 16, true, false, 2),
        new(16, 3, 72, 24, false, false, 2),
        new(24, 3, 88, 24, false, false, 1),
        new(24, 5, 96, 40, true, true, 2),
        new(40, 5, 240, 40, true, true, 1),
        new(40, 5, 240, 40, true, true, 1),
        new(40, 5, 120, 48, true, true, 1),
        new(48, 5, 144, 48, true, true, 1),
        new(48, 5, 288, 96, true, true, 2),
        new(96, 5, 576, 96, true, true, 1),
        new(96, 5, 576, 96, true, true, 1),
    ];

    const double BnEps = 0.001, BnMomentum = 0.01;
    const string HeadName = "3";

#pragma warning disable IDE1006 // state_dict names
    private readonly Sequential features;
    private readonly Module<Tensor, Tensor> avgpool;
    private readonly SwappableSequential classifier;
#pragma warning restore IDE1006

    readonly string _arch;
    readonly int _lastChannel;
    int _numClasses;

    public MobileNetV3(string arch, int numClasses = 1000, double dropout = 0.2) : base(arch)
    {
        _arch = arch;
        _numClasses = numClasses;
        var (settings, lastChannel) = arch switch
        {
            "mobilenet_v3_large" => (Large, MobileNetLayers.MakeDivisible(1280, 8)),
            "mobilenet_v3_small" => (Small, MobileNetLayers.MakeDivisible(1024, 8)),
            _ => throw new ArgumentException($"Unsupported MobileNetV3 '{arch}'.", nameof(arch)),
        };
        _lastChannel = lastChannel;

        var layers = new List<Module<Tensor, Tensor>>
        {
            MobileNetLayers.ConvNormAct(3, settings[0].Input, 3, stride: 2, act: () => Hardswish(inplace: true), eps: BnEps, momentum: BnMomentum),
        };
        var strides = new List<int> { 2 };
        foreach (var cnf in settings)
        {
            layers.Add(new InvertedResidual(cnf));
            strides.Add(cnf.Stride);
        }
        int lastConvIn = settings[^1].Output, lastConvOut = 6 * lastConvIn;
        layers.Add(MobileNetLayers.ConvNormAct(lastConvIn, lastConvOut, 1, act: () => Hardswish(inplace: true), eps: BnEps, momentum: BnMomentum));
        strides.Add(1);

        features = Sequential(layers.Select((m, i) => (i.ToString(), m)).ToList());
        avgpool = AdaptiveAvgPool2d(1);
        classifier = new SwappableSequential(
            ("0", Linear(lastConvOut, lastChannel, device: TorchRuntime.BuildDevice)),
            ("1", Hardswish(inplace: true)),
            ("2", Dropout(dropout, inplace: true)),
            (HeadName, Linear(lastChannel, numClasses, device: TorchRuntime.BuildDevice)));
        var stages = MobileNetLayers.StagesByStride(strides);
        stages.Add(("pre_logits", ["classifier.0"]));
        stages.Add(("head", ["classifier." + HeadName]));
        StagePrefixes = stages;
        RegisterComponents();
        MobileNetLayers.InitWeights(this);
    }

    public override string Architecture => _arch;
    public override int NumFeatures => _lastChannel;
    public override int NumClasses => _numClasses;
    public override string ClassifierPrefix => "classifier." + HeadName;

    protected override IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes { get; }

    public override Tensor ForwardFeatures(Tensor x) => features.call(x);

    public override Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var x = avgpool.call(features).flatten(1);
        return classifier.RunHead(x, HeadName, preLogits).MoveToOuterDisposeScope();
    }

    public override void ResetClassifier(int numClasses)
    {
        classifier.ResetLinear(HeadName, _lastChannel, numClasses, MobileNetLayers.InitLinear);
        _numClasses = numClasses;
    }

    /// <summary>Section 5 of the paper: expand (1x1), depthwise, optional squeeze-excitation, project (1x1, linear).</summary>
    internal sealed class InvertedResidual : Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        private readonly Sequential block;
#pragma warning restore IDE1006
        readonly bool _useResConnect;

        /// <summary>Whether the block adds its input to its output (the ONNX exporter writes the same graph).</summary>
        internal bool UseResConnect => _useResConnect;

        public InvertedResidual(BlockConfig cnf) : base("InvertedResidual")
        {
            _useResConnect = cnf.Stride == 1 && cnf.Input == cnf.Output;
            Func<Module<Tensor, Tensor>> act = cnf.UseHs ? () => Hardswish(inplace: true) : () => ReLU(inplace: true);
            var layers = new List<Module<Tensor, Tensor>>();
            if (cnf.Expanded != cnf.Input)
                layers.Add(MobileNetLayers.ConvNormAct(cnf.Input, cnf.Expanded, 1, act: act, eps: BnEps, momentum: BnMomentum));
            layers.Add(MobileNetLayers.ConvNormAct(cnf.Expanded, cnf.Expanded, cnf.Kernel, stride: cnf.Stride, groups: cnf.Expanded,
                act: act, eps: BnEps, momentum: BnMomentum));
            if (cnf.UseSe)
                layers.Add(new SqueezeExcitation(cnf.Expanded, MobileNetLayers.MakeDivisible(cnf.Expanded / 4, 8)));
            layers.Add(MobileNetLayers.ConvNormAct(cnf.Expanded, cnf.Output, 1, act: null, eps: BnEps, momentum: BnMomentum));
            block = Sequential(layers.Select((m, i) => (i.ToString(), m)).ToList());
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            if (!_useResConnect) return block.call(x);
            using var scope = NewDisposeScope();
            return block.call(x).add_(x).MoveToOuterDisposeScope();
        }
    }

    /// <summary>torchvision.ops.SqueezeExcitation with relu and hardsigmoid, 1x1 convolutions <c>fc1</c>, <c>fc2</c>.</summary>
    internal sealed class SqueezeExcitation : Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        private readonly Module<Tensor, Tensor> avgpool;
        private readonly Conv2d fc1, fc2;
        private readonly Module<Tensor, Tensor> activation, scale_activation;
#pragma warning restore IDE1006

        public SqueezeExcitation(long inputChannels, long squeezeChannels) : base("SqueezeExcitation")
        {
            avgpool = AdaptiveAvgPool2d(1);
            fc1 = Conv2d(inputChannels, squeezeChannels, 1, device: TorchRuntime.BuildDevice);
            fc2 = Conv2d(squeezeChannels, inputChannels, 1, device: TorchRuntime.BuildDevice);
            activation = ReLU();
            scale_activation = Hardsigmoid();
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var scale = scale_activation.call(fc2.call(activation.call(fc1.call(avgpool.call(x)))));
            return scale.mul(x).MoveToOuterDisposeScope();
        }
    }
}
