using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

public class TorchSharpFormatTests : IDisposable
{
    readonly TempFolder _tmp = new();
    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Load_ReadsWhatModuleSaveWrites()
    {
        using var model = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(NumClasses: 10));
        var path = _tmp.PathOf("resnet18.dat");
        model.save(path);

        var loaded = TorchSharpFormat.Load(path);
        try { StateDicts.ShouldEqual(loaded, model.state_dict()); }
        finally { StateDicts.Dispose(loaded.Values); }
    }

    [Fact]
    public void Save_WritesWhatModuleLoadReads()
    {
        using var source = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(NumClasses: 10));
        using var target = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(NumClasses: 10));
        var path = _tmp.PathOf("ours.dat");
        TorchSharpFormat.Save(path, source.state_dict());

        target.load(path, strict: true);
        StateDicts.ShouldEqual(target.state_dict(), source.state_dict());
    }

    [Fact]
    public void Save_KeepsEachDtype_AndLoadWidensFloatsToFloat32()
    {
        using var scope = NewDisposeScope();
        var path = _tmp.PathOf("mixed.dat");
        var half = randn(3, 2).to_type(ScalarType.Float16);
        TorchSharpFormat.Save(path, new Dictionary<string, Tensor> { ["h"] = half, ["n"] = tensor(5L), ["ключ"] = ones(1) });

        var loaded = TorchSharpFormat.Load(path);
        loaded["h"].dtype.ShouldBe(ScalarType.Float32);
        StateDicts.Same(loaded["h"], half.to_type(ScalarType.Float32)).ShouldBeTrue();
        loaded["n"].item<long>().ShouldBe(5L);
        loaded.Keys.ShouldContain("ключ"); // keys are UTF-8, as BinaryWriter writes them
    }

    [Fact]
    public void Load_RejectsATruncatedFile()
    {
        using var model = ArchitectureRegistry.Default.Create("resnet18");
        var full = _tmp.PathOf("full.dat");
        model.save(full);
        var bytes = File.ReadAllBytes(full);
        var cut = _tmp.PathOf("cut.dat");
        File.WriteAllBytes(cut, bytes[..(bytes.Length - 100)]);
        var e = Should.Throw<WeightsFormatException>(() => TorchSharpFormat.Load(cut));
        e.Message.ShouldStartWith("cut.dat:");
        e.Message.ShouldContain("truncated");
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }, "entries")]                      // absurd count
    [InlineData(new byte[] { 1, 1, (byte)'k', 99, 0 }, "dtype code 99")]                     // unknown dtype
    [InlineData(new byte[] { 1, 1, (byte)'k', 6, 1, 3, 0, 0, 0, 0 }, "truncated")]          // 3 floats, 4 bytes
    [InlineData(new byte[] { 1, 1, (byte)'k', 6, 0, 0, 0, 0, 0, 7 }, "after the last")]     // trailing byte
    [InlineData(new byte[] { 2, 1, (byte)'k', 6, 0, 0, 0, 0, 0, 1, (byte)'k', 6, 0, 0, 0, 0, 0 }, "twice")]
    public void Load_RejectsCorruptContent(byte[] content, string expected)
    {
        var path = _tmp.PathOf("bad.dat");
        File.WriteAllBytes(path, content);
        Should.Throw<WeightsFormatException>(() => TorchSharpFormat.Load(path)).Message.ShouldContain(expected);
    }
}
