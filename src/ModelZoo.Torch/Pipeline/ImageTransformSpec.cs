using ModelZoo.Core.Catalog;

namespace ModelZoo.Torch.Pipeline;

public enum ResizeInterpolation { Nearest, Bilinear, Bicubic }

/// <summary>
/// The evaluation transform of a model, as torchvision's ImageNet eval preset: resize the shorter side to
/// <see cref="ResizeSize"/> with <see cref="Interpolation"/>, centre-crop <see cref="InputSize"/>, grey to three
/// channels, normalise with <see cref="Mean"/> and <see cref="Std"/>.
/// </summary>
/// <remarks>
/// A run's input size (<c>HyperParameters.ImageSize</c>) overrides the manifest's <c>input_size</c>, and the resize
/// scales by the same ratio: ResNet-18's 256 → 224 becomes 73 → 64 for a 64-pixel run, so the crop keeps the same
/// 87.5 % of the image the weights were evaluated with. A manifest without <c>resize_size</c> resizes straight to the
/// input size (no crop).
/// A manifest may also reorder the channels (BGR), put pixels on another scale (0-255) and subtract a mean image
/// (<see cref="MeanImageFile"/>, resized to the run's size); without those the spec is the per-channel one above.
/// </remarks>
public sealed record ImageTransformSpec(int InputSize, int ResizeSize, ResizeInterpolation Interpolation, float[] Mean, float[] Std)
{
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;
    /// <summary>The value of a full-intensity pixel in the model's input (1 or 255).</summary>
    public float PixelScale { get; init; } = 1;
    /// <summary>The mean image at <see cref="InputSize"/>, [3 * InputSize * InputSize] channel-major; null: none.</summary>
    public float[]? MeanImage { get; init; }
    /// <summary>sha256 of the mean image's file, for fingerprints.</summary>
    public string? MeanImageSha256 { get; init; }

    /// <summary>Per-channel normalisation of [0, 1] RGB pixels only: torchvision's transform, the pipeline's original path.</summary>
    public bool IsPerChannelOnly => ChannelOrder == ChannelOrder.Rgb && PixelScale == 1 && MeanImage is null;

    /// <param name="meanImagePath">Where the manifest's mean image is on this machine (the entry's folder); required
    /// when <see cref="Preprocessing.MeanImage"/> is set.</param>
    public static ImageTransformSpec From(Preprocessing pre, int runSize, string? meanImagePath = null)
    {
        if (pre.Mean.Count != 3 || pre.Std.Count != 3)
            throw new ArgumentException($"Preprocessing needs three mean and three std values (it has {pre.Mean.Count} and {pre.Std.Count}).");
        if (pre.Std.Any(s => s <= 0)) throw new ArgumentException("Preprocessing std values must be positive.");
        var input = runSize > 0 ? runSize : pre.InputSize;
        if (input <= 0) throw new ArgumentException($"Input size must be positive, not {input}.");
        var resize = pre.ResizeSize is int r && pre.InputSize > 0 ? (int)Math.Round(r * (double)input / pre.InputSize) : input;
        if (!double.IsFinite(pre.PixelScale) || pre.PixelScale <= 0) throw new ArgumentException($"Preprocessing pixel_scale must be positive, not {pre.PixelScale}.");
        var interpolation = ParseInterpolation(pre.Interpolation);
        float[]? meanImage = null;
        if (pre.MeanImage is { } mi)
        {
            if (meanImagePath is null)
                throw new ArgumentException($"Preprocessing subtracts the mean image '{mi.File}', but no path to it was given (it lives in the entry's folder).");
            meanImage = MeanImageFile.Load(meanImagePath, mi, pre.InputSize, input, interpolation);
        }
        return new ImageTransformSpec(input, Math.Max(resize, input), interpolation,
            pre.Mean.Select(v => (float)v).ToArray(), pre.Std.Select(v => (float)v).ToArray())
        {
            ChannelOrder = pre.ChannelOrder, PixelScale = (float)pre.PixelScale, MeanImage = meanImage, MeanImageSha256 = pre.MeanImage?.Sha256.ToLowerInvariant(),
        };
    }

    /// <summary>What the pixel steps add to a pipeline's fingerprint: nothing for the per-channel transform, so the
    /// caches of existing entries keep their keys.</summary>
    public string PixelFingerprint => IsPerChannelOnly ? ""
        : FormattableString.Invariant($":order{ChannelOrder.ToString().ToLowerInvariant()}:scale{PixelScale}:meanimage{MeanImageSha256 ?? "none"}");

    public static ResizeInterpolation ParseInterpolation(string name) => name.Trim().ToLowerInvariant() switch
    {
        "bilinear" => ResizeInterpolation.Bilinear,
        "bicubic" => ResizeInterpolation.Bicubic,
        "nearest" => ResizeInterpolation.Nearest,
        _ => throw new ArgumentException($"Interpolation '{name}' is not one of bilinear, bicubic, nearest."),
    };

    /// <summary>torchvision <c>Resize(int)</c>: the shorter side becomes <see cref="ResizeSize"/>, the longer one
    /// <c>int(size * long / short)</c> (truncated, as torchvision does).</summary>
    public (int Height, int Width) ResizedShape(int height, int width) => height <= width
        ? (ResizeSize, (int)((long)ResizeSize * width / height))
        : ((int)((long)ResizeSize * height / width), ResizeSize);

    /// <summary>torchvision <c>CenterCrop</c>: top and left are <c>int(round((side - crop) / 2))</c>, and Python's
    /// round, like .NET's default, rounds halves to even.</summary>
    public static (int Top, int Left) CenterCropOffset(int height, int width, int crop) =>
        ((int)Math.Round((height - crop) / 2.0), (int)Math.Round((width - crop) / 2.0));
}
