using ModelZoo.Torch.Models;
using ModelZoo.Torch.Predict;
using ModelZoo.Torch.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Predict;

/// <summary>
/// Grad-CAM through the uniform model API, for every image architecture: the stage it explains is the one
/// <see cref="ZooModel.ForwardFeatures"/> returns, and the map is what Grad-CAM's definition gives.
/// </summary>
[Collection(TorchGlobalRngCollection.Name)]
public class GradCamTests
{
    public static TheoryData<string> ImageArchitectures() => ArchitectureContractTests.ImageArchitectures();

    static ZooModel Frozen(string arch, int classes = 5)
    {
        var m = ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(NumClasses: classes));
        m.eval();
        foreach (var p in m.parameters()) p.requires_grad = false;
        return m;
    }

    [Theory]
    [MemberData(nameof(ImageArchitectures))]
    public void FeatureModule_IsTheModuleWhoseOutputForwardFeaturesReturns(string arch)
    {
        using var scope = NewDisposeScope();
        using var m = ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(NumClasses: 3));
        m.StageNames.ShouldContain(m.FeatureStage);
        m.FeatureStage.ShouldNotBe("head");
        m.StageNames.ToList().IndexOf(m.FeatureStage).ShouldBeLessThan(m.StageNames.Count - 1);
        var module = m.named_modules().Single(x => x.name == m.FeatureModule).module as nn.Module<Tensor, Tensor>;
        module.ShouldNotBeNull($"{m.FeatureModule} is a tensor-to-tensor module");
        Tensor? seen = null;
        // Out of every dispose scope: the architecture's ForwardFeatures disposes what its own scope holds but its result.
        var hook = module.register_forward_hook((_, _, output) => { seen = output.detach().clone().DetachFromDisposeScope(); return output; });
        Tensor features;
        using (no_grad()) features = m.ForwardFeatures(randn(1, 3, 64, 64));
        hook.remove();
        seen.ShouldNotBeNull($"{m.FeatureModule} ran in ForwardFeatures");
        seen.shape.ShouldBe(features.shape);
        seen.allclose(features.contiguous()).ShouldBeTrue($"{m.FeatureModule}'s output is the feature map");
        seen.Dispose();
    }

    [Theory]
    [InlineData("resnet18", "layer4", "layer4")]
    [InlineData("resnet18_cntk", "layer4", "layer4")]
    [InlineData("vgg11_bn", "stage4", "features.28")]
    [InlineData("mobilenet_v2", "stage4", "features.18")]
    [InlineData("mobilenet_v3_small", "stage4", "features.12")]
    public void FeatureStage_IsTheLastStageBeforeTheHead(string arch, string stage, string module)
    {
        using var m = ArchitectureRegistry.Default.Create(arch);
        m.FeatureStage.ShouldBe(stage);
        m.FeatureModule.ShouldBe(module);
    }

    [Theory]
    [MemberData(nameof(ImageArchitectures))]
    public void Map_HasTheFeatureMapsShape_IsFiniteInZeroOne_AndLeavesNoParameterGradient(string arch)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var m = Frozen(arch);
        var x = randn(1, 3, 64, 64);
        Tensor features;
        using (no_grad()) features = m.ForwardFeatures(x);

        var e = GradCam.Explain(m, x);

        e.Map.Height.ShouldBe((int)features.shape[2]);
        e.Map.Width.ShouldBe((int)features.shape[3]);
        e.Map.Values.Length.ShouldBe(e.Map.Height * e.Map.Width);
        e.Map.Values.ShouldAllBe(v => float.IsFinite(v) && v >= 0 && v <= 1);
        var max = e.Map.Values.Max();
        (max == 1f || max == 0f).ShouldBeTrue("normalised by its maximum, or zero where nothing argues for the class");
        e.Map.Stage.ShouldBe(m.FeatureStage);
        e.Probabilities.Length.ShouldBe(5);
        e.Probabilities.Sum().ShouldBe(1f, 1e-4f);
        e.Map.TargetClass.ShouldBe(Array.IndexOf(e.Probabilities, e.Probabilities.Max()), "the top class by default");
        using (no_grad()) e.Probabilities.ShouldBe(nn.functional.softmax(m.call(x), 1)[0].data<float>().ToArray(), 1e-5f);
        m.parameters().All(p => p.grad is null).ShouldBeTrue("no parameter received a gradient");
    }

    /// <summary>
    /// With global average pooling and a linear classifier, Grad-CAM's channel weights are the classifier's row divided
    /// by the map's area, so the normalised map is the class activation map of Zhou et al. (2016), ReLU(Σ_k w_ck A_k):
    /// an independent computation of what the map must be.
    /// </summary>
    [Fact]
    public void ForAPoolThenLinearHead_TheMapIsTheClassActivationMap()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var m = Frozen("resnet18", classes: 4);
        var x = randn(1, 3, 96, 96);

        for (int c = 0; c < 4; c++)
        {
            var e = GradCam.Explain(m, x, targetClass: c);
            Tensor cam;
            using (no_grad())
            {
                var a = m.ForwardFeatures(x)[0];                                   // [512, 3, 3]
                var w = m.named_parameters().Single(p => p.name == "fc.weight").parameter[c]; // [512]
                cam = nn.functional.relu((w.view(-1, 1, 1) * a).sum(0L)); // 0L: a plain 0 would pick sum(ScalarType)
                var max = cam.max().item<float>();
                if (max > 0) cam = cam / max;
            }
            e.Map.TargetClass.ShouldBe(c);
            e.Map.Values.ShouldBe(cam.contiguous().data<float>().ToArray(), 1e-4f);
        }
    }

    /// <summary>Two classes whose classifier rows are opposite read opposite evidence: where one's map is positive the
    /// other's is zero, so the heatmap follows the class it explains.</summary>
    [Fact]
    public void OppositeClasses_HaveMapsThatDoNotOverlap()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var m = Frozen("resnet18", classes: 2);
        using (no_grad())
        {
            var w = m.named_parameters().Single(p => p.name == "fc.weight").parameter;
            w[1].copy_(-w[0]);
        }
        var x = randn(1, 3, 128, 128);

        var a = GradCam.Explain(m, x, 0).Map.Values;
        var b = GradCam.Explain(m, x, 1).Map.Values;

        a.Max().ShouldBe(1f);
        b.Max().ShouldBe(1f);
        a.Zip(b).ShouldAllBe(p => p.First == 0 || p.Second == 0);
    }

    [Fact]
    public void Upsample_KeepsTheRange_AndAConstantMapConstant()
    {
        var map = new GradCamMap([0f, 1f, 0.5f, 0.25f], 2, 2, 0, "layer4", "layer4");
        var up = GradCam.Upsample(map, 16, 16);
        up.Length.ShouldBe(256);
        up.ShouldAllBe(v => v >= 0 && v <= 1);
        up[0].ShouldBe(0f, "a corner keeps its cell's value (align_corners false)");
        up[15].ShouldBe(1f);
        GradCam.Upsample(map with { Values = [0.7f, 0.7f, 0.7f, 0.7f] }, 9, 5).ShouldAllBe(v => Math.Abs(v - 0.7f) < 1e-6);
    }

    [Fact]
    public void Explain_RefusesABatch()
    {
        using var m = Frozen("resnet18");
        Should.Throw<ArgumentException>(() => GradCam.Explain(m, randn(2, 3, 32, 32)));
    }
}
