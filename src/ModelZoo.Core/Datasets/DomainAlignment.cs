namespace ModelZoo.Core.Datasets;

/// <summary>
/// Prepares a labelled source and a target domain for a domain-adaptation run. Classes are matched by name: the
/// source keeps only the target's classes (glyphs' 62 become the 10 digits an MNIST target has), relabelled in the
/// target's class order, with its stored split filtered to them. The target's training labels are replaced by -1
/// before any training code sees them, so nothing can learn from them; its validation and test labels remain for
/// evaluation. Examples are not copied: pixels (or the file they stream from) and texts are shared.
/// </summary>
public static class DomainAlignment
{
    /// <exception cref="InvalidOperationException">A target class is missing from the source, or the two hold
    /// different kinds of data.</exception>
    public static (LoadedDataset Source, LoadedDataset Target) Align(LoadedDataset source, LoadedDataset target)
    {
        if (source.Info.Modality != target.Info.Modality)
            throw new InvalidOperationException($"Dataset '{source.Info.Id}' holds {source.Info.Modality} and '{target.Info.Id}' {target.Info.Modality}: both domains must hold the same kind of data.");
        var shared = target.Info.ClassNames;
        var map = DomainPairSelection.ClassMap(source.Info.Id, source.Info.ClassNames, shared);
        var sourceLabels = Labels(source).Select(l => l >= 0 && l < map.Length ? map[l] : -1).ToArray();
        bool Keep(int i) => sourceLabels[i] >= 0;
        var split = new SplitIndices(source.Split.Seed,
            source.Split.Train.Where(Keep).ToArray(), source.Split.Validation.Where(Keep).ToArray(), source.Split.Test.Where(Keep).ToArray());
        var counts = new int[shared.Count];
        foreach (var l in sourceLabels) if (l >= 0) counts[l]++;
        var alignedSource = Relabel(source, sourceLabels, shared) with { Split = split };
        alignedSource = alignedSource with
        {
            Info = source.Info with
            {
                ClassNames = shared, ClassCounts = counts, TrainClassCounts = Training.TrainingSelection.PerClass(split.Train, sourceLabels, shared.Count),
                Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            },
        };

        var targetLabels = (int[])Labels(target).Clone();
        foreach (var i in target.Split.Train) targetLabels[i] = -1;
        var hidden = Relabel(target, targetLabels, shared);
        return (alignedSource, hidden);
    }

    static int[] Labels(LoadedDataset d) => d.Images?.Labels ?? d.Texts?.Labels ?? throw new InvalidOperationException($"Dataset '{d.Info.Id}' holds no examples.");

    static LoadedDataset Relabel(LoadedDataset d, int[] labels, IReadOnlyList<string> classes)
    {
        var images = d.Images is { } im ? new ImageSet
        {
            Width = im.Width, Height = im.Height, Channels = im.Channels, Pixels = im.Pixels, PixelsFile = im.PixelsFile,
            Labels = labels, ClassNames = classes,
        } : null;
        var texts = d.Texts is { } t ? new TextSet { Texts = t.Texts, Labels = labels, ClassNames = classes } : null;
        return new LoadedDataset(d.Info with { ClassNames = classes }, images, d.Split) { Texts = texts };
    }
}
