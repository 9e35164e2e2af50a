using ModelZoo.Core.Datasets;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Finds held-out images that look like a training image, with a difference hash (dHash): the stored image in grey,
/// scaled by SkiaSharp to 9x8 with mipmapped linear sampling, one bit per pair of horizontal neighbours (left
/// brighter than right). A resized or re-encoded copy keeps its hash because scaling keeps which neighbour is
/// brighter, except where two neighbours were nearly equal: rounding flips those bits, so hashes within
/// <see cref="MaxDistance"/> bits match. Matching identical hashes only found 38 of 80 resized copies in
/// <c>UploadDuplicatesTests</c> (the other 42 differed in 1 to 3 bits). The search uses multi-index hashing: the 64
/// bits are cut into eight 8-bit bands (one hash row each) and training images are kept in one hash map per band;
/// hashes within 7 bits agree exactly on at least one band (pigeonhole), so only images sharing a band are compared.
/// That is O(n) when hashes spread; at worst (every image sharing a band, say a blank top row) it compares every
/// held-out image with every training image: 6,000 x 14,000 = 84 million 64-bit popcounts at the 20,000-file limit.
/// A copy that was cropped, recoloured or edited enough to flip more than 5 bits is missed. An
/// image with no horizontal brightness change (hash 0: a flat colour, vertical stripes) would match every other such
/// image, so those are counted as unhashed instead of compared.
/// </summary>
public static class NearDuplicates
{
    public const int MaxDistance = 5;
    const int Bands = 8;

    public const string Method = "Difference hash (64 bits) of the stored image in grey at 9x8; hashes that differ in at most 5 bits match; "
        + "validation and test images are compared with training images.";

    public static ulong Hash(UploadedImageDecoder.Decoded image)
    {
        int size = (int)Math.Round(Math.Sqrt(image.Rgb.Length / 3));
        using var grey = new SKBitmap(new SKImageInfo(size, size, SKColorType.Gray8, SKAlphaType.Opaque));
        image.CopyPlanes(1, grey.GetPixelSpan());
        using var small = new SKBitmap(new SKImageInfo(9, 8, SKColorType.Gray8, SKAlphaType.Opaque));
        grey.ScalePixels(small, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        var p = small.GetPixelSpan();
        ulong hash = 0;
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                if (p[y * 9 + x] > p[y * 9 + x + 1]) hash |= 1UL << (y * 8 + x);
        return hash;
    }

    /// <param name="hashes">One hash per stored image.</param>
    /// <param name="files">The original file of each stored image.</param>
    public static NearDuplicateReport Find(IReadOnlyList<ulong> hashes, IReadOnlyList<string> files, IReadOnlyList<int> labels, SplitIndices split)
    {
        var bands = Enumerable.Range(0, Bands).Select(_ => new Dictionary<byte, List<int>>()).ToArray();
        foreach (var i in split.Train)
            if (hashes[i] != 0)
                for (int b = 0; b < Bands; b++)
                {
                    var key = (byte)(hashes[i] >> (8 * b));
                    (bands[b].TryGetValue(key, out var list) ? list : bands[b][key] = []).Add(i);
                }
        List<int> TwinsOf(ulong h)
        {
            var found = new SortedSet<int>();
            for (int b = 0; b < Bands; b++)
                if (bands[b].TryGetValue((byte)(h >> (8 * b)), out var list))
                    foreach (var t in list)
                        if (System.Numerics.BitOperations.PopCount(h ^ hashes[t]) <= MaxDistance) found.Add(t);
            return [.. found];
        }
        var examples = new List<NearDuplicatePair>();
        int Matched(DatasetSplit which)
        {
            int matched = 0;
            foreach (var i in split.Of(which))
            {
                if (hashes[i] == 0 || TwinsOf(hashes[i]) is not { Count: > 0 } twins) continue;
                matched++;
                foreach (var t in twins)
                {
                    if (examples.Count >= NearDuplicateReport.MaxExamples) break;
                    examples.Add(new NearDuplicatePair(which, i, files[i], t, files[t], labels[i] == labels[t]));
                }
            }
            return matched;
        }
        int test = Matched(DatasetSplit.Test), validation = Matched(DatasetSplit.Validation);
        return new NearDuplicateReport(Method, test, validation, hashes.Count(h => h == 0), examples);
    }
}
