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

    // Counts printed by Debian's torchvision 0.14.1 (/usr/bin/python3, torch 1.13.1):
    // sum(p.numel() for p in torchvision.models.<name>().parameters()).
    [Theory]
    [InlineData("resnet18", 11_689_512)]
    [InlineData("resnet34", 21_797_672)]
    [InlineData("resnet50", 25_557_032)]
    [InlineData("resnet101", 44_549_160)]
    [InlineData("resnet152", 60_192_808)]
    [InlineData("vgg11", 132_863_336)]
    [InlineData("vgg11_bn", 132_868_840)]
    [InlineData("vgg13", 133_047_848)]
    [InlineData("vgg13_bn", 133_053_736)]
    [InlineData("vgg16", 138_357_544)]
    [InlineData("vgg16_bn", 138_365_992)]
    [InlineData("vgg19", 143_667_240)]
    [InlineData("vgg19_bn", 143_678_248)]
    [InlineData("mobilenet_v2", 3_504_872)]
    [InlineData("mobilenet_v3_small", 2_542_856)]
    [InlineData("mobilenet_v3_large", 5_483_032)]
    // Not a torchvision model: torchvision's ResNet(BasicBlock, [2, 2, 2, 3]), resnet18's 11,689,512 plus one 512-wide
    // basic block (2 * 512 * 512 * 9 + 4 * 512 = 4,720,640). OnnxImporterTests checks it against the ONNX file too.
    [InlineData("resnet18_cntk", 16_410_152)]
    public void ParameterCount_EqualsTorchvision(string arch, long expected)
    {
        using var m = ArchitectureRegistry.Default.Create(arch);
        m.ParameterCount().ShouldBe(expected);
    }

    [Fact]
    public void EveryImageArchitecture_HasATorchvisionParameterCount()
    {
        var covered = typeof(ArchitectureContractTests).GetMethod(nameof(ParameterCount_EqualsTorchvision))!
            .GetCustomAttributes(typeof(InlineDataAttribute), false).Cast<InlineDataAttribute>()
            .Select(a => (string)a.GetData(null!).First()[0]).ToHashSet();
        foreach (var a in ArchitectureRegistry.Default.All.Where(a => a.Modality == Modality.Image))
            covered.ShouldContain(a.Name);
    }

    // Counts and keys printed by Debian's torchvision 0.14.1: len(torchvision.models.<name>().state_dict()) and its keys.
    [Theory]
    [InlineData("resnet34", 218, "layer3.5.bn2.num_batches_tracked", "layer4.0.downsample.1.running_var")]
    // resnet18's 122 keys and the 12 of one more basic block (two convolutions, two BatchNorms of five entries).
    [InlineData("resnet18_cntk", 134, "layer2.0.downsample.0.weight", "layer4.0.downsample.1.running_var", "layer4.2.conv1.weight",
        "layer4.2.bn2.num_batches_tracked", "fc.weight")]
    [InlineData("resnet50", 320, "layer1.0.downsample.0.weight", "layer4.2.conv3.weight", "layer4.2.bn3.running_mean")]
    [InlineData("resnet101", 626, "layer3.22.conv2.weight", "layer4.0.downsample.1.num_batches_tracked")]
    [InlineData("resnet152", 932, "layer2.7.bn3.bias", "layer3.35.conv3.weight")]
    [InlineData("vgg11", 22, "features.0.weight", "features.18.bias", "classifier.0.weight", "classifier.3.bias", "classifier.6.weight")]
    [InlineData("vgg11_bn", 62, "features.1.running_mean", "features.25.weight", "features.26.num_batches_tracked", "classifier.6.bias")]
    [InlineData("vgg13", 26, "features.2.weight", "features.22.bias", "classifier.6.bias")]
    [InlineData("vgg13_bn", 76, "features.3.weight", "features.32.running_var", "classifier.3.weight")]
    [InlineData("vgg16", 32, "features.28.weight", "classifier.0.bias")]
    [InlineData("vgg16_bn", 97, "features.41.weight", "features.41.num_batches_tracked", "classifier.6.weight")]
    [InlineData("vgg19", 38, "features.34.weight", "classifier.6.bias")]
    [InlineData("vgg19_bn", 118, "features.50.running_mean", "features.50.num_batches_tracked", "features.49.weight", "classifier.0.weight")]
    [InlineData("mobilenet_v2", 314, "features.0.0.weight", "features.1.conv.0.0.weight", "features.1.conv.1.weight",
        "features.2.conv.0.1.running_var", "features.17.conv.3.num_batches_tracked", "features.18.1.bias", "classifier.1.weight")]
    [InlineData("mobilenet_v3_small", 244, "features.0.1.running_mean", "features.1.block.1.fc1.weight", "features.1.block.1.fc2.bias",
        "features.4.block.2.fc1.bias", "features.12.0.weight", "classifier.0.weight", "classifier.3.bias")]
    [InlineData("mobilenet_v3_large", 312, "features.1.block.0.0.weight", "features.4.block.2.fc2.weight", "features.15.block.3.1.num_batches_tracked",
        "features.16.0.weight", "classifier.0.bias", "classifier.3.weight")]
    public void StateDictKeys_AreTorchvisionKeys(string arch, int count, params string[] samples)
    {
        using var m = ArchitectureRegistry.Default.Create(arch);
        var keys = m.state_dict().Keys.ToList();
        keys.Count.ShouldBe(count);
        foreach (var k in samples) keys.ShouldContain(k);
        keys.ShouldContain(m.ClassifierPrefix + ".weight");
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
        preLogits.shape.ShouldBe([2L, (long)m.NumFeatures]);
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

    [Theory]
    [InlineData("resnet50", 1000)]
    [InlineData("vgg16_bn", 10)]
    [InlineData("mobilenet_v3_small", 5)]
    public void CountParameters_OnMeta_EqualsTheRealModule_AndLeavesTheDefaultDeviceOnCpu(string arch, int classes)
    {
        var counted = ArchitectureRegistry.Default.CountParameters(arch, new ArchitectureOptions(classes));
        using var real = ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(classes));
        counted.ShouldBe(real.ParameterCount());
        using var t = zeros(1);
        t.device_type.ShouldBe(DeviceType.CPU);
    }

    public static TheoryData<string> AllArchitectures()
    {
        var d = new TheoryData<string>();
        foreach (var a in ArchitectureRegistry.Default.All) d.Add(a.Name);
        return d;
    }

    // The planner and the catalogue build models on meta while runs train on other threads. Meta is this thread's
    // build device only: a module left on the CPU would cost the planner memory (VGG: 528 MiB), and a process-wide
    // meta default turned another thread's tensors into meta tensors ("Cannot copy out of meta tensor", CI).
    [Theory]
    [MemberData(nameof(AllArchitectures))]
    public void OnMeta_BuildsEveryParameterAndBuffer_OnMeta_WhileOtherThreadsStayOnTheCpu(string arch)
    {
        var otherThread = ModelZoo.Torch.Native.TorchRuntime.OnMeta(() =>
        {
            using var model = ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(7));
            model.parameters().Where(p => p.device_type != DeviceType.META).Select(p => p.shape).ShouldBeEmpty();
            model.buffers().Where(b => b.device_type != DeviceType.META).Select(b => b.shape).ShouldBeEmpty();
            if (ArchitectureRegistry.Default.Get(arch).FineTuneAs is null)
            {
                model.ResetClassifier(3);
                model.parameters().ShouldAllBe(p => p.device_type == DeviceType.META);
            }
            return Task.Run(() => { using var t = zeros(2); return t.device_type; }).Result;
        });
        otherThread.ShouldBe(DeviceType.CPU);
        using var after = zeros(1);
        after.device_type.ShouldBe(DeviceType.CPU, "the build device is put back");
    }

    [Fact]
    public void Registry_RejectsDuplicateNames()
    {
        var r = new ArchitectureRegistry();
        ResNet.RegisterAll(r);
        Should.Throw<InvalidOperationException>(() => ResNet.RegisterAll(r)).Message.ShouldContain("already registered");
    }
}
