using SkiaSharp;

namespace ModelZoo.Infrastructure.Runs.Predict;

/// <summary>
/// Draws a Grad-CAM map over the image as a PNG: the part of the image the model saw (its centre crop), scaled to the
/// overlay's side, blended with the map in the jet colour scale (blue = no evidence, red = the most), as
/// pytorch-grad-cam's <c>show_cam_on_image</c> does.
/// </summary>
public static class GradCamOverlay
{
    /// <summary>Weight of the heatmap in the blend; the image stays recognisable under it.</summary>
    public const float HeatWeight = 0.45f;

    /// <param name="rgb">The image as 3 x n x n planes (C x H x W), the stored square at display resolution.</param>
    /// <param name="crop">The region of that square the model saw, in its pixels.</param>
    /// <param name="heat">The map upsampled to <paramref name="size"/> x <paramref name="size"/>, values in [0, 1];
    /// null: the crop alone (what the model saw, to show beside the overlay).</param>
    public static byte[] RenderPng(byte[] rgb, int n, SKRect crop, float[]? heat, int size)
    {
        if (rgb.Length != 3 * n * n) throw new ArgumentException($"{rgb.Length} bytes are not 3 planes of {n}x{n}.", nameof(rgb));
        if (heat is not null && heat.Length != size * size) throw new ArgumentException($"{heat.Length} heat values for a {size}x{size} overlay.", nameof(heat));
        using var source = new SKBitmap(new SKImageInfo(n, n, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var src = source.GetPixelSpan();
        int plane = n * n;
        for (int i = 0; i < plane; i++)
        {
            src[4 * i] = rgb[i]; src[4 * i + 1] = rgb[plane + i]; src[4 * i + 2] = rgb[2 * plane + i]; src[4 * i + 3] = 255;
        }
        using var target = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(target))
        using (var image = SKImage.FromBitmap(source))
        {
            canvas.Clear(SKColors.Black);
            canvas.DrawImage(image, crop, SKRect.Create(0, 0, size, size), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        var dst = target.GetPixelSpan();
        for (int i = 0; heat is not null && i < size * size; i++)
        {
            var (r, g, b) = Jet(heat[i]);
            dst[4 * i] = Blend(dst[4 * i], r);
            dst[4 * i + 1] = Blend(dst[4 * i + 1], g);
            dst[4 * i + 2] = Blend(dst[4 * i + 2], b);
        }
        using var encoded = target.Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }

    static byte Blend(byte image, float heat) => (byte)Math.Clamp(Math.Round((1 - HeatWeight) * image + HeatWeight * 255 * heat), 0, 255);

    /// <summary>The jet colour scale (matplotlib's, piecewise linear) at <paramref name="v"/> in [0, 1].</summary>
    public static (float R, float G, float B) Jet(float v)
    {
        v = float.IsFinite(v) ? Math.Clamp(v, 0, 1) : 0;
        static float C(float x) => Math.Clamp(x, 0, 1);
        return (C(1.5f - Math.Abs(4 * v - 3)), C(1.5f - Math.Abs(4 * v - 2)), C(1.5f - Math.Abs(4 * v - 1)));
    }
}
