using System.IO.Compression;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

/// <summary>
/// Seeded random damage to real files: every reader must either load the file or throw WeightsFormatException,
/// never anything else (no crash, no stray exception type, no partial result).
/// </summary>
public class CorruptionTests : IDisposable
{
    readonly TempFolder _tmp = new();
    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void SafeTensors_DamagedHeaders_LoadOrThrowWeightsFormatException()
    {
        using var scope = NewDisposeScope();
        var good = _tmp.PathOf("good.safetensors");
        SafeTensors.Save(good, new Dictionary<string, Tensor> { ["a.weight"] = randn(3, 4), ["a.n"] = tensor(7L), ["b"] = randn(5) },
            ScalarType.Float16, new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(good);
        var rng = new Random(7);
        for (int i = 0; i < 300; i++)
        {
            var damaged = (byte[])bytes.Clone();
            int at = rng.Next(0, Math.Min(damaged.Length, 8 + 200)); // the length prefix and the JSON header
            damaged[at] = (byte)rng.Next(256);
            AssertLoadsOrRejects(damaged, "fuzz.safetensors", SafeTensors.Load);
        }
    }

    [Fact]
    public void Pth_DamagedPickles_LoadOrThrowWeightsFormatException()
    {
        byte[] pickle;
        using (var zip = ZipFile.OpenRead(TempFolder.TestData("pth_cases.pth")))
        using (var ms = new MemoryStream())
        {
            using (var s = zip.GetEntry("pth_cases/data.pkl")!.Open()) s.CopyTo(ms);
            pickle = ms.ToArray();
        }
        var rng = new Random(11);
        for (int i = 0; i < 150; i++)
        {
            var damaged = (byte[])pickle.Clone();
            for (int k = 0; k < 1 + i % 3; k++) damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
            var path = _tmp.PathOf("fuzz.pth");
            File.Copy(TempFolder.TestData("pth_cases.pth"), path, overwrite: true);
            using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
            {
                zip.GetEntry("pth_cases/data.pkl")!.Delete();
                using var w = zip.CreateEntry("pth_cases/data.pkl").Open();
                w.Write(damaged);
            }
            AssertLoadsOrRejects(File.ReadAllBytes(path), "fuzz.pth", PthReader.Load);
        }
    }

    [Fact]
    public void TorchSharpFormat_DamagedFiles_LoadOrThrowWeightsFormatException()
    {
        using var scope = NewDisposeScope();
        var good = _tmp.PathOf("good.dat");
        TorchSharpFormat.Save(good, new Dictionary<string, Tensor> { ["a.weight"] = randn(3, 4), ["a.n"] = tensor(7L) });
        var bytes = File.ReadAllBytes(good);
        var rng = new Random(13);
        for (int i = 0; i < 300; i++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
            AssertLoadsOrRejects(rng.Next(4) == 0 ? damaged[..rng.Next(damaged.Length)] : damaged, "fuzz.dat", TorchSharpFormat.Load);
        }
    }

    void AssertLoadsOrRejects(byte[] content, string name, Func<string, Dictionary<string, Tensor>> load)
    {
        var path = _tmp.PathOf(name);
        File.WriteAllBytes(path, content);
        try
        {
            var sd = load(path);
            StateDicts.Dispose(sd.Values);
        }
        catch (WeightsFormatException)
        {
        }
    }
}
