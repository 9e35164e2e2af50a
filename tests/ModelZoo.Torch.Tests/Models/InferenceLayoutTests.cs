using ModelZoo.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Models;

/// <summary>
/// Channels-last CPU inference (<see cref="InferenceLayout"/>) must change speed only. Every image architecture is
/// run both ways at the catalogue's 224x224, with BatchNorm statistics that are not the identity: an architecture
/// that takes the channels-last path must give the NCHW output, and one that does not simply gives it twice.
/// Enabling it for ResNet (tried: one line in ResNet.ForwardFeatures) takes this test down with libtorch's SIGFPE in a
/// 1x1 convolution; a scratch probe of ResNet-18 alone gave features off by 3.6 (of 16) after layer4.
/// </summary>
public class InferenceLayoutTests
{
    public static TheoryData<string> ImageArchitectures() => ArchitectureContractTests.ImageArchitectures();

    [Theory]
    [MemberData(nameof(ImageArchitectures))]
    public void Inference_GivesTheNchwOutput(string arch)
    {
        using var scope = NewDisposeScope();
        using var m = ModelZoo.Torch.Native.TorchRuntime.BuildSeeded(3, () => ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(NumClasses: 10)));
        RandomiseBatchNormStatistics(m);
        m.eval();
        var x = randn(2, 3, 224, 224, generator: new Generator(11));

        // Autograd on takes the NCHW path (the layout is for inference only), without touching the global switch.
        Tensor nchwFeatures, nchwLogits;
        using (enable_grad())
        {
            nchwFeatures = m.ForwardFeatures(x).detach();
            nchwLogits = m.call(x).detach();
        }
        Tensor features, logits;
        using (no_grad())
        {
            features = m.ForwardFeatures(x);
            logits = m.call(x);
        }

        RelativeError(features, nchwFeatures).ShouldBeLessThan(1e-4, "features");
        RelativeError(logits, nchwLogits).ShouldBeLessThan(1e-4, "logits");
        // Callers (feature caches, exports) read features as plain NCHW memory whatever layout ran inside.
        features.is_contiguous().ShouldBeTrue();
    }

    [Theory]
    [InlineData("vgg11_bn", true)]
    [InlineData("vgg16", true)]
    [InlineData("resnet18", false)]
    [InlineData("mobilenet_v2", false)]
    public void InferenceOnTheCpu_RunsChannelsLast_OnlyWhereTheArchitectureAllowsIt(string arch, bool expected)
    {
        using var m = ArchitectureRegistry.Default.Create(arch);
        m.eval();
        using var x = randn(1, 3, 64, 64);
        using (no_grad()) FirstConvolutionSeesChannelsLast(m, x).ShouldBe(expected);
    }

    [Fact]
    public void UsedFor_NamesTheArchitecturesThatRunChannelsLast_AndFollowsTheSwitch()
    {
        foreach (var a in ArchitectureRegistry.Default.All.Where(a => a.Modality == Modality.Image))
            InferenceLayout.UsedFor(a.Name).ShouldBe(a.Name.StartsWith("vgg", StringComparison.Ordinal), a.Name);
        var before = InferenceLayout.ChannelsLastEnabled;
        try
        {
            InferenceLayout.ChannelsLastEnabled = false;
            InferenceLayout.UsedFor("vgg16").ShouldBeFalse();
        }
        finally { InferenceLayout.ChannelsLastEnabled = before; }
    }

    [Fact]
    public void ChannelsLast_IsNeverUsedForTraining_NorWhenSwitchedOff()
    {
        using var m = ArchitectureRegistry.Default.Create("vgg11");
        using var x = randn(1, 3, 64, 64);
        m.train();
        using (no_grad()) FirstConvolutionSeesChannelsLast(m, x).ShouldBeFalse("train mode");
        m.eval();
        FirstConvolutionSeesChannelsLast(m, x).ShouldBeFalse("autograd on");

        var before = InferenceLayout.ChannelsLastEnabled;
        try
        {
            InferenceLayout.ChannelsLastEnabled = false;
            using (no_grad()) FirstConvolutionSeesChannelsLast(m, x).ShouldBeFalse("Torch:ChannelsLastInference false");
        }
        finally { InferenceLayout.ChannelsLastEnabled = before; }
    }

    /// <summary>A run evaluates between training epochs: channels-last evaluation must leave the weights as they were
    /// (values and NCHW memory), and training must go on from them as if evaluation had run NCHW.</summary>
    [Fact]
    public void EvaluationBetweenTrainingSteps_LeavesTheWeightsAndTrainingUntouched()
    {
        using var scope = NewDisposeScope();
        using var m = ModelZoo.Torch.Native.TorchRuntime.BuildSeeded(4, () =>
            ArchitectureRegistry.Default.Create("vgg11_bn", new ArchitectureOptions(NumClasses: 3, HeadPoolSize: 1, HeadHidden: 32)));
        using var sgd = optim.SGD(m.parameters(), 0.01, momentum: 0.9);
        var x = randn(4, 3, 32, 32, generator: new Generator(1));
        var y = tensor(new long[] { 0, 1, 2, 1 });
        void Step()
        {
            m.train();
            sgd.zero_grad();
            nn.functional.cross_entropy(m.call(x), y).backward();
            sgd.step();
        }

        Step();
        var before = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        m.eval();
        Tensor channelsLast, nchw;
        using (no_grad()) channelsLast = m.call(x);
        using (enable_grad()) nchw = m.call(x).detach();
        RelativeError(channelsLast, nchw).ShouldBeLessThan(1e-4);
        foreach (var (key, value) in m.state_dict())
        {
            value.equal(before[key]).all().item<bool>().ShouldBeTrue(key);
            value.is_contiguous().ShouldBeTrue(key);
        }

        Step();
        m.parameters().All(p => p.grad is not null).ShouldBeTrue("every parameter has a gradient");
        m.state_dict().Any(kv => !kv.Value.equal(before[kv.Key]).all().item<bool>()).ShouldBeTrue("the second step trained");
    }

    [Fact]
    public void ToChannelsLast_KeepsValuesAndIndexing_ChangesOnlyTheMemoryOrder()
    {
        using var x = arange(2 * 3 * 4 * 5, dtype: ScalarType.Float32).reshape(2, 3, 4, 5);
        using var cl = InferenceLayout.ToChannelsLast(x);
        cl.shape.ShouldBe(x.shape);
        cl.equal(x).all().item<bool>().ShouldBeTrue();
        InferenceLayout.IsChannelsLast(cl).ShouldBeTrue();
        InferenceLayout.IsChannelsLast(x).ShouldBeFalse();
        cl.stride().ShouldBe([60L, 1L, 15L, 3L]);
    }

    /// <summary>Runs the model and reports the memory order of the first convolution's input.</summary>
    static bool FirstConvolutionSeesChannelsLast(ZooModel m, Tensor x)
    {
        var conv = m.modules().OfType<TorchSharp.Modules.Conv2d>().First();
        bool? seen = null;
        var handle = conv.register_forward_pre_hook((_, input) =>
        {
            seen ??= InferenceLayout.IsChannelsLast(input);
            return input;
        });
        try
        {
            using var scope = NewDisposeScope();
            m.call(x);
        }
        finally { handle.remove(); }
        return seen ?? throw new InvalidOperationException("the first convolution never ran");
    }

    static void RandomiseBatchNormStatistics(ZooModel m)
    {
        using var _ = no_grad();
        var g = new Generator(5);
        foreach (var bn in m.modules().OfType<TorchSharp.Modules.BatchNorm2d>())
        {
            bn.running_mean!.copy_(randn(bn.running_mean.shape, generator: g) * 0.1);
            bn.running_var!.copy_(rand(bn.running_var.shape, generator: g) + 0.5);
            bn.weight!.copy_(rand(bn.weight.shape, generator: g) + 0.5);
            bn.bias!.copy_(randn(bn.bias.shape, generator: g) * 0.1);
        }
    }

    static double RelativeError(Tensor actual, Tensor expected) =>
        (actual - expected).abs().max().item<float>() / Math.Max(expected.abs().max().item<float>(), 1e-12);
}
