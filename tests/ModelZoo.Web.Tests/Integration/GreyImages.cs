using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>A small image dataset the tests write straight into the store: 120 noisy 8x8 grey images of two classes
/// that differ in brightness (each class's pixels drawn from its own range), the whole set brightened by
/// <c>shift</c> to make another domain. Seeded, so a test gets the same pixels every time.</summary>
public static class GreyImages
{
    public static void Write(DatasetStore store, string id, int seed, (int From, int To) dark, (int From, int To) light, int shift = 0,
        string[]? classes = null)
    {
        classes ??= ["dark", "light"];
        var rng = new Random(seed);
        var labels = Enumerable.Range(0, 120).Select(i => i % 2).ToArray();
        var pixels = labels.SelectMany(l => Enumerable.Range(0, 64)
            .Select(_ => (byte)(shift + (l == 0 ? rng.Next(dark.From, dark.To) : rng.Next(light.From, light.To))))).ToArray();
        store.Write(new DatasetInfo { Id = id, Title = id, ClassNames = classes, Examples = 120, Width = 8, Height = 8, Channels = 1 },
            new ImageSet { Width = 8, Height = 8, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = classes },
            StratifiedSplitter.Split(labels, 1));
    }
}
