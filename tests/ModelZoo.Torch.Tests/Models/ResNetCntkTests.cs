using ModelZoo.Torch.Models;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Models;

/// <summary>
/// resnet18_cntk, the network of ML.NET's ResNet-18 ONNX file: torchvision's basic-block ResNet with 2, 2, 2 and 3
/// blocks, keyed like torchvision, with the same uniform API as the other ResNets. Parity with the file itself is in
/// Weights/OnnxResNetParityTests.
/// </summary>
public class ResNetCntkTests
{
    static ZooModel Create(int classes = 1000) => ArchitectureRegistry.Default.Create("resnet18_cntk", new ArchitectureOptions(classes));

    /// <summary>Every key of torchvision's naming for the 2-2-2-3 layout: stem, 9 basic blocks, 3 downsample
    /// shortcuts, fc.</summary>
    static List<string> ExpectedKeys()
    {
        static IEnumerable<string> Conv(string p) => [p + ".weight"];
        static IEnumerable<string> Bn(string p) =>
            new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }.Select(s => $"{p}.{s}");
        var keys = new List<string>();
        keys.AddRange(Conv("conv1").Concat(Bn("bn1")));
        int[] blocks = [2, 2, 2, 3];
        for (int layer = 1; layer <= 4; layer++)
            for (int b = 0; b < blocks[layer - 1]; b++)
            {
                var p = $"layer{layer}.{b}";
                keys.AddRange(Conv(p + ".conv1").Concat(Bn(p + ".bn1")).Concat(Conv(p + ".conv2")).Concat(Bn(p + ".bn2")));
                if (layer > 1 && b == 0) keys.AddRange(Conv(p + ".downsample.0").Concat(Bn(p + ".downsample.1")));
            }
        keys.AddRange(["fc.weight", "fc.bias"]);
        return keys;
    }

    [Fact]
    public void StateDictKeys_AreTorchvisionsResNetKeys_ForTwoTwoTwoThreeBlocks()
    {
        using var m = Create();
        var expected = ExpectedKeys();
        m.state_dict().Keys.ShouldBe(expected, ignoreOrder: true);
        expected.Count.ShouldBe(134);
        m.state_dict().Keys.Count(k => k.EndsWith(".weight", StringComparison.Ordinal) && m.state_dict()[k].dim() == 4).ShouldBe(22, "22 convolutions, as the file");
    }

    [Theory]
    [InlineData(224, 7)]  // the file's size: 7x7 maps, as its AveragePool 7x7 expects
    [InlineData(32, 1)]
    [InlineData(200, 7)]  // odd maps on the way (25, then 13): CNTK's same padding, symmetric there
    public void Forward_GivesFeatureMaps_PooledFeatures_AndLogits(int size, int mapSize)
    {
        using var scope = NewDisposeScope();
        using var m = Create(10);
        m.eval();
        using var _ = no_grad();
        var x = randn(2, 3, size, size);
        var features = m.ForwardFeatures(x);
        features.shape.ShouldBe([2L, 512L, mapSize, mapSize]);
        m.ForwardHead(features, preLogits: true).shape.ShouldBe([2L, 512L]);
        m.call(x).shape.ShouldBe([2L, 10L]);
        m.NumFeatures.ShouldBe(512);
    }

    [Fact]
    public void Stages_AreNamedAsTheOtherResNets_AndTheClassifierResets()
    {
        using var m = Create();
        using var reference = ArchitectureRegistry.Default.Create("resnet18");
        m.StageNames.ShouldBe(reference.StageNames);
        m.ParameterGroups().Single(g => g.Name == "layer4").Parameters.ShouldContain(p => p.Name == "layer4.2.conv2.weight");
        m.ClassifierPrefix.ShouldBe("fc");

        m.ResetClassifier(5);
        m.NumClasses.ShouldBe(5);
        m.state_dict()["fc.weight"].shape.ShouldBe([5L, 512L]);
        ArchitectureRegistry.Default.Facts("resnet18_cntk").HasBatchNorm.ShouldBeTrue();
    }

    /// <summary>resnet18's 1,814,073,344 (FlopCounterTests) plus the extra block's two 3x3 convolutions on 7x7 maps:
    /// 2 * 7 * 7 * 512 * 512 * 9 = 231,211,008.</summary>
    [Fact]
    public void Macs_At224_AreResNet18s_PlusOne512WideBlock()
    {
        using var m = Create();
        FlopCounter.Count(m, 224).Macs.ShouldBe(1_814_073_344L + 231_211_008L);
    }
}
