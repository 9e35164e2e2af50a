namespace ModelZoo.Core.Datasets;

/// <summary>
/// Which training augmentations suit a dataset, and how strong. A dataset states it in its facts
/// (<see cref="DatasetInfo.Augmentation"/>); the built-ins set one of the profiles below, uploads
/// <see cref="ForNewUpload"/>, and the dataset page edits it.
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
    /// <summary>The largest rotation a profile may ask for: beyond ±180° the angles repeat.</summary>
    public const double MaxRotationLimit = 180;

    /// <summary>Handwritten and printed digits (MNIST, optdigits). A digit fills the middle 20x20 of 28x28, so a crop
    /// of at least 70 % of the area (84 % of the side) keeps every stroke end; writers slant by about 10 degrees.</summary>
    public static readonly AugmentationProfile Digits = new(HorizontalFlip: false, MinCropScale: 0.7, MaxRotationDegrees: 10, ColorJitter: 0.2);

    /// <summary>Glyphs rendered from fonts: like digits, and upright by design, so only a small rotation.</summary>
    public static readonly AugmentationProfile Glyphs = new(HorizontalFlip: false, MinCropScale: 0.7, MaxRotationDegrees: 5, ColorJitter: 0.2);

    /// <summary>Fashion-MNIST: garments are left-right symmetric (a mirrored shoe is still a shoe), photographed
    /// upright and centred, so flips yes, rotation no, mild crops.</summary>
    public static readonly AugmentationProfile Garments = new(HorizontalFlip: true, MinCropScale: 0.6, MaxRotationDegrees: 0, ColorJitter: 0.2);

    /// <summary>What uploads got before their owner could choose (photos of unknown content, stored at 64x64): flips,
    /// crops down to 35 % of the area. Kept for facts that record no profile (see <see cref="For"/>) and for tools that
    /// want a photo-like profile; new uploads get <see cref="Unknown"/>.</summary>
    public static readonly AugmentationProfile Photos = new(HorizontalFlip: true, MinCropScale: 0.35, MaxRotationDegrees: 0, ColorJitter: 0.2);

    /// <summary>
    /// A new upload whose content the portal cannot know: only changes that keep the label of any usual class.
    /// <list type="bullet">
    /// <item>No flip: a flip that turns one class into another (digits, letters, arrows, left/right hands) teaches
    /// wrong labels, while a flip left out only forgoes some variety; the uploader turns it on by saying the classes
    /// are mirror-invariant. An uploaded set of 20x20 handwritten digits trained with flips lost 5 points.</item>
    /// <item>Crops keep at least 80 % of the area. A crop is at most as wide and as tall as the image, so 80 % of the
    /// area means at least 80 % of each side: a subject that fills its frame, as those digits did (no margin, unlike
    /// MNIST's 20x20 in 28x28, where <see cref="Digits"/> allows 70 %), loses at most a fifth of one side.</item>
    /// <item>No rotation: orientation can be the class (6 and 9, arrows, upright scenes), and rotating fills the
    /// corners with black.</item>
    /// <item>Colour jitter of 10 %, half the built-ins' 20 %: exposure rarely decides a class, but colour might
    /// (ripe or unripe, traffic lights), and ±10 % saturation moves no hue.</item>
    /// </list>
    /// </summary>
    public static readonly AugmentationProfile Unknown = new(HorizontalFlip: false, MinCropScale: 0.8, MaxRotationDegrees: 0, ColorJitter: 0.1);

    /// <summary>The profile a new image upload is stored with: <see cref="Unknown"/>, with flips only when the
    /// uploader says a mirrored image keeps its class.</summary>
    public static AugmentationProfile ForNewUpload(bool mirrorInvariant) => Unknown with { HorizontalFlip = mirrorInvariant };

    /// <summary>
    /// The profile a dataset trains with: what its facts say, or, when they predate this field, flips allowed for
    /// uploads (<see cref="Photos"/>) and not for built-ins (all of which, before Fashion-MNIST, were digits or glyphs).
    /// Uploads without a recorded profile keep <see cref="Photos"/> rather than <see cref="Unknown"/>: it is what they
    /// have always trained with, so a run repeated from an earlier record trains the same way, and uploads stored
    /// since the field existed record <see cref="Photos"/> explicitly, so the two would otherwise differ for no reason
    /// their owner could see. The dataset page shows the profile and lets the owner change it.
    /// </summary>
    public static AugmentationProfile For(DatasetInfo info) =>
        info.Augmentation ?? (info.Origin == DatasetOrigin.Upload ? Photos : Digits);

    /// <summary>
    /// What is wrong with this profile, by property name (<c>MinCropScale</c>, <c>MaxRotationDegrees</c>,
    /// <c>ColorJitter</c>); empty when it is usable. The one set of limits for the dataset page, the datasets API and
    /// a run's override, so each refuses a value in the same words.
    /// </summary>
    public IReadOnlyDictionary<string, string> Validate()
    {
        var errors = new Dictionary<string, string>();
        // Comparisons with NaN are all false, so NaN is named; infinities fall outside the ranges.
        if (double.IsNaN(MinCropScale) || MinCropScale is <= 0 or > 1)
            errors[nameof(MinCropScale)] = "The smallest crop must be above 0 and at most 1 of the image's area.";
        if (double.IsNaN(MaxRotationDegrees) || MaxRotationDegrees is < 0 or > MaxRotationLimit)
            errors[nameof(MaxRotationDegrees)] = $"Rotation must be between 0 and {MaxRotationLimit:0} degrees.";
        if (double.IsNaN(ColorJitter) || ColorJitter is < 0 or > 1)
            errors[nameof(ColorJitter)] = "Colour jitter must be between 0 and 1.";
        return errors;
    }
}
