using System.Globalization;

namespace ModelZoo.Core.Catalog;

/// <summary>What an image model's preprocessing does to a pixel after the resize and crop, in words, for cards and
/// pages: only the steps the manifest states, so a card never claims an ImageNet normalisation the model did not get.</summary>
public static class PreprocessingText
{
    /// <param name="runSize">The side the run feeds the model; a mean image of another size is said to be resized.</param>
    public static string Describe(Preprocessing pre, int runSize)
    {
        var steps = new List<string> { "grey repeated to 3 channels" };
        if (pre.IsPerChannelOnly)
        {
            steps.Add(MeanStd(pre));
            return string.Join(", ", steps);
        }
        if (pre.ChannelOrder == ChannelOrder.Bgr) steps.Add("channels reordered to BGR");
        steps.Add(pre.PixelScale == 1 ? "pixels in [0, 1]" : pre.PixelScale == 255 ? "pixels on the 0-255 scale" : $"pixels scaled to [0, {N(pre.PixelScale)}]");
        if (pre.MeanImage is { } mi)
            steps.Add($"minus the mean image `{mi.File}` ({pre.InputSize}x{pre.InputSize}, one value per channel and pixel" +
                      (runSize > 0 && runSize != pre.InputSize
                          ? $", resized to {runSize}x{runSize} with {pre.Interpolation} interpolation{(runSize < pre.InputSize ? ", antialiased" : "")})"
                          : ")"));
        steps.Add(pre.Mean.All(v => v == 0) && pre.Std.All(v => v == 1) ? "no further scaling" : MeanStd(pre));
        return string.Join(", ", steps);
    }

    static string MeanStd(Preprocessing pre) =>
        $"normalised with mean [{string.Join(", ", pre.Mean.Select(F3))}] and std [{string.Join(", ", pre.Std.Select(F3))}]";

    static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    static string N(double v) => v.ToString(CultureInfo.InvariantCulture);
}
