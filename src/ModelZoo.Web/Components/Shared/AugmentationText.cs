using System.Globalization;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Web.Components.Shared;

/// <summary>An augmentation profile in words, the same on the dataset page and the new-run form.</summary>
public static class AugmentationText
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Describe(AugmentationProfile a) => string.Join(", ", new[]
    {
        $"crops keeping {(a.MinCropScale * 100).ToString("0.#", Inv)}-100 % of the area",
        a.HorizontalFlip ? "horizontal flips" : "no flips",
        a.MaxRotationDegrees > 0 ? $"rotation within ±{a.MaxRotationDegrees.ToString("0.#", Inv)}°" : "no rotation",
        a.ColorJitter > 0 ? $"colour jitter ±{(a.ColorJitter * 100).ToString("0", Inv)} %" : "no colour jitter",
    });
}
