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
/// </remarks>
public sealed record ImageTransformSpec(int InputSize, int ResizeSize, ResizeInterpolation Interpolation, float[] Mean, float[] Std)
{
    public static ImageTransformSpec From(Preprocessing pre, int runSize)
    {
        if (pre.Mean.Count != 3 || pre.Std.Count != 3)
            throw new ArgumentException($"Preprocessing needs three mean and three std values (it has {pre.Mean.Count} and {pre.Std.Count}).");
        if (pre.Std.Any(s => s <= 0)) throw new ArgumentException("Preprocessing std values must be positive.");
        var input = runSize > 0 ? runSize : pre.InputSize;
        if (input <= 0) throw new ArgumentException($"Input size must be positive, not {input}.");
        var resize = pre.ResizeSize is int r && pre.InputSize > 0 ? (int)Math.Round(r * (double)input / pre.InputSize) : input;
        return new ImageTransformSpec(input, Math.Max(resize, input), ParseInterpolation(pre.Interpolation),
            pre.Mean.Select(v => (float)v).ToArray(), pre.Std.Select(v => (float)v).ToArray());
    }

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
