using ModelZoo.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Models;

/// <summary>Contract checks driven by the registry, like timm's tests/test_models.py: every architecture gets them.</summary>
public class ArchitectureContractTests
{
    public static TheoryData<string> ImageArchitectures()
    {
        var d = new TheoryData<string>();
        foreach (var a in ArchitectureRegistry.Default.All.Where(a => a.Modality == Modality.Image)) d.Add(a.Name);
        return d;
    }

    // Counts printed by torchvision 0.14.1: sum(p.numel() for p in torchvision.models.<name>().parameters()).
    [Theory]
    [InlineData("resnet18", 11_689_512)]
    [InlineData("resnet34", 21_797_672)]
    [InlineData("resnet50", 25_557_032)]
    [InlineData("resnet101", 44_549_160)]
    [InlineData("resnet152", 60_192_808)]
    public void ParameterCount_EqualsTorchvision(string arch, long expected)
    {
        using var m = ArchitectureRegistry.Default.Create(arch);
        m.ParameterCount().ShouldBe(expected);
    }

    [Theory]
    [MemberData(nameof(ImageArchitectures))]
    public void ForwardBackward_AndHeadReset_Work(string arch)
    {
        using var scope = NewDisposeScope();
        using var m = ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(NumClasses: 7));
        var x = randn(2, 3, 64, 64);
        var y = m.call(x);
        y.shape.ShouldBe([2L, 7L]);
        y.sum().backward();
        m.parameters().All(p => p.grad is not null).ShouldBeTrue();

        m.ResetClassifier(3);
        m.NumClasses.ShouldBe(3);
        m.call(x).shape.ShouldBe([2L, 3L]);
        var keys = m.state_dict().Keys.Where(k => k.StartsWith(m.ClassifierPrefix + ".")).ToList();
        keys.ShouldNotBeEmpty();
        m.eval();
        var features = m.ForwardFeatures(x);
        var preLogits = m.ForwardHead(features, preLogits: true);
        m.ForwardClassifier(preLogits).allclose(m.ForwardHead(features)).ShouldBeTrue("pre-logits feed the classifier");
        if (m is ResNet) preLogits.shape.ShouldBe([2L, (long)m.NumFeatures]);
    }

    [Theory]
    [MemberData(nameof(ImageArchitectures))]
    public void ParameterGroups_CoverEveryParameterOnce_StemFirstHeadLast(string arch)
    {
        using var m = ArchitectureRegistry.Default.Create(arch);
        var groups = m.ParameterGroups();
        groups.Sum(g => g.Parameters.Count).ShouldBe(m.named_parameters().Count());
        groups[^1].Name.ShouldBe("head");
        groups[^1].Parameters.ShouldAllBe(p => p.Name.StartsWith(m.ClassifierPrefix + "."));
    }

    [Fact]
    public void ResNet18_StateDictKeys_AreTorchvisionKeys()
    {
        using var m = ArchitectureRegistry.Default.Create("resnet18");
        var keys = m.state_dict().Keys.ToList();
        keys.Count.ShouldBe(122); // len(torchvision.models.resnet18().state_dict())
        keys.ShouldContain("conv1.weight");
        keys.ShouldContain("layer1.0.bn2.running_var");
        keys.ShouldContain("layer2.0.downsample.0.weight");
        keys.ShouldContain("layer4.1.bn2.num_batches_tracked");
        keys.ShouldContain("fc.bias");
    }

    [Fact]
    public void Registry_RejectsDuplicateNames()
    {
        var r = new ArchitectureRegistry();
        ResNet.RegisterAll(r);
        Should.Throw<InvalidOperationException>(() => ResNet.RegisterAll(r)).Message.ShouldContain("already registered");
    }
}
