namespace ModelZoo.Infrastructure.Runs.Predict;

/// <summary>Limits of "Try it" (<c>Runs:Predict</c>): each is checked before the work it guards, the byte size while the
/// upload is received and the pixel count from the image header before any pixel is decoded.</summary>
public sealed class PredictOptions
{
    public const string Section = "Runs:Predict";

    /// <summary>Largest image file, in bytes (10 MB).</summary>
    public long MaxImageBytes { get; set; } = 10L << 20;
    /// <summary>Largest image in pixels (width x height), read from the header: 25 megapixels decode to 100 MB.</summary>
    public long MaxPixels { get; set; } = 25_000_000;
    /// <summary>Longest text, in characters; the run's tokenizer cuts it to the run's maximum length anyway.</summary>
    public int MaxTextChars { get; set; } = 20_000;
    /// <summary>Trained models kept loaded between requests; the least recently used goes (and is disposed) first.</summary>
    public int CachedModels { get; set; } = 2;
    /// <summary>Side of the Grad-CAM overlay image, in pixels.</summary>
    public int OverlaySize { get; set; } = 256;

    public IEnumerable<string> Validate()
    {
        if (MaxImageBytes <= 0) yield return "MaxImageBytes must be positive.";
        if (MaxPixels <= 0) yield return "MaxPixels must be positive.";
        if (MaxTextChars <= 0) yield return "MaxTextChars must be positive.";
        if (CachedModels < 1) yield return "CachedModels must be at least 1.";
        if (OverlaySize is < 32 or > 1024) yield return "OverlaySize must be between 32 and 1024.";
    }
}

/// <summary>Fails start-up with each invalid setting named.</summary>
public sealed class PredictOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<PredictOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, PredictOptions options)
    {
        var errors = options.Validate().Select(e => $"{PredictOptions.Section}: {e}").ToList();
        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }
}
