namespace ModelZoo.Core.Datasets;

/// <summary>
/// Which training augmentations suit a dataset, and how strong. A dataset states it in its facts
/// (<see cref="DatasetInfo.Augmentation"/>); the built-ins set one of the profiles below.
/// </summary>
/// <param name="HorizontalFlip">Mirror half the images. Never for digits and glyphs: a mirrored 3, J or b is another
/// symbol or none, so the flip would teach wrong labels.</param>
/// <param name="MinCropScale">Random resized crop area, as a fraction of the image: drawn from (MinCropScale, 1).
/// torchvision's default 0.08 comes from ImageNet photos where the object survives a small crop; on a centred 28x28
/// digit an 8 % crop holds a stroke fragment, not a digit.</param>
/// <param name="MaxRotationDegrees">Rotate by an angle drawn from (-max, max); 0 turns it off.</param>
/// <param name="ColorJitter">Brightness and contrast (and saturation for colour images) factors drawn from
/// (1 - j, 1 + j); 0 turns it off.</param>
public sealed record AugmentationProfile(bool HorizontalFlip, double MinCropScale, double MaxRotationDegrees, double ColorJitter)
{
    /// <summary>Handwritten and printed digits (MNIST, optdigits). A digit fills the middle 20x20 of 28x28, so a crop
    /// of at least 70 % of the area (84 % of the side) keeps every stroke end; writers slant by about 10 degrees.</summary>
    public static readonly AugmentationProfile Digits = new(HorizontalFlip: false, MinCropScale: 0.7, MaxRotationDegrees: 10, ColorJitter: 0.2);

    /// <summary>Glyphs rendered from fonts: like digits, and upright by design, so only a small rotation.</summary>
    public static readonly AugmentationProfile Glyphs = new(HorizontalFlip: false, MinCropScale: 0.7, MaxRotationDegrees: 5, ColorJitter: 0.2);

    /// <summary>Fashion-MNIST: garments are left-right symmetric (a mirrored shoe is still a shoe), photographed
    /// upright and centred, so flips yes, rotation no, mild crops.</summary>
    public static readonly AugmentationProfile Garments = new(HorizontalFlip: true, MinCropScale: 0.6, MaxRotationDegrees: 0, ColorJitter: 0.2);

    /// <summary>Uploads (photos of unknown content, stored at 64x64): flips allowed, as the product owner asked;
    /// crops down to 35 % of the area, because the stored images are already centre-cropped to the subject.</summary>
    public static readonly AugmentationProfile Photos = new(HorizontalFlip: true, MinCropScale: 0.35, MaxRotationDegrees: 0, ColorJitter: 0.2);

    /// <summary>What a dataset's facts say, or, when they predate this field: flips allowed for uploads, not for
    /// built-ins (all of which, before Fashion-MNIST, were digits or glyphs).</summary>
    public static AugmentationProfile For(DatasetInfo info) =>
        info.Augmentation ?? (info.Origin == DatasetOrigin.Upload ? Photos : Digits);
}
