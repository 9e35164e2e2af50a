using ModelZoo.Core.Catalog;
using ModelZoo.Torch.Models;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Models;

/// <summary>
/// VGG's head adapted to small inputs (ArchitectureOptions.HeadPoolSize / HeadHidden): torchvision's key names kept,
/// only shapes changed, and the shape travels through a manifest so house weights are rebuilt as they were trained.
/// </summary>
public class AdaptedHeadTests
{
    static readonly ArchitectureOptions Small = new(62, HeadPoolSize: 1, HeadHidden: 512);

    [Fact]
    public void AdaptedVgg_KeepsTorchvisionsStateDictKeys_WithSmallerClassifierShapes()
    {
        using var reference = ArchitectureRegistry.Default.Create("vgg11_bn", new ArchitectureOptions(62));
        using var adapted = ArchitectureRegistry.Default.Create("vgg11_bn", Small);
        var r = reference.state_dict(); var a = adapted.state_dict();
        a.Keys.ShouldBe(r.Keys.ToList());
        a["classifier.0.weight"].shape.ShouldBe([512L, 512L]);
        r["classifier.0.weight"].shape.ShouldBe([4096L, 512L * 7 * 7]);
        a["classifier.6.weight"].shape.ShouldBe([62L, 512L]);
        foreach (var key in a.Keys.Where(k => k.StartsWith("features.", StringComparison.Ordinal)))
            a[key].shape.ShouldBe(r[key].shape, key);
        adapted.NumFeatures.ShouldBe(512);
    }

    [Fact]
    public void AdaptedVgg_ParameterCount_IsTheFeaturesPlusTheSmallHead()
    {
        using var reference = ArchitectureRegistry.Default.Create("vgg11_bn", new ArchitectureOptions(62));
        long features = reference.named_parameters().Where(p => p.name.StartsWith("features.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        long head = (512 * 512 + 512) + (512 * 512 + 512) + (512 * 62 + 62);
        ArchitectureRegistry.Default.CountParameters("vgg11_bn", Small).ShouldBe(features + head);
    }

    [Fact]
    public void AdaptedVgg_RunsAt32Pixels_AndResetsItsHead()
    {
        using var m = ArchitectureRegistry.Default.Create("vgg11_bn", Small);
        m.eval();
        using var x = randn(2, 3, 32, 32);
        using (var y = m.call(x)) y.shape.ShouldBe([2L, 62L]);
        using (var f = m.ForwardFeatures(x)) f.shape.ShouldBe([2L, 512L, 1L, 1L]);
        m.ResetClassifier(10);
        using var z = m.call(x);
        z.shape.ShouldBe([2L, 10L]);
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void ArchitecturesWithoutAnAdaptableHead_RefuseHeadShapeOptions(string arch)
    {
        Should.Throw<ArgumentException>(() => ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(62, HeadHidden: 512)))
            .Message.ShouldContain("no adaptable head");
    }

    [Fact]
    public void Options_FromAManifest_CarryTheHeadShape()
    {
        var m = new ModelManifest { Architecture = "vgg11_bn", Head = new HeadInfo { NumClasses = 62, PoolSize = 1, Hidden = 512 } };
        ArchitectureOptions.Of(m).ShouldBe(Small);
        ArchitectureOptions.Of(m with { Head = new HeadInfo { NumClasses = 1000 } }).ShouldBe(new ArchitectureOptions(1000));
    }
}
