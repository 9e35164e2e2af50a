using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>A two-class 8x8 grey dataset (dark and light noise, 60 examples) that a tiny run learns in seconds, for
/// portal tests that train without fetching a built-in dataset.</summary>
public static class BlobsDataset
{
    public const string Id = "blobs";

    public static void WriteTo(DatasetStore store)
    {
        var labels = Enumerable.Range(0, 60).Select(i => i % 2).ToArray();
        var rng = new Random(2);
        var pixels = labels.SelectMany(l => Enumerable.Range(0, 64).Select(_ => (byte)(l == 0 ? rng.Next(0, 90) : rng.Next(160, 256)))).ToArray();
        store.Write(
            new DatasetInfo { Id = Id, Title = "Blobs", ClassNames = ["dark", "light"], Examples = 60, Width = 8, Height = 8, Channels = 1 },
            new ImageSet { Width = 8, Height = 8, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = ["dark", "light"] },
            StratifiedSplitter.Split(labels, 1));
    }
}
