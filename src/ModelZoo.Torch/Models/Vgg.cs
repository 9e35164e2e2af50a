using ModelZoo.Torch.Native;
// VGG-11/13/16/19 and their batch-norm variants as in torchvision/models/vgg.py (0.14.1).
// Field names are the state_dict keys of torchvision's checkpoints: features.N, classifier.0/3/6.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelZoo.Torch.Models;

/// <summary>
/// <see cref="ForwardFeatures"/> is exactly <c>features(x)</c>, the last max-pool included, as torchvision's
/// <c>model.features</c>. The head is <c>classifier.6</c> (the last Linear): <see cref="ResetClassifier"/> keeps the
/// two 4096-wide layers, as transfer learning on VGG usually does, and <see cref="NumFeatures"/> is their width.
/// </summary>
public sealed class Vgg : ZooModel
{
    // torchvision's cfgs; 0 is a max-pool ("M").
    static readonly Dictionary<string, int[]> Configs = new()
    {
        ["A"] = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        ["B"] = [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        ["D"] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
        ["E"] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
    };

    public static void RegisterAll(ArchitectureRegistry r)
    {
        foreach (var (depth, cfg) in new[] { ("11", "A"), ("13", "B"), ("16", "D"), ("19", "E") })
        {
            var name = "vgg" + depth;
            r.Register(new(name, "vgg", Modality.Image, o => new Vgg(name, cfg, batchNorm: false, o.NumClasses, o.HeadPoolSize ?? ReferencePool, o.HeadHidden ?? ReferenceHidden), AdaptableHead: true));
            r.Register(new(name + "_bn", "vgg", Modality.Image, o => new Vgg(name + "_bn", cfg, batchNorm: true, o.NumClasses, o.HeadPoolSize ?? ReferencePool, o.HeadHidden ?? ReferenceHidden), AdaptableHead: true));
        }
    }

    public const int ReferenceHidden = 4096;
    public const int ReferencePool = 7;
    const string HeadName = "6";

#pragma warning disable IDE1006 // state_dict names
    private readonly Sequential features;
    private readonly Module<Tensor, Tensor> avgpool;
    private readonly SwappableSequential classifier;
#pragma warning restore IDE1006

    readonly string _arch;
    readonly int _hidden;
    int _numClasses;

    /// <param name="poolSize">Side of the adaptive pool before the classifier: torchvision's 7, or 1 for small inputs
    /// (a 32x32 input leaves a 1x1 map after the five max-pools, which a 7x7 pool would only copy 49 times).</param>
    /// <param name="hidden">Width of classifier.0 and classifier.3: torchvision's 4096, or less for small inputs.</param>
    public Vgg(string arch, string cfg, bool batchNorm, int numClasses = 1000, int poolSize = ReferencePool, int hidden = ReferenceHidden,
        double dropout = 0.5) : base(arch)
    {
        if (poolSize < 1) throw new ArgumentOutOfRangeException(nameof(poolSize), poolSize, "The head pool size must be at least 1.");
        if (hidden < 1) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, "The hidden width must be at least 1.");
        _arch = arch;
        _hidden = hidden;
        _numClasses = numClasses;
        var (layers, stages) = MakeLayers(Configs[cfg], batchNorm);
        features = Sequential(layers);
        avgpool = AdaptiveAvgPool2d(new long[] { poolSize, poolSize });
        classifier = new SwappableSequential(
            ("0", Linear(512L * poolSize * poolSize, hidden, device: TorchRuntime.BuildDevice)),
            ("1", ReLU(inplace: true)),
            ("2", Dropout(dropout)),
            ("3", Linear(hidden, hidden, device: TorchRuntime.BuildDevice)),
            ("4", ReLU(inplace: true)),
            ("5", Dropout(dropout)),
            (HeadName, Linear(hidden, numClasses, device: TorchRuntime.BuildDevice)));
        stages.Add(("pre_logits", ["classifier.0", "classifier.3"]));
        stages.Add(("head", ["classifier." + HeadName]));
        StagePrefixes = stages;
        RegisterComponents();
        InitWeights();
    }

    /// <summary>
    /// torchvision's make_layers. Stages end at each max-pool (the downsampling points): the first block is
    /// "stem", the next ones "stage1".."stage4".
    /// </summary>
    static (List<(string, Module<Tensor, Tensor>)> Layers, List<(string, string[])> Stages) MakeLayers(int[] cfg, bool batchNorm)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        var stages = new List<(string, string[])>();
        var current = new List<string>();
        long inChannels = 3;
        void Add(Module<Tensor, Tensor> m)
        {
            var key = layers.Count.ToString();
            layers.Add((key, m));
            current.Add("features." + key);
        }
        foreach (var v in cfg)
        {
            if (v == 0)
            {
                Add(MaxPool2d(kernel_size: 2, stride: 2));
                stages.Add((stages.Count == 0 ? "stem" : $"stage{stages.Count}", current.ToArray()));
                current.Clear();
                continue;
            }
            Add(Conv2d(inChannels, v, kernel_size: 3, padding: 1, device: TorchRuntime.BuildDevice));
            if (batchNorm) Add(BatchNorm2d(v, device: TorchRuntime.BuildDevice));
            Add(ReLU(inplace: true));
            inChannels = v;
        }
        return (layers, stages);
    }

    /// <summary>torchvision's init: Kaiming-normal (fan_out, relu) convolutions, N(0, 0.01) linears, zero biases.</summary>
    void InitWeights()
    {
        using var _ = no_grad();
        foreach (var (_, m) in named_modules())
        {
            switch (m)
            {
                case Conv2d c:
                    init.kaiming_normal_(c.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
                    if (c.bias is not null) init.zeros_(c.bias);
                    break;
                case BatchNorm2d b:
                    init.ones_(b.weight);
                    init.zeros_(b.bias);
                    break;
                case Linear l:
                    InitLinear(l);
                    break;
            }
        }
    }

    static void InitLinear(Linear l)
    {
        using var _ = no_grad();
        init.normal_(l.weight, 0, 0.01);
        if (l.bias is not null) init.zeros_(l.bias);
    }

    public override string Architecture => _arch;
    public override int NumFeatures => _hidden;
    public override int NumClasses => _numClasses;
    public override string ClassifierPrefix => "classifier." + HeadName;
    /// <summary>Only 3x3 convolutions, max-pooling and pointwise ops: channels-last is exact and faster here.</summary>
    public override bool ChannelsLastInference => true;

    protected override IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes { get; }

    /// <summary>In CPU inference the stack runs channels-last (<see cref="InferenceLayout"/>: only 3x3 convolutions,
    /// max-pooling and pointwise ops, all checked against NCHW); the result is handed back in the usual NCHW order,
    /// so callers never see the difference.</summary>
    public override Tensor ForwardFeatures(Tensor x)
    {
        if (!InferenceLayout.UseChannelsLast(this, x)) return features.call(x);
        using var scope = NewDisposeScope();
        return features.call(InferenceLayout.ToChannelsLast(x)).contiguous().MoveToOuterDisposeScope();
    }

    public override Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var x = avgpool.call(features).flatten(1);
        return classifier.RunHead(x, HeadName, preLogits).MoveToOuterDisposeScope();
    }

    public override void ResetClassifier(int numClasses)
    {
        classifier.ResetLinear(HeadName, _hidden, numClasses, InitLinear);
        _numClasses = numClasses;
    }
}
