using ModelZoo.Core.Datasets;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Finds held-out images that look like a training image, with a difference hash (dHash): the stored image in grey,
/// scaled by SkiaSharp to 9x8 with mipmapped linear sampling, one bit per pair of horizontal neighbours (left
/// brighter than right). A resized or re-encoded copy keeps its hash because scaling keeps which neighbour is
/// brighter. Only identical hashes are matched, through one hash map over the training images, so the check is
/// O(n); a copy that was cropped, recoloured or edited enough to flip a bit is missed (a Hamming-distance search
/// would find more at more cost). An image with no horizontal brightness change (hash 0: a flat colour, vertical
/// stripes) matches every other such image, so those are counted as unhashed instead of compared.
/// </summary>
public static class NearDuplicates
{
    public const string Method = "Difference hash (64 bits) of the stored image in grey at 9x8; only identical hashes match; "
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
        var train = new Dictionary<ulong, List<int>>();
        foreach (var i in split.Train)
            if (hashes[i] != 0) (train.TryGetValue(hashes[i], out var list) ? list : train[hashes[i]] = []).Add(i);
        var examples = new List<NearDuplicatePair>();
        int Matched(DatasetSplit which)
        {
            int matched = 0;
            foreach (var i in split.Of(which))
            {
                if (hashes[i] == 0 || !train.TryGetValue(hashes[i], out var twins)) continue;
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
