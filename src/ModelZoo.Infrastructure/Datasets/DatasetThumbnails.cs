using ModelZoo.Core.Datasets;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>Sample images of a stored dataset as PNGs, for the dataset page.</summary>
public static class DatasetThumbnails
{
    /// <summary>Up to <paramref name="perClass"/> examples of each class, picked by a seeded shuffle so the page shows
    /// the same samples every time and not merely the first files of each folder.</summary>
    public static IReadOnlyList<int[]> PickSamples(IReadOnlyList<int> labels, int classes, int perClass, int seed = 1)
    {
        var order = Enumerable.Range(0, labels.Count).ToArray();
        new Random(seed).Shuffle(order);
        var picks = Enumerable.Range(0, classes).Select(_ => new List<int>(perClass)).ToArray();
        foreach (var i in order)
            if ((uint)labels[i] < (uint)classes && picks[labels[i]].Count < perClass) picks[labels[i]].Add(i);
        return picks.Select(p => p.Order().ToArray()).ToList();
    }

    /// <summary>A PNG of one stored image (C x H x W bytes), scaled to <paramref name="size"/> pixels; small images
    /// are enlarged with nearest-neighbour sampling so their pixels stay visible.</summary>
    public static byte[] Png(byte[] chw, int width, int height, int channels, int size)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var src = new SKBitmap(info);
        var px = src.GetPixelSpan();
        int plane = width * height;
        for (int i = 0; i < plane; i++)
        {
            byte r = chw[i], g = channels == 3 ? chw[plane + i] : r, b = channels == 3 ? chw[2 * plane + i] : r;
            px[4 * i] = r; px[4 * i + 1] = g; px[4 * i + 2] = b; px[4 * i + 3] = 255;
        }
        float scale = (float)size / Math.Max(width, height);
        int tw = Math.Max(1, (int)Math.Round(width * scale)), th = Math.Max(1, (int)Math.Round(height * scale));
        var sampling = scale >= 1 ? new SKSamplingOptions(SKFilterMode.Nearest) : new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);
        using var scaled = src.Resize(new SKImageInfo(tw, th, SKColorType.Rgba8888, SKAlphaType.Opaque), sampling);
        using var png = scaled.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
