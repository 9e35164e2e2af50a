using Microsoft.Extensions.Options;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Limits for uploaded text tables (<c>Datasets:TextUpload</c>), CSV or TSV with a header. The size is checked while
/// receiving, the row count and text length while parsing, so a huge file is refused without being held whole.
/// </summary>
public sealed class TextUploadOptions
{
    public const string Section = "Datasets:TextUpload";

    /// <summary>Largest accepted file, in bytes.</summary>
    public long MaxUploadBytes { get; set; } = 100L << 20;
    /// <summary>Most data rows (the header not counted).</summary>
    public int MaxRows { get; set; } = 200_000;
    /// <summary>Longest text, in characters (UTF-16 code units, as .NET counts them).</summary>
    public int MaxTextChars { get; set; } = 20_000;
    /// <summary>Fewest rows a class may have; with fewer it cannot appear in training and evaluation.</summary>
    public int MinExamplesPerClass { get; set; } = 2;
    /// <summary>Most classes; labels are stored as single bytes, so 256 at most.</summary>
    public int MaxClasses { get; set; } = 256;
    /// <summary>Rows shown by the inspect step.</summary>
    public int PreviewRows { get; set; } = 10;
    public double ValidationFraction { get; set; } = 0.15;
    public double TestFraction { get; set; } = 0.15;
    public int SplitSeed { get; set; } = 20261123;

    public IEnumerable<string> Validate()
    {
        if (MaxUploadBytes <= 0) yield return "MaxUploadBytes must be positive.";
        if (MaxRows <= 0) yield return "MaxRows must be positive.";
        if (MaxTextChars <= 0) yield return "MaxTextChars must be positive.";
        if (MinExamplesPerClass < 1) yield return "MinExamplesPerClass must be at least 1.";
        if (MaxClasses is < 2 or > 256) yield return "MaxClasses must be between 2 and 256 (labels are stored as bytes).";
        if (PreviewRows is < 1 or > 100) yield return "PreviewRows must be between 1 and 100.";
        if (ValidationFraction < 0 || TestFraction < 0 || ValidationFraction + TestFraction >= 1)
            yield return "ValidationFraction and TestFraction must be non-negative and sum to less than 1.";
    }
}

/// <summary>Fails start-up with each invalid text-upload setting named, rather than at the first upload.</summary>
public sealed class TextUploadOptionsValidator : IValidateOptions<TextUploadOptions>
{
    public ValidateOptionsResult Validate(string? name, TextUploadOptions options)
    {
        var errors = options.Validate().Select(e => $"{TextUploadOptions.Section}: {e}").ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
