using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Torch.Pipeline;

namespace ModelZoo.Torch.Tests.Pipeline;

/// <summary>Small image sets, in memory or as an images.u8 file in a temp folder, for the pipeline tests.</summary>
internal sealed class TempDataset : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("mz-pipe-").FullName;
    public string ImagesFile => Path.Combine(Dir, "images.u8");
    public string CacheDir => Path.Combine(Dir, "cache");

    /// <summary>Writes <paramref name="pixels"/> as the dataset's images file, atomically like the store.</summary>
    public ImageSet WriteFile(byte[] pixels, int count, int channels, int side, bool streamed)
    {
        var tmp = ImagesFile + ".tmp";
        File.WriteAllBytes(tmp, pixels);
        File.Move(tmp, ImagesFile, overwrite: true);
        return new ImageSet
        {
            Width = side, Height = side, Channels = channels, Pixels = streamed ? [] : pixels, PixelsFile = ImagesFile,
            Labels = Enumerable.Range(0, count).Select(i => i % 2).ToArray(), ClassNames = ["a", "b"],
        };
    }

    public void Dispose() { try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } }
}

internal static class PipelineFixtures
{
    public static byte[] Noise(int count, int channels, int side, int seed)
    {
        var b = new byte[count * channels * side * side];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static ImageSet InMemory(byte[] pixels, int count, int channels, int side) => new()
    {
        Width = side, Height = side, Channels = channels, Pixels = pixels,
        Labels = Enumerable.Range(0, count).Select(i => i % 2).ToArray(), ClassNames = ["a", "b"],
    };

    public static readonly Preprocessing ImageNet = new() { InputSize = 224, ResizeSize = 256, Interpolation = "bilinear" };

    public static PipelineOptions Options(string cacheDir, long budget = 1L << 30, int workers = 2) =>
        new() { CacheDir = cacheDir, MemoryBudgetBytes = budget, Workers = workers, Prefetch = 3 };

    public static float[] Values(TorchSharp.torch.Tensor t) => t.cpu().contiguous().data<float>().ToArray();
}
