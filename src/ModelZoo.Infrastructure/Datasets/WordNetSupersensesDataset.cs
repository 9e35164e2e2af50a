using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// WordNet supersenses: each synset's gloss (definition and examples, as in the data files) labelled with its
/// lexicographer file, one of 45 classes (noun.animal, verb.motion, adj.all, ...), named by the package's
/// <c>lexnames(5WN)</c>. Parsed by <see cref="WordNetDataFiles"/> from Debian <c>wordnet-base</c>, never installed.
/// A gloss that repeats one already kept with the same label is left out (a few hundred synsets share a gloss), so a
/// text cannot sit in training and test at once.
/// </summary>
public static class WordNetSupersensesDataset
{
    public const string Id = "wordnet-supersenses";
    public const int SplitSeed = 20261123;
    // debian/copyright of wordnet-base ("License: WordNet3.0").
    public const string License = "WordNet 3.0 licence (Princeton University; BSD-like, debian/copyright of wordnet-base)";

    public static BuiltInDataset Definition { get; } = new()
    {
        Id = Id, Title = "WordNet supersenses (Debian wordnet-base)", Registry = "debian", Package = WordNetDataFiles.Package,
        License = License, DownloadSize = "6.5 MB",
        Description = "WordNet 3.0 glosses, each labelled with its synset's lexicographer file (45 supersense classes such as noun.animal or verb.motion).",
        FetchAsync = (ctx, progress, ct) => FetchAsync(ctx.Debian, ctx.Store, progress, ct),
    };

    public static async Task<DatasetInfo> FetchAsync(DebianPackageFetcher apt, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        var deb = await apt.FetchAsync(WordNetDataFiles.Package, FashionMnistDataset.Scaled(progress, 0.02, 0.6), ct);
        var wn = await WordNetDataFiles.ReadAsync(deb, ct);
        progress?.Report(0.8);
        return Build(wn, FashionMnistDataset.Source(deb), store, progress, ct);
    }

    public static DatasetInfo Build(WordNetPackage wn, DatasetSource source, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        var texts = new List<string>();
        var labels = new List<int>();
        var seen = new HashSet<(string, int)>();
        int total = 0, repeats = 0;
        foreach (var s in wn.All)
        {
            total++;
            if (s.Gloss.Length == 0 || !seen.Add((s.Gloss, s.LexFile))) { repeats++; continue; }
            texts.Add(s.Gloss);
            labels.Add(s.LexFile);
        }
        ct.ThrowIfCancellationRequested();
        var split = StratifiedSplitter.Split(labels, SplitSeed);
        var perFile = string.Join(", ", WordNetDataFiles.DataFiles.Select(f => $"{f} {wn.Synsets[f].Count:N0}"));
        var info = new DatasetInfo
        {
            Id = Id,
            Title = Definition.Title,
            Description = $"{total:N0} WordNet 3.0 synsets ({perFile}); the text is the gloss, the label the lexicographer file "
                + $"({wn.LexNames.Count} classes). {repeats:N0} glosses that repeat an earlier one with the same label are left out: {texts.Count:N0} kept.",
            ClassNames = wn.LexNames,
            License = License,
            Provenance = $"apt-get download {WordNetDataFiles.Package} (Debian) version {source.Version}, not installed; "
                + $"{string.Join(", ", WordNetDataFiles.DataFiles)} and lexnames(5WN) from {source.File} sha256 {source.Sha256}",
            Source = source,
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            SplitSeed = SplitSeed,
            SplitMethod = $"Stratified by lexicographer file, 70 % train, 15 % validation, 15 % test, seed {SplitSeed}; repeated glosses were removed first.",
        };
        info = store.Write(info, new TextSet { Texts = texts, Labels = [.. labels], ClassNames = wn.LexNames }, split);
        progress?.Report(1);
        return info;
    }
}
