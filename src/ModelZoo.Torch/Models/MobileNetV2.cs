using ModelZoo.Torch.Native;
// MobileNetV2 as in torchvision/models/mobilenetv2.py (0.14.1), width 1.0.
// Field names are the state_dict keys of torchvision's checkpoints: features.0.0, features.1.conv.0.0, classifier.1.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelZoo.Torch.Models;

public sealed class MobileNetV2 : ZooModel
{
    public static void RegisterAll(ArchitectureRegistry r) =>
        r.Register(new("mobilenet_v2", "mobilenet", Modality.Image, o => new MobileNetV2(o.NumClasses)));

    // t (expansion), c (channels), n (repeats), s (stride of the first repeat), as in torchvision.
    static readonly int[][] InvertedResidualSetting =
    [
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ];

    const string HeadName = "1";

#pragma warning disable IDE1006 // state_dict names
    private readonly Sequential features;
    private readonly SwappableSequential classifier;
#pragma warning restore IDE1006

    readonly int _lastChannel;
    int _numClasses;

    public MobileNetV2(int numClasses = 1000, double widthMult = 1.0, int roundNearest = 8, double dropout = 0.2) : base("mobilenet_v2")
    {
        _numClasses = numClasses;
        int inputChannel = MobileNetLayers.MakeDivisible(32 * widthMult, roundNearest);
        _lastChannel = MobileNetLayers.MakeDivisible(1280 * Math.Max(1.0, widthMult), roundNearest);

        var layers = new List<Module<Tensor, Tensor>> { MobileNetLayers.ConvNormAct(3, inputChannel, 3, stride: 2, act: () => ReLU6(inplace: true)) };
        var strides = new List<int> { 2 };
        foreach (var row in InvertedResidualSetting)
        {
            int t = row[0], n = row[2], s = row[3];
            int outputChannel = MobileNetLayers.MakeDivisible(row[1] * widthMult, roundNearest);
            for (int i = 0; i < n; i++)
            {
                int stride = i == 0 ? s : 1;
                layers.Add(new InvertedResidual(inputChannel, outputChannel, stride, t));
                strides.Add(stride);
                inputChannel = outputChannel;
            }
        }
        layers.Add(MobileNetLayers.ConvNormAct(inputChannel, _lastChannel, 1, act: () => ReLU6(inplace: true)));
        strides.Add(1);

        features = Sequential(layers.Select((m, i) => (i.ToString(), m)).ToList());
        classifier = new SwappableSequential(("0", Dropout(dropout)), (HeadName, Linear(_lastChannel, numClasses, device: TorchRuntime.BuildDevice)));
        var stages = MobileNetLayers.StagesByStride(strides);
        stages.Add(("head", ["classifier." + HeadName]));
        StagePrefixes = stages;
        RegisterComponents();
        MobileNetLayers.InitWeights(this);
    }

    public override string Architecture => "mobilenet_v2";
    public override int NumFeatures => _lastChannel;
    public override int NumClasses => _numClasses;
    public override string ClassifierPrefix => "classifier." + HeadName;

    protected override IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes { get; }

    public override Tensor ForwardFeatures(Tensor x) => features.call(x);

    public override Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var x = functional.adaptive_avg_pool2d(features, [1, 1]).flatten(1);
        // Pre-logits are the classifier Linear's input: after classifier.0 (dropout, a no-op in eval mode).
        return classifier.RunHead(x, HeadName, preLogits).MoveToOuterDisposeScope();
    }

    public override void ResetClassifier(int numClasses)
    {
        classifier.ResetLinear(HeadName, _lastChannel, numClasses, MobileNetLayers.InitLinear);
        _numClasses = numClasses;
    }

    /// <summary>torchvision's InvertedResidual: optional 1x1 expansion, 3x3 depthwise, linear 1x1 projection.</summary>
    internal sealed class InvertedResidual : Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006
        private readonly Sequential conv;
#pragma warning restore IDE1006
        readonly bool _useResConnect;

        /// <summary>Whether the block adds its input to its output (the ONNX exporter writes the same graph).</summary>
        internal bool UseResConnect => _useResConnect;

        public InvertedResidual(int inp, int oup, int stride, int expandRatio) : base("InvertedResidual")
        {
            int hidden = (int)Math.Round((double)inp * expandRatio, MidpointRounding.ToEven);
            _useResConnect = stride == 1 && inp == oup;
            var layers = new List<Module<Tensor, Tensor>>();
            if (expandRatio != 1)
                layers.Add(MobileNetLayers.ConvNormAct(inp, hidden, 1, act: () => ReLU6(inplace: true)));
            layers.Add(MobileNetLayers.ConvNormAct(hidden, hidden, 3, stride: stride, groups: hidden, act: () => ReLU6(inplace: true)));
            layers.Add(Conv2d(hidden, oup, 1, bias: false, device: TorchRuntime.BuildDevice));
            layers.Add(BatchNorm2d(oup, device: TorchRuntime.BuildDevice));
            conv = Sequential(layers.Select((m, i) => (i.ToString(), m)).ToList());
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            if (!_useResConnect) return conv.call(x);
            using var scope = NewDisposeScope();
            return x.add(conv.call(x)).MoveToOuterDisposeScope();
        }
    }
}
