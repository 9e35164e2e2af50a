using ModelZoo.Core.Datasets;

namespace ModelZoo.Torch.Pipeline;

/// <summary>The random choices for one training image: the crop box in source pixels, the flip, the rotation and
/// the colour factors. Drawn on the CPU from a generator seeded per batch, applied on the device in one pass.</summary>
public readonly record struct AugmentParams(int Top, int Left, int CropHeight, int CropWidth, bool Flip, double AngleDegrees,
    float Brightness, float Contrast, float Saturation);

/// <summary>
/// Seeded draws: batch <c>b</c> of epoch <c>e</c> of a run with seed <c>s</c> always gets the same choices, whichever
/// worker thread builds it and in whatever order, because each batch's generator is seeded from (s, e, b) alone.
/// </summary>
public static class Augmentation
{
    /// <summary>torchvision's RandomResizedCrop aspect range, (3/4, 4/3), drawn log-uniformly.</summary>
    const double MinRatio = 3.0 / 4, MaxRatio = 4.0 / 3;

    /// <summary>SplitMix64 of the three numbers: stable across processes, unlike <see cref="HashCode"/>.</summary>
    public static int BatchSeed(int seed, int epoch, int batch)
    {
        ulong z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)epoch << 32 ^ (uint)batch;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    public static AugmentParams[] Draw(AugmentationProfile profile, int count, int height, int width, int channels, Random rng)
    {
        var result = new AugmentParams[count];
        for (int i = 0; i < count; i++)
        {
            var (top, left, ch, cw) = RandomResizedCrop(rng, height, width, profile.MinCropScale);
            bool flip = profile.HorizontalFlip && rng.NextDouble() < 0.5;
            double angle = profile.MaxRotationDegrees > 0 ? (rng.NextDouble() * 2 - 1) * profile.MaxRotationDegrees : 0;
            float j = (float)profile.ColorJitter;
            float Factor() => j > 0 ? 1 + (float)(rng.NextDouble() * 2 - 1) * j : 1;
            float b = Factor(), c = Factor(), s = channels == 3 ? Factor() : 1;
            result[i] = new AugmentParams(top, left, ch, cw, flip, angle, b, c, s);
        }
        return result;
    }

    /// <summary>torchvision's <c>RandomResizedCrop.get_params</c>: ten tries at an area fraction from (minScale, 1)
    /// and an aspect from (3/4, 4/3), else the largest centred crop within the aspect range.</summary>
    static (int Top, int Left, int Height, int Width) RandomResizedCrop(Random rng, int height, int width, double minScale)
    {
        double area = height * (double)width;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (minScale + rng.NextDouble() * (1 - minScale));
            double ratio = Math.Exp(Math.Log(MinRatio) + rng.NextDouble() * (Math.Log(MaxRatio) - Math.Log(MinRatio)));
            int w = (int)Math.Round(Math.Sqrt(target * ratio)), h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && w <= width && h > 0 && h <= height)
                return (rng.Next(0, height - h + 1), rng.Next(0, width - w + 1), h, w);
        }
        double inRatio = width / (double)height;
        int cw = width, chh = height;
        if (inRatio < MinRatio) chh = (int)Math.Round(cw / MinRatio);
        else if (inRatio > MaxRatio) cw = (int)Math.Round(chh * MaxRatio);
        return ((height - chh) / 2, (width - cw) / 2, chh, cw);
    }

    /// <summary>
    /// The 2x3 matrix for <c>affine_grid</c> (align_corners false) that samples the crop box, mirrored and rotated
    /// about its centre, from a <paramref name="height"/> x <paramref name="width"/> image: output coordinates u, v in
    /// [-1, 1] map to input coordinates x = cx + (cos a · f·u·cw/2 - sin a · v·ch/2)·2/W, likewise y.
    /// </summary>
    public static float[] Theta(AugmentParams p, int height, int width)
    {
        double a = p.AngleDegrees * Math.PI / 180, cos = Math.Cos(a), sin = Math.Sin(a), f = p.Flip ? -1 : 1;
        double cx = (p.Left + p.CropWidth / 2.0) / width * 2 - 1, cy = (p.Top + p.CropHeight / 2.0) / height * 2 - 1;
        double sx = p.CropWidth / (double)width, sy = p.CropHeight / (double)height;
        // Rotation in pixel units keeps a non-square crop from shearing.
        return
        [
            (float)(cos * f * sx), (float)(-sin * p.CropHeight / width), (float)cx,
            (float)(sin * f * p.CropWidth / height), (float)(cos * sy), (float)cy,
        ];
    }
}
