using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Pipeline;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>A dataset over the memory budget is left on disk by the store and streamed by the pipeline.</summary>
public class DatasetStreamingTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-stream-").FullName;
    readonly ZooPaths _paths;

    public DatasetStreamingTests() => _paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir);

    public void Dispose() { try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } }

    DatasetInfo WriteDigits(int count, string id = "big-digits")
    {
        var pixels = new byte[count * 28 * 28];
        new Random(3).NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(i => i % 10).ToArray();
        var info = new DatasetInfo
        {
            Id = id, Title = "Big digits", ClassNames = Enumerable.Range(0, 10).Select(d => $"{d}").ToList(),
            Width = 28, Height = 28, Channels = 1, Augmentation = AugmentationProfile.Digits,
        };
        return new DatasetStore(_paths).Write(info,
            new ImageSet { Width = 28, Height = 28, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = info.ClassNames },
            StratifiedSplitter.Split(labels, 1));
    }

    [Fact]
    public void Load_LeavesAnImagesFileOverTheBudgetOnDisk_AndThePipelineStreamsTheSameBatches()
    {
        WriteDigits(500); // 392,000 bytes of pixels
        var streamedStore = new DatasetStore(_paths, new PipelineOptions { MemoryBudgetBytes = 100_000 });
        var streamed = streamedStore.Load("big-digits");
        streamed.Images!.Streamed.ShouldBeTrue();
        streamed.Images.Pixels.ShouldBeEmpty();
        streamed.Images.PixelsFile.ShouldBe(Path.Combine(streamedStore.FolderOf("big-digits"), "images.u8"));
        streamed.Images.Labels.Length.ShouldBe(500);

        var inMemory = new DatasetStore(_paths).Load("big-digits");
        inMemory.Images!.Streamed.ShouldBeFalse();
        inMemory.Images.Pixels.Length.ShouldBe(500 * 784);

        var pre = new Preprocessing { InputSize = 224, ResizeSize = 256 };
        var options = new PipelineOptions { MemoryBudgetBytes = 100_000, Workers = 2 };
        using var a = ImagePipeline.Create(streamed.Images, streamed.Info, pre, 32, TorchSharp.torch.CPU, options);
        using var b = ImagePipeline.Create(inMemory.Images, inMemory.Info, pre, 32, TorchSharp.torch.CPU, options);
        a.Original.ShouldBeOfType<FileImageSource>();
        a.CacheFile!.ShouldStartWith(Path.Combine(streamedStore.FolderOf("big-digits"), "cache"), Case.Sensitive,
            "the cache lives in the dataset's folder, so replacing or deleting the dataset removes it");
        using var x = a.Batch([3, 499, 42], new Random(9));
        using var y = b.Batch([3, 499, 42], new Random(9));
        x.X.cpu().data<float>().ToArray().ShouldBe(y.X.cpu().data<float>().ToArray());
    }

    /// <summary>Each dataset under the budget is held in memory, but together they stay within it: the least recently
    /// used one is dropped (and read again when asked for).</summary>
    [Fact]
    public void LoadedDatasets_StayInMemory_OnlyWhileTogetherTheyFitTheBudget()
    {
        WriteDigits(50, "a"); // 39,200 pixel bytes each
        WriteDigits(50, "b");
        var store = new DatasetStore(_paths, new PipelineOptions { MemoryBudgetBytes = 60_000 });
        var a1 = store.Load("a");
        store.Load("a").ShouldBeSameAs(a1, "a cached dataset is not read again");
        var b1 = store.Load("b");
        store.Load("b").ShouldBeSameAs(b1);

        var a2 = store.Load("a");
        a2.ShouldNotBeSameAs(a1, "a was dropped when b took the two over the budget");
        a2.Images!.Pixels.ShouldBe(a1.Images!.Pixels);
        store.Load("b").ShouldNotBeSameAs(b1, "reading a again dropped b, now the least recently used");

        var roomy = new DatasetStore(_paths, new PipelineOptions { MemoryBudgetBytes = 100_000 });
        var ra = roomy.Load("a");
        roomy.Load("b");
        roomy.Load("a").ShouldBeSameAs(ra, "both fit together");
    }

    [Fact]
    public void ReplacingADataset_RemovesItsCaches()
    {
        WriteDigits(50);
        var store = new DatasetStore(_paths);
        var loaded = store.Load("big-digits");
        using (ImagePipeline.Create(loaded.Images!, loaded.Info, new Preprocessing(), 32, TorchSharp.torch.CPU, new PipelineOptions()))
            Directory.GetFiles(Path.Combine(store.FolderOf("big-digits"), "cache")).Length.ShouldBe(1);
        WriteDigits(60);
        Directory.Exists(Path.Combine(store.FolderOf("big-digits"), "cache")).ShouldBeFalse();
    }
}
