using ModelZoo.Core.Datasets;
using ModelZoo.Torch.Pipeline;
using static ModelZoo.Torch.Tests.Pipeline.PipelineFixtures;

namespace ModelZoo.Torch.Tests.Pipeline;

public class CacheAndStreamingTests
{
    static readonly DatasetInfo Info = new() { Id = "cached", Augmentation = AugmentationProfile.Digits };

    static void RunEpochs(ImagePipeline p, int count, int epochs)
    {
        var order = Enumerable.Range(0, count).ToArray();
        for (int e = 1; e <= epochs; e++)
        {
            using var batches = p.Train(order, 32, e, seed: 1, augment: true, CancellationToken.None);
            for (int b = 0; b < batches.Count; b++) batches.Next().Dispose();
        }
    }

    [Fact]
    public void Cache_IsBuiltOnce_ReusedByLaterEpochsAndRuns_AndRebuiltWhenTheDatasetChanges()
    {
        using var data = new TempDataset();
        var images = data.WriteFile(Noise(100, 1, 28, 1), 100, 1, 28, streamed: false);

        string firstCache;
        using (var p = ImagePipeline.Create(images, Info, ImageNet, 64, TorchSharp.torch.CPU, Options(data.CacheDir)))
        {
            p.CacheState.ShouldBe(CacheState.Built);
            p.Resized.Height.ShouldBe(73);
            p.OriginalImagesRead.ShouldBe(100, "the build reads every original once");
            RunEpochs(p, 100, epochs: 2);
            p.OriginalImagesRead.ShouldBe(100, "epochs read the cache, not the originals");
            firstCache = p.CacheFile!;
        }
        File.Exists(firstCache).ShouldBeTrue();
        new FileInfo(firstCache).Length.ShouldBe(100L * 73 * 73);

        using (var p = ImagePipeline.Create(images, Info, ImageNet, 64, TorchSharp.torch.CPU, Options(data.CacheDir)))
        {
            p.CacheState.ShouldBe(CacheState.Reused);
            p.OriginalImagesRead.ShouldBe(0);
        }

        var changed = data.WriteFile(Noise(100, 1, 28, 2), 100, 1, 28, streamed: false);
        using (var p = ImagePipeline.Create(changed, Info, ImageNet, 64, TorchSharp.torch.CPU, Options(data.CacheDir)))
        {
            p.CacheState.ShouldBe(CacheState.Built, "a changed dataset must not read the old cache");
            p.CacheFile.ShouldNotBe(firstCache);
            File.Exists(firstCache).ShouldBeFalse("the stale cache is removed");
        }
        Directory.GetFiles(data.CacheDir).Where(f => f.Contains(".tmp-")).ShouldBeEmpty("caches are renamed into place");
        // Another size or interpolation is another cache.
        using (var p = ImagePipeline.Create(changed, Info, ImageNet with { Interpolation = "bicubic" }, 64, TorchSharp.torch.CPU, Options(data.CacheDir)))
            p.CacheState.ShouldBe(CacheState.Built);
    }

    [Fact]
    public void CachedBatches_EqualBatchesResizedOnTheFly()
    {
        using var data = new TempDataset();
        var pixels = Noise(10, 3, 20, 4);
        var images = data.WriteFile(pixels, 10, 3, 20, streamed: false);
        using var p = ImagePipeline.Create(images, Info, ImageNet, 32, TorchSharp.torch.CPU, Options(data.CacheDir));
        using var batch = p.Batch([7], rng: null);
        var resized = ResizeCache.Resize(pixels.AsSpan(7 * 1200, 1200).ToArray(), 1, 3, 20, 20, 37, 37, ResizeInterpolation.Bilinear);
        var (top, left) = ImageTransformSpec.CenterCropOffset(37, 37, 32);
        var x = Values(batch.X);
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < 32; r++)
                for (int k = 0; k < 32; k++)
                    x[(c * 32 + r) * 32 + k].ShouldBe((resized[(c * 37 + r + top) * 37 + k + left] / 255f - mean[c]) / std[c], 1e-5f);
    }

    [Fact]
    public void StreamedSet_ReadsTheFile_InPiecesThatRespectATinyBudget()
    {
        using var data = new TempDataset();
        var pixels = Noise(300, 1, 28, 5);
        var streamed = data.WriteFile(pixels, 300, 1, 28, streamed: true);
        streamed.Streamed.ShouldBeTrue();
        const long budget = 16 * 1024; // smaller than one batch of 32 images at 64x64 as floats
        using var p = ImagePipeline.Create(streamed, Info, ImageNet, 64, TorchSharp.torch.CPU, Options(data.CacheDir, budget));
        p.Original.ShouldBeOfType<FileImageSource>();
        p.Original.LargestReadBytes.ShouldBe(784, "the cache build reads one image at a time under this budget");
        using (var batches = p.Train(Enumerable.Range(0, 300).ToArray(), 32, 1, 1, augment: true, CancellationToken.None))
        {
            batches.Depth.ShouldBe(1, "no batch is prepared ahead when one batch exceeds the budget");
            for (int b = 0; b < batches.Count; b++) batches.Next().Dispose();
        }
        p.Resized.LargestReadBytes.ShouldBe(73 * 73, "batches read image by image");

        // The same images in memory give the same batches.
        using var inMemory = ImagePipeline.Create(PipelineFixtures.InMemory(pixels, 300, 1, 28), Info with { Id = "mem" }, ImageNet, 64,
            TorchSharp.torch.CPU, Options(data.CacheDir));
        using var a = p.Batch([5, 299, 0], new Random(3));
        using var b2 = inMemory.Batch([5, 299, 0], new Random(3));
        Values(a.X).ShouldBe(Values(b2.X));
    }

    /// <summary>The batches alive at once (the prefetch window plus the one the trainer holds) fit half the budget.</summary>
    [Fact]
    public void PrefetchDepth_CountsTheHeldBatch_AgainstHalfTheBudget()
    {
        using var data = new TempDataset();
        var images = data.WriteFile(Noise(64, 1, 28, 7), 64, 1, 28, streamed: false);
        using var probe = ImagePipeline.Create(images, Info, ImageNet, 32, TorchSharp.torch.CPU, Options(data.CacheDir));
        var batchBytes = probe.EstimateBatchBytes(8);
        foreach (var (fit, depth) in new[] { (4, 3), (5, 4), (7, 6) })
        {
            var o = Options(data.CacheDir, 2 * fit * batchBytes);
            o.Prefetch = 8;
            using var p = ImagePipeline.Create(images, Info, ImageNet, 32, TorchSharp.torch.CPU, o);
            using var batches = p.Eval(Enumerable.Range(0, 64).ToArray(), 8, CancellationToken.None);
            batches.Depth.ShouldBe(depth, $"{fit} batches fit half the budget: {depth} ahead plus the one held");
        }
    }

    [Fact]
    public void AShortImagesFile_IsReported_WithItsPathAndSizes()
    {
        using var data = new TempDataset();
        var images = data.WriteFile(Noise(10, 1, 28, 6), 10, 1, 28, streamed: true);
        var wrong = new ImageSet { Width = 28, Height = 28, Channels = 1, Pixels = [], PixelsFile = images.PixelsFile, Labels = new int[11], ClassNames = ["a"] };
        var ex = Should.Throw<InvalidDataException>(() => ImagePipeline.Create(wrong, Info, ImageNet, 64, TorchSharp.torch.CPU, Options(data.CacheDir)));
        ex.Message.ShouldContain(images.PixelsFile!);
        ex.Message.ShouldContain("7840 bytes");
    }
}
