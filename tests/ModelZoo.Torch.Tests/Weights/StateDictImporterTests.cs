using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

public class StateDictImporterTests
{
    static ZooModel ResNet18(int classes = 10) => ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(classes));

    /// <summary>A checkpoint with the model's keys and shapes but other values.</summary>
    static Dictionary<string, Tensor> CheckpointFor(ZooModel shapeSource)
    {
        using var _ = no_grad();
        return shapeSource.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.dtype == ScalarType.Int64
            ? full_like(kv.Value, 42) : randn_like(kv.Value));
    }

    [Fact]
    public void Import_CopiesEveryTensor_WhenTheCheckpointFits()
    {
        using var model = ResNet18();
        using var other = ResNet18();
        var ckpt = CheckpointFor(other);

        var report = StateDictImporter.Import(model, ckpt, ImportOptions.Strict);

        report.TensorsCopied.ShouldBe(122);
        report.HeadReinitialised.ShouldBeFalse();
        StateDicts.ShouldEqual(model.state_dict(), ckpt);
        StateDicts.Dispose(ckpt.Values);
    }

    [Fact]
    public void Import_KeepsTheModelsDtype()
    {
        using var model = ResNet18();
        model.to(ScalarType.Float64);
        var ckpt = CheckpointFor(ResNet18());
        StateDictImporter.Import(model, ckpt);
        model.state_dict()["conv1.weight"].dtype.ShouldBe(ScalarType.Float64);
        StateDicts.Same(model.state_dict()["conv1.weight"], ckpt["conv1.weight"].to_type(ScalarType.Float64)).ShouldBeTrue();
        StateDicts.Dispose(ckpt.Values);
    }

    [Fact]
    public void Import_RejectsCheckpoint_WhenKeysAreMissing_AndLeavesTheModelUntouched()
    {
        using var model = ResNet18();
        var before = StateDicts.Snapshot(model);
        var ckpt = CheckpointFor(model);
        ckpt.Remove("layer1.0.conv1.weight");
        ckpt.Remove("bn1.running_var");

        var e = Should.Throw<WeightsImportException>(() => StateDictImporter.Import(model, ckpt));

        e.Message.ShouldContain("2 missing keys (");
        e.Missing.ShouldBe(["layer1.0.conv1.weight", "bn1.running_var"], ignoreOrder: true);
        e.Message.ShouldContain("layer1.0.conv1.weight");
        e.Message.ShouldContain("bn1.running_var");
        e.Message.ShouldContain("Nothing was imported");
        e.Missing.Count.ShouldBe(2);
        StateDicts.ShouldEqual(model.state_dict(), before);
    }

    [Fact]
    public void Import_RejectsCheckpoint_WhenKeysAreUnexpected()
    {
        using var model = ResNet18();
        var before = StateDicts.Snapshot(model);
        var ckpt = CheckpointFor(model);
        ckpt["layer5.0.conv1.weight"] = zeros(3);

        var e = Should.Throw<WeightsImportException>(() => StateDictImporter.Import(model, ckpt));

        e.Message.ShouldContain("1 unexpected key (layer5.0.conv1.weight)");
        StateDicts.ShouldEqual(model.state_dict(), before);
    }

    [Fact]
    public void Import_RejectsCheckpoint_WhenShapesDiffer()
    {
        using var model = ResNet18();
        var before = StateDicts.Snapshot(model);
        var ckpt = CheckpointFor(model);
        ckpt["conv1.weight"] = randn(64, 3, 3, 3);

        var e = Should.Throw<WeightsImportException>(() => StateDictImporter.Import(model, ckpt));

        e.Message.ShouldContain("1 shape mismatch (conv1.weight: checkpoint [64, 3, 3, 3], model [64, 3, 7, 7])");
        StateDicts.ShouldEqual(model.state_dict(), before);
    }

    [Fact]
    public void Import_ListsEveryKindOfProblem_AtMostTenEach_WithCounts()
    {
        using var model = ResNet18();
        var ckpt = CheckpointFor(model);
        foreach (var k in ckpt.Keys.Where(k => k.StartsWith("layer4.")).ToList()) ckpt.Remove(k);
        ckpt["extra"] = zeros(1);
        ckpt["bn1.weight"] = zeros(3);

        var e = Should.Throw<WeightsImportException>(() => StateDictImporter.Import(model, ckpt));

        e.Missing.Count.ShouldBe(30); // layer4: 2 blocks x 2 (conv + 5 bn) + downsample conv + 5 bn
        e.Message.ShouldContain("30 missing keys (");
        e.Message.ShouldContain(", and 20 more)");
        e.Message.ShouldContain("1 unexpected key (extra)");
        e.Message.ShouldContain("1 shape mismatch (bn1.weight");
    }

    [Fact]
    public void Import_KeepsTheBackbone_AndReinitialisesTheHead_WhenTheClassCountDiffers()
    {
        using var imagenet = ResNet18(classes: 1000);
        var ckpt = CheckpointFor(imagenet);
        using var model = ResNet18(classes: 10);

        var report = StateDictImporter.Import(model, ckpt);

        report.HeadReinitialised.ShouldBeTrue();
        report.Messages.ShouldContain("The checkpoint's classifier ('fc') has 1000 classes and the model has 10, so the head was initialised fresh.");
        report.TensorsCopied.ShouldBe(120);
        var sd = model.state_dict();
        StateDicts.Same(sd["layer4.1.conv2.weight"], ckpt["layer4.1.conv2.weight"]).ShouldBeTrue();
        sd["fc.weight"].shape.ShouldBe([10L, 512]);
        model.NumClasses.ShouldBe(10);
        StateDicts.Dispose(ckpt.Values);
    }

    [Fact]
    public void Import_ReinitialisesTheHead_WhenTheCheckpointHasNone()
    {
        using var model = ResNet18();
        var ckpt = CheckpointFor(model);
        ckpt.Remove("fc.weight");
        ckpt.Remove("fc.bias");

        var report = StateDictImporter.Import(model, ckpt);

        report.HeadReinitialised.ShouldBeTrue();
        report.Messages.ShouldContain(m => m == "The checkpoint has no classifier ('fc'), so the head was initialised fresh for the model's 10 classes.");
    }

    [Fact]
    public void Import_Strict_RejectsAHeadOfAnotherSize()
    {
        using var imagenet = ResNet18(classes: 1000);
        var ckpt = CheckpointFor(imagenet);
        using var model = ResNet18(classes: 10);
        Should.Throw<WeightsImportException>(() => StateDictImporter.Import(model, ckpt, ImportOptions.Strict))
            .Message.ShouldContain("fc.weight: checkpoint [1000, 512], model [10, 512]");
    }

    [Fact]
    public void Import_DoesNotResetTheHead_WhenTheBackboneAlsoDiffers()
    {
        using var imagenet = ResNet18(classes: 1000);
        var ckpt = CheckpointFor(imagenet);
        ckpt.Remove("conv1.weight");
        using var model = ResNet18(classes: 10);
        var e = Should.Throw<WeightsImportException>(() => StateDictImporter.Import(model, ckpt));
        e.Missing.ShouldBe(["conv1.weight"]);
        e.Mismatched.Count.ShouldBe(2); // the head is listed too: nothing is half-done
    }

    [Fact]
    public void Import_WithAllowMissing_KeepsTheModelsValues_AndSaysWhich()
    {
        using var model = ResNet18();
        var before = StateDicts.Snapshot(model);
        var ckpt = CheckpointFor(model);
        ckpt.Remove("fc.bias");

        var report = StateDictImporter.Import(model, ckpt, new ImportOptions(ResetHeadOnMismatch: false, AllowMissing: true));

        report.NotInCheckpoint.ShouldBe(["fc.bias"]);
        report.Messages.ShouldContain(m => m.Contains("1 key not in the checkpoint") && m.Contains("fc.bias"));
        StateDicts.Same(model.state_dict()["fc.bias"], before["fc.bias"]).ShouldBeTrue();
    }
}
