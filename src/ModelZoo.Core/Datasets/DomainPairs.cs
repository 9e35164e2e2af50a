namespace ModelZoo.Core.Datasets;

/// <summary>
/// A domain-adaptation pair: a labelled source dataset and a target dataset with the same label space, whose
/// training images are given to a run without labels (its labels serve evaluation only). Classes are matched by
/// name, so a source with more classes (glyphs' 62) contributes only the shared ones (0-9). Both sides are
/// resampled to <see cref="Side"/>x<see cref="Side"/> so one batch shape serves both.
/// </summary>
public sealed record DomainPair
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required string SourceDatasetId { get; init; }
    public required string TargetDatasetId { get; init; }
    /// <summary>Class names present in both datasets; label k of a loaded pair is SharedClasses[k] on both sides.</summary>
    public required IReadOnlyList<string> SharedClasses { get; init; }
    public required int Side { get; init; }
    public required string Description { get; init; }
    /// <summary>What a run sees without labels, in a sentence.</summary>
    public required string Unlabelled { get; init; }
}

/// <summary>A pair as listed: the definition and whether both datasets are fetched (a pair loads only then).</summary>
public sealed record DomainPairView(DomainPair Pair, string SourceTitle, string TargetTitle, bool SourceReady, bool TargetReady)
{
    public bool Ready => SourceReady && TargetReady;
}

/// <summary>
/// A loaded pair. <see cref="Source"/> is labelled, with its own stored split. Of the target, the run gets
/// <see cref="TargetUnlabelled"/> (the target's training split, every label -1, so no code can learn from it)
/// and, for evaluation only, <see cref="TargetValidation"/> and <see cref="TargetTest"/> with their labels.
/// </summary>
public sealed record LoadedDomainPair(
    DomainPair Pair,
    ImageSet Source,
    SplitIndices SourceSplit,
    ImageSet TargetUnlabelled,
    ImageSet TargetValidation,
    ImageSet TargetTest);

public interface IDomainPairs
{
    IReadOnlyList<DomainPairView> All();
    DomainPairView? Find(string id);
    /// <exception cref="KeyNotFoundException">Unknown pair.</exception>
    /// <exception cref="InvalidOperationException">A dataset is not fetched, or lacks a shared class.</exception>
    LoadedDomainPair Load(string id);
}

/// <summary>The pure parts of loading a pair: class matching by name, selection with relabelling, and resampling.</summary>
public static class DomainPairSelection
{
    /// <summary>For each class of a dataset, its index among <paramref name="shared"/>, or -1 when it is not shared.</summary>
    /// <exception cref="InvalidOperationException">A shared class is missing from the dataset (names the dataset and class).</exception>
    public static int[] ClassMap(string datasetId, IReadOnlyList<string> datasetClasses, IReadOnlyList<string> shared)
    {
        var missing = shared.Where(s => !datasetClasses.Contains(s)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"Dataset '{datasetId}' has no class {string.Join(", ", missing.Select(m => $"'{m}'"))}, which the pair shares.");
        return datasetClasses.Select(c => shared.ToList().IndexOf(c)).ToArray();
    }

    /// <summary>
    /// The images at <paramref name="indices"/> whose class is shared, relabelled to the shared index (or -1 with
    /// <paramref name="hideLabels"/>), grey, resampled to <paramref name="side"/> (bilinear, pixel centres aligned).
    /// Returns the new set and, for each image in it, its index in the original set.
    /// </summary>
    public static (ImageSet Images, int[] From) Select(ImageSet images, IEnumerable<int> indices, int[] classMap, IReadOnlyList<string> shared,
        int side, bool hideLabels = false)
    {
        if (images.Channels != 1) throw new NotSupportedException($"Domain pairs hold grey images; this set has {images.Channels} channels.");
        var keep = indices.Where(i => classMap[images.Labels[i]] >= 0).ToArray();
        var pixels = new byte[keep.Length * side * side];
        var labels = new int[keep.Length];
        for (int n = 0; n < keep.Length; n++)
        {
            var i = keep[n];
            Resample(images.Pixels.AsSpan(i * images.ImageBytes, images.ImageBytes), images.Width, images.Height,
                pixels.AsSpan(n * side * side, side * side), side);
            labels[n] = hideLabels ? -1 : classMap[images.Labels[i]];
        }
        return (new ImageSet { Width = side, Height = side, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = shared }, keep);
    }

    /// <summary>Bilinear resampling of one grey image (as torch's interpolate with align_corners=false); a copy when
    /// the size is unchanged.</summary>
    public static void Resample(ReadOnlySpan<byte> src, int w, int h, Span<byte> dst, int side)
    {
        if (w == side && h == side) { src.CopyTo(dst); return; }
        double sx = (double)w / side, sy = (double)h / side;
        for (int y = 0; y < side; y++)
        {
            double fy = Math.Max(0, (y + 0.5) * sy - 0.5);
            int y0 = Math.Min((int)fy, h - 1), y1 = Math.Min(y0 + 1, h - 1);
            double wy = fy - y0;
            for (int x = 0; x < side; x++)
            {
                double fx = Math.Max(0, (x + 0.5) * sx - 0.5);
                int x0 = Math.Min((int)fx, w - 1), x1 = Math.Min(x0 + 1, w - 1);
                double wx = fx - x0;
                double v = (1 - wy) * ((1 - wx) * src[y0 * w + x0] + wx * src[y0 * w + x1])
                         + wy * ((1 - wx) * src[y1 * w + x0] + wx * src[y1 * w + x1]);
                dst[y * side + x] = (byte)Math.Clamp(Math.Round(v), 0, 255);
            }
        }
    }
}
