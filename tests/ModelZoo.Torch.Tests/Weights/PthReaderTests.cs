using System.IO.Compression;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

public class PthReaderTests : IDisposable
{
    readonly TempFolder _tmp = new();
    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Load_MobileNetV2Pth_GivesExactlyTheSafetensorsTensors()
    {
        var pth = PthReader.Load(TestFixtures.PathOf("mobilenet_v2_seed7.pth"));
        var st = SafeTensors.Load(TestFixtures.PathOf("mobilenet_v2_seed7.safetensors"));
        try
        {
            pth.Count.ShouldBe(314);
            StateDicts.ShouldEqual(pth, st);
        }
        finally
        {
            StateDicts.Dispose(pth.Values);
            StateDicts.Dispose(st.Values);
        }
    }

    [Theory]
    [InlineData("pth_cases.pth")]
    [InlineData("pth_cases_protocol4.pth")]
    public void Load_HandlesEveryDtype_SharedStorageViews_AndParameters(string file)
    {
        var actual = PthReader.Load(TempFolder.TestData(file));
        var expected = SafeTensors.Load(TempFolder.TestData("pth_cases.expected.safetensors"));
        try
        {
            StateDicts.ShouldEqual(actual, expected);
            actual["shared.t"].shape.ShouldBe([6L, 4]);
            actual["shared.t"].is_contiguous().ShouldBeTrue();
            actual["scalar"].shape.ShouldBeEmpty();
            actual["bf16"].dtype.ShouldBe(ScalarType.Float32);
            actual["i32"].dtype.ShouldBe(ScalarType.Int64);
        }
        finally
        {
            StateDicts.Dispose(actual.Values);
            StateDicts.Dispose(expected.Values);
        }
    }

    [Fact]
    public void Load_RefusesAPickleThatWouldRunCode()
    {
        var e = Should.Throw<WeightsFormatException>(() => PthReader.Load(TempFolder.TestData("malicious.pth")));
        e.Message.ShouldContain("posix.system"); // os.system pickles as posix.system on Linux
        e.Message.ShouldContain("not allowed");
    }

    [Fact]
    public void Load_RejectsTheLegacyFormat_WithAnExplanation()
    {
        Should.Throw<WeightsFormatException>(() => PthReader.Load(TempFolder.TestData("legacy.pth")))
            .Message.ShouldContain("legacy torch.save format");
    }

    [Fact]
    public void Load_RejectsATruncatedArchive()
    {
        var src = File.ReadAllBytes(TestFixtures.PathOf("mobilenet_v2_seed7.pth"));
        var path = _tmp.PathOf("cut.pth");
        File.WriteAllBytes(path, src[..(src.Length * 2 / 3)]);
        Should.Throw<WeightsFormatException>(() => PthReader.Load(path)).Message.ShouldStartWith("cut.pth:");
    }

    [Fact]
    public void Load_RejectsAStorageWhoseBytesAreShort()
    {
        var path = _tmp.PathOf("short-storage.pth");
        File.Copy(TempFolder.TestData("pth_cases.pth"), path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = zip.Entries.First(e => e.FullName.EndsWith("/data/0", StringComparison.Ordinal));
            var name = entry.FullName;
            entry.Delete();
            using var s = zip.CreateEntry(name).Open();
            s.Write(new byte[3]);
        }
        Should.Throw<WeightsFormatException>(() => PthReader.Load(path)).Message.ShouldContain("storage '0'");
    }

    [Fact]
    public void Load_RejectsAFileThatIsNotAZipArchive()
    {
        var path = _tmp.PathOf("renamed.pth");
        File.Copy(TestFixtures.PathOf("resnet18_seed7.io.safetensors"), path);
        Should.Throw<WeightsFormatException>(() => PthReader.Load(path)).Message.ShouldContain("not a zip archive");
    }

    [Fact]
    public void Load_RejectsAnArchiveWithoutAPickle()
    {
        var path = _tmp.PathOf("nopickle.pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("x/data/0").Open()) s.Write(new byte[4]);
        Should.Throw<WeightsFormatException>(() => PthReader.Load(path)).Message.ShouldContain("data.pkl");
    }

    [Fact]
    public void Load_RejectsACorruptPickle()
    {
        var path = _tmp.PathOf("badpickle.pth");
        File.Copy(TempFolder.TestData("pth_cases.pth"), path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("pth_cases/data.pkl")!;
            byte[] pickle;
            using (var ms = new MemoryStream()) { using (var s = entry.Open()) s.CopyTo(ms); pickle = ms.ToArray(); }
            entry.Delete();
            using var w = zip.CreateEntry("pth_cases/data.pkl").Open();
            w.Write(pickle.AsSpan(0, pickle.Length / 2)); // cut in the middle: no STOP
        }
        Should.Throw<WeightsFormatException>(() => PthReader.Load(path)).Message.ShouldContain("data.pkl");
    }
}
