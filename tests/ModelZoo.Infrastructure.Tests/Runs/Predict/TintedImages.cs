using ModelZoo.Core.Datasets;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Tests.Runs.Predict;

/// <summary>A small image dataset a short run learns, and its images as the PNG files a user would upload (shared
/// with the web tests of the predict API).</summary>
public static class TintedImages
{
    const int Side = 12;

    /// <summary>Three classes of 12x12 RGB noise, each with one channel brighter, so a short run learns them.</summary>
    public static (DatasetInfo Info, ImageSet Images, SplitIndices Split) Tinted(int perClass, int seed)
    {
        var rng = new Random(seed);
        int n = 3 * perClass, plane = Side * Side;
        var labels = Enumerable.Range(0, n).Select(i => i % 3).ToArray();
        var pixels = new byte[n * 3 * plane];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < plane; p++)
                    pixels[(i * 3 + c) * plane + p] = (byte)Math.Min(255, rng.Next(0, 120) + (c == labels[i] ? 110 : 0));
        string[] names = ["red", "green", "blue"];
        var split = StratifiedSplitter.Split(labels, 1);
        var info = new DatasetInfo
        {
            Id = "tinted", Title = "Tinted", ClassNames = names, Examples = n, Width = Side, Height = Side, Channels = 3, License = "test",
            Provenance = "generated in test", Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
        };
        return (info, new ImageSet { Width = Side, Height = Side, Channels = 3, Pixels = pixels, Labels = labels, ClassNames = names }, split);
    }

    /// <summary>Stored image <paramref name="index"/> as a PNG file: lossless, so the upload is the stored pixels.</summary>
    public static byte[] Png(ImageSet images, int index)
    {
        int plane = Side * Side;
        using var bitmap = new SKBitmap(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var px = bitmap.GetPixelSpan();
        for (int p = 0; p < plane; p++)
        {
            for (int c = 0; c < 3; c++) px[4 * p + c] = images.Pixels[(index * 3 + c) * plane + p];
            px[4 * p + 3] = 255;
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

}
