namespace ModelZoo.Infrastructure.Datasets;

public enum UploadFit { CenterCrop, Stretch }

/// <summary>
/// Limits and storage shape for uploaded image datasets (<c>Datasets:Upload</c>). Every limit is checked before the
/// work it guards: the upload size while receiving, file counts and sizes from the zip directory, pixel counts from
/// the image header before any pixel is decoded (decompression bombs).
/// </summary>
public sealed class ImageUploadOptions
{
    public const string Section = "Datasets:Upload";

    /// <summary>Largest accepted zip, in bytes.</summary>
    public long MaxUploadBytes { get; set; } = 200L << 20;
    /// <summary>Most files (images) in one archive.</summary>
    public int MaxFiles { get; set; } = 20_000;
    /// <summary>Largest single file, uncompressed.</summary>
    public long MaxFileBytes { get; set; } = 32L << 20;
    /// <summary>Largest total of all files, uncompressed (zip bombs).</summary>
    public long MaxTotalBytes { get; set; } = 1L << 30;
    /// <summary>Largest image, in pixels (width x height), read from the header before decoding.</summary>
    public long MaxPixels { get; set; } = 40_000_000;
    /// <summary>Fewest images a class may have; with fewer it cannot appear in training and evaluation.</summary>
    public int MinImagesPerClass { get; set; } = 2;
    /// <summary>Most classes; labels are stored as single bytes, so 256 at most.</summary>
    public int MaxClasses { get; set; } = 256;
    /// <summary>Stored images are StoredSize x StoredSize; the trainer resizes to the model's input from there.</summary>
    public int StoredSize { get; set; } = 64;
    /// <summary>0 = grey when every image is grey, else RGB; 1 = always grey; 3 = always RGB.</summary>
    public int Channels { get; set; }
    /// <summary>CenterCrop keeps the aspect ratio (shorter side scaled to StoredSize); Stretch scales both sides.</summary>
    public UploadFit Fit { get; set; } = UploadFit.CenterCrop;
    public double ValidationFraction { get; set; } = 0.15;
    public double TestFraction { get; set; } = 0.15;
    public int SplitSeed { get; set; } = 20261123;

    public IEnumerable<string> Validate()
    {
        if (MaxUploadBytes <= 0) yield return "MaxUploadBytes must be positive.";
        if (MaxFiles <= 0) yield return "MaxFiles must be positive.";
        if (MaxFileBytes <= 0) yield return "MaxFileBytes must be positive.";
        if (MaxTotalBytes <= 0) yield return "MaxTotalBytes must be positive.";
        if (MaxPixels <= 0) yield return "MaxPixels must be positive.";
        if (MinImagesPerClass < 1) yield return "MinImagesPerClass must be at least 1.";
        if (MaxClasses is < 2 or > 256) yield return "MaxClasses must be between 2 and 256 (labels are stored as bytes).";
        if (StoredSize is < 8 or > 512) yield return "StoredSize must be between 8 and 512.";
        // The import decodes into one pixel array (N x 3 x StoredSize²): the limits together must fit in it, or the
        // largest upload they allow would fail at the end of its decode instead of being refused up front.
        else if (MaxFiles > 0 && (long)MaxFiles * 3 * StoredSize * StoredSize > Array.MaxLength)
            yield return $"MaxFiles x 3 x StoredSize² is {(long)MaxFiles * 3 * StoredSize * StoredSize:N0} bytes, over the {Array.MaxLength:N0} one upload can hold; lower MaxFiles or StoredSize.";
        if (Channels is not (0 or 1 or 3)) yield return "Channels must be 0 (auto), 1 or 3.";
        if (ValidationFraction < 0 || TestFraction < 0 || ValidationFraction + TestFraction >= 1)
            yield return "ValidationFraction and TestFraction must be non-negative and sum to less than 1.";
    }
}

/// <summary>Fails start-up with each invalid upload setting named, rather than at the first upload.</summary>
public sealed class ImageUploadOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<ImageUploadOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ImageUploadOptions options)
    {
        var errors = options.Validate().Select(e => $"{ImageUploadOptions.Section}: {e}").ToList();
        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }
}
